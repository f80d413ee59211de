// Issue 7 item 9: text from a Dockerfile or an image is printed with its control characters
// escaped, so binary garbage in a Dockerfile cannot recolour, clear or retitle the user's terminal.
import test from 'ava';
import { formatError } from '../../cli/format-error.ts';
import { ErrorCodes, TsbuildError, invalid } from '../../src/errors/index.ts';
import { escapeControl } from '../../src/progress/index.ts';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const ESC = '\x1b';
/** Any control character but tab and newline, raw. */
const rawControl = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

test('escapeControl writes controls as visible escapes and keeps tabs and newlines', (t) => {
  t.is(escapeControl(`a${ESC}[31mb\x00c\x07\td\r\ne\rf\x7f\u009b\u202eg`), 'a\\x1b[31mb\\x00c\\x07\td\ne\\x0df\\x7f\\x9b\\u202eg');
  t.is(escapeControl('plain text, ünïcödé and emoji 🙂 stay'), 'plain text, ünïcödé and emoji 🙂 stay');
});

test('the error report escapes the message, the output lines, the excerpt, notes and hint', (t) => {
  const text = `FROM busybox\nRUN printf '${ESC}]0;pwned\x07'\n`;
  const e = new TsbuildError(`Dockerfile:2: process "printf ${ESC}]0;pwned" did not complete successfully: exit code: 1`, {
    code: ErrorCodes.RUN_FAILED,
    kind: 'invalid',
    location: { file: 'Dockerfile', line: 2 },
    details: [`${ESC}[2Jcleared`],
    notes: [{ message: `from image ${ESC}[5mblink` }],
    hint: `check ${ESC}[8mhidden`,
  });
  const out = formatError(e, { files: new Map([['Dockerfile', text]]) });
  t.notRegex(out, rawControl);
  t.true(out.includes('process "printf \\x1b]0;pwned" did not complete'));
  t.true(out.includes(' > \\x1b[2Jcleared'));
  t.true(out.includes(">>> 2 | RUN printf '\\x1b]0;pwned\\x07'"));
  t.true(out.includes('note: from image \\x1b[5mblink'));
  t.true(out.includes('hint: check \\x1b[8mhidden'));
});

test('a bug report escapes too', (t) => {
  const out = formatError(new Error(`bad ${ESC}[31mred`));
  t.true(out.startsWith('ERROR: internal error: bad \\x1b[31mred\n'));
  t.notRegex(out, rawControl);
  t.notRegex(formatError(invalid(ErrorCodes.OPTION_INVALID, 'plain message')), rawControl);
});

test('ESC bytes in an unknown instruction and in a COPY source reach stderr escaped, never raw', async (t) => {
  const root = tempDir();
  const unknown = contextDir({ Dockerfile: `FROM scratch\n${ESC}[31mFOO\x07 bar${ESC}]0;pwned\x07\n` });
  const copy = contextDir({ Dockerfile: `FROM scratch\nCOPY "a${ESC}]2;b" /x\n` });
  try {
    const r1 = await runTsbuild(['build', '--progress', 'plain', unknown], { root });
    t.is(r1.code, 1);
    t.false(r1.stderr.includes(ESC), r1.stderr);
    t.regex(r1.stderr, /^ERROR: Dockerfile:2: unknown instruction: \\x1b\[31mFOO\\x07$/m);
    t.true(r1.stderr.includes('>>> 2 | \\x1b[31mFOO\\x07 bar\\x1b]0;pwned\\x07'));

    const r2 = await runTsbuild(['build', '--progress', 'plain', copy], { root });
    t.is(r2.code, 1);
    t.false(r2.stderr.includes(ESC), r2.stderr);
    t.regex(r2.stderr, /^ERROR: Dockerfile:2: .*"a\\x1b\]2;b" not found in the build context$/m);
    // a missing plain path fails while the cache key is computed, before the step starts; a
    // wildcard that matches nothing is fine (BuildKit allows empty wildcards), so its step shows
    const empty = contextDir({ Dockerfile: `FROM scratch\nCOPY "a${ESC}]2;b*" /x\n` });
    try {
      const r3 = await runTsbuild(['build', '--progress', 'plain', empty], { root });
      t.is(r3.code, 0, r3.stderr);
      t.false(r3.stderr.includes(ESC), r3.stderr);
      t.regex(r3.stderr, /^#\d+ \[1\/1\] COPY "a\\x1b\]2;b\*" \/x$/m, 'the step name in the progress is escaped too');
    } finally {
      removeDir(empty);
    }
  } finally {
    removeDir(root);
    removeDir(unknown);
    removeDir(copy);
  }
});

test('the last output lines of a failed RUN are escaped in the error report', async (t) => {
  const root = tempDir();
  const ctx = contextDir({ Dockerfile: "FROM busybox\nRUN printf 'before\\033[2Jafter\\n'; exit 3\n" });
  try {
    await buildBusybox(root);
    const r = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
    t.is(r.code, 1);
    // the progress shows RUN output as it came, as BuildKit does; the report below it is escaped
    const report = r.stderr.slice(r.stderr.lastIndexOf('\nERROR: ') + 1);
    t.regex(report, /^ERROR: /);
    t.true(report.includes('before\\x1b[2Jafter'), report);
    t.false(report.includes(ESC));
  } finally {
    removeDir(root);
    removeDir(ctx);
  }
});
