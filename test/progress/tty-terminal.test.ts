// The tty progress in a real terminal: tmux runs `tsbuild build` in a pane, the test reads the pane
// as a person would see it, mid-build and at the end (tmux's own screen, scrollback included):
// one line per step with a running timer, the last output lines of running steps, CANCELED for a
// step stopped because its sibling failed, the final frame and the warnings summary once,
// no colour under NO_COLOR, a clear line on Ctrl-C, and BUILDKIT_PROGRESS choosing the mode.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { buildBusybox, contextDir, removeDir, tempDir, tsbuildBin } from '../_support/tsbuild.ts';

const root = tempDir('tsbuild-tty-');
test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => removeDir(root));

let sessions = 0;

/** One tmux server of our own (its socket named after this process), one pane of 120×50. */
class Terminal {
  readonly socket = `tsbuild-tty-test-${process.pid}-${++sessions}`;
  readonly socketPath: string;

  constructor(command: string) {
    // the shell stays after the command, so the pane (and its exit code line) can be read
    execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', 'new-session', '-d', '-x', '120', '-y', '50', `${command}; echo EXIT=$?; sleep 600`]);
    this.socketPath = execFileSync('tmux', ['-L', this.socket, 'display-message', '-p', '#{socket_path}'], { encoding: 'utf8' }).trim();
  }

  /** The pane with its scrollback, as text; `colour`: with the SGR sequences the program wrote. */
  screen(colour = false): string {
    return execFileSync('tmux', ['-L', this.socket, 'capture-pane', '-p', '-J', '-S', '-', ...(colour ? ['-e'] : [])], { encoding: 'utf8' });
  }

  async waitFor(re: RegExp, ms = 60_000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const s = this.screen();
      if (re.test(s)) return s;
      if (Date.now() > end) throw new Error(`the terminal never showed ${String(re)}:\n${s}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  keys(...keys: string[]): void {
    execFileSync('tmux', ['-L', this.socket, 'send-keys', ...keys]);
  }

  close(): void {
    try {
      execFileSync('tmux', ['-L', this.socket, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // already gone
    }
    // the server leaves its socket file behind
    if (this.socketPath.endsWith(this.socket)) rmSync(this.socketPath, { force: true });
  }
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const build = (ctx: string, env: string, ...args: string[]) => `env ${env} ${quote(process.execPath)} ${quote(tsbuildBin)} --root ${quote(root)} build ${args.map(quote).join(' ')} ${quote(ctx)}`;
const count = (text: string, what: string) => text.split(what).length - 1;

test('a failing build: running steps with timers and their last lines, then CANCELED and ERROR; the final frame once', async (t) => {
  const ctx = contextDir({
    Dockerfile: [
      'FROM busybox AS slow',
      'RUN for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do echo line $i; sleep 0.4; done',
      'FROM busybox AS bad',
      'RUN sleep 3; echo oops; exit 3',
      'FROM busybox',
      'COPY --from=slow /etc/passwd /a',
      'COPY --from=bad /etc/passwd /b',
      '',
    ].join('\n'),
  });
  const term = new Terminal(build(ctx, '-u NO_COLOR'));
  try {
    const mid = await term.waitFor(/=> => # line 3$/m);
    t.regex(mid, /^\[\+\] Building \d+\.\ds \(\d+\/\d+\)$/m, 'the header counts steps, no FINISHED yet');
    t.regex(mid, /^ => \[slow 2\/2\] RUN for i in .* +\d+\.\ds$/m, 'a running step with its timer on the right');
    t.regex(mid, /^ => \[bad 2\/2\] RUN sleep 3; echo oops; exit 3 +\d+\.\ds$/m);
    t.regex(mid, /^ => => # line 2\n => => # line 3$/m, 'its last output lines under it');
    const end = await term.waitFor(/^EXIT=\d+$/m);
    t.regex(end, /^EXIT=1$/m);
    t.is(count(end, '[+] Building'), 1, `the frame is redrawn in place and written once at the end:\n${end}`);
    t.regex(end, /^\[\+\] Building \d+\.\ds \(\d+\/\d+\) FINISHED$/m);
    t.regex(end, /^ => CANCELED \[slow 2\/2\] RUN for i in .* +\d+\.\ds$/m, 'stopped because its sibling failed');
    t.regex(end, /^ => ERROR \[bad 2\/2\] RUN sleep 3; echo oops; exit 3 +\d+\.\ds$/m);
    t.regex(end, /^ => => # oops$/m, 'the failed step keeps its last lines');
    t.is(count(end, 'ERROR: Dockerfile:4:'), 1);
    const colour = term.screen(true);
    t.regex(colour, /\x1b\[31m => ERROR \[bad 2\/2\]/, 'the failed step in red');
    t.regex(colour, /\x1b\[33m => CANCELED \[slow 2\/2\]/, 'the cancelled one in yellow');
  } finally {
    term.close();
    removeDir(ctx);
  }
});

test('NO_COLOR: not one escape sequence; a successful build shows its frame, warnings summary and Built line once', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo hi > /hi\nCMD cat /hi\n' });
  const term = new Terminal(build(ctx, 'NO_COLOR=1', '--no-cache', '--build-arg', 'UNUSED=1'));
  try {
    const end = await term.waitFor(/^EXIT=\d+$/m);
    t.regex(end, /^EXIT=0$/m);
    t.false(term.screen(true).includes('\x1b'), 'no colour, no bold');
    t.is(count(end, '[+] Building'), 1, end);
    t.regex(end, /^ => \[2\/2\] RUN echo hi > \/hi +\d+\.\ds$/m);
    t.regex(end, /^ => \[internal\] load build definition from Dockerfile +\d+\.\ds\n => => transferring dockerfile: 43B +\d+\.\ds$/m);
    t.is(count(end, 'warnings found'), 1);
    t.regex(end, /^ 2 warnings found:\n - JSONArgsRecommended: .* \(line 3\)\n - One or more build-args \[UNUSED\] were not consumed$/m);
    t.is(count(end, 'Built sha256:'), 1);
  } finally {
    term.close();
    removeDir(ctx);
  }
});

test('Ctrl-C: the running step shows CANCELED, one "build cancelled" line, exit 130', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do echo tick $i; sleep 0.5; done\n' });
  const term = new Terminal(build(ctx, 'NO_COLOR=1', '--no-cache'));
  try {
    await term.waitFor(/=> => # tick 2$/m);
    term.keys('C-c');
    const end = await term.waitFor(/^EXIT=\d+$/m, 20_000);
    t.regex(end, /^EXIT=130$/m);
    t.regex(end, /^ => CANCELED \[2\/2\] RUN for i in .* +\d+\.\ds$/m);
    t.is(count(end, 'build cancelled (SIGINT)'), 1, end);
    t.is(count(end, '[+] Building'), 1, end);
  } finally {
    term.close();
    removeDir(ctx);
  }
});

test('BUILDKIT_PROGRESS picks the mode in a terminal; --progress wins over it; a bad value names the variable', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo hi > /hi\n' });
  const plain = new Terminal(build(ctx, 'NO_COLOR=1 BUILDKIT_PROGRESS=plain'));
  const tty = new Terminal(build(ctx, 'NO_COLOR=1 BUILDKIT_PROGRESS=plain', '--progress', 'tty'));
  const bad = new Terminal(build(ctx, 'BUILDKIT_PROGRESS=fancy'));
  try {
    const p = await plain.waitFor(/^EXIT=\d+$/m);
    t.regex(p, /^EXIT=0$/m);
    t.regex(p, /^#1 \[internal\] load build definition from Dockerfile$/m);
    t.false(p.includes('[+] Building'));
    const y = await tty.waitFor(/^EXIT=\d+$/m);
    t.regex(y, /^\[\+\] Building .* FINISHED$/m);
    const b = await bad.waitFor(/^EXIT=\d+$/m);
    t.regex(b, /^EXIT=1$/m);
    t.regex(b, /^ERROR: unknown BUILDKIT_PROGRESS="fancy"$/m);
    t.regex(b, /^hint: one of auto, plain, tty, rawjson, quiet$/m);
  } finally {
    for (const term of [plain, tty, bad]) term.close();
    removeDir(ctx);
  }
});
