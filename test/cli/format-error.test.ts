// How a located error reads: the lines around it, the failing one marked, long lines cut.
import test from 'ava';
import { formatError } from '../../cli/format-error.ts';
import { ErrorCodes, invalid } from '../../src/errors/index.ts';

test('excerpt lines longer than 240 characters are cut and say how much is left out', (t) => {
  const long = `RUN echo ${'x'.repeat(1000)}`;
  const text = `FROM busybox\n${long}\nRUN true\n`;
  const e = invalid(ErrorCodes.DOCKERFILE_SYNTAX, 'Dockerfile:2: too long', { location: { file: 'Dockerfile', line: 2, text: long } });
  const out = formatError(e, { files: new Map([['Dockerfile', text]]) });
  const marked = out.split('\n').find((l) => l.startsWith('>>>'))!;
  t.true(marked.endsWith(`… (${long.length - 240} more characters)`));
  t.true(marked.length < 300);
  t.true(out.includes('    3 | RUN true'));
});
