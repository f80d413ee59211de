// RUN heredocs as BuildKit runs them.
import test from 'ava';
import { build, exec, file } from './_build.ts';

test('a RUN that is only a heredoc runs its body as the shell command', async (t) => {
  const def = await build('FROM busybox\nRUN <<EOF\necho hi\necho there\nEOF\n');
  t.deepEqual(exec(def.root).args, ['/bin/sh', '-c', 'echo hi\necho there\n']);
});

test('a heredoc with a shebang runs as an executable mounted at /dev/pipes', async (t) => {
  const def = await build('FROM busybox\nRUN <<-EOT\n\t#!/usr/bin/env python3\n\tprint(1)\nEOT\n');
  const run = exec(def.root);
  t.deepEqual(run.args, ['/bin/sh', '-c', '/dev/pipes/EOT']);
  t.deepEqual(run.mounts[1], { type: 'bind', target: '/dev/pipes', input: 1, source: '/', readonly: true });
  t.like(file(def.root!.inputs[1]).actions[0], { action: 'mkfile', path: '/EOT', mode: 0o755, data: '#!/usr/bin/env python3\nprint(1)\n' });
});

test('a heredoc feeding a command goes to the shell with its opening line', async (t) => {
  const def = await build('FROM busybox\nRUN cat <<EOF > /f\nx\nEOF\n');
  t.deepEqual(exec(def.root).args, ['/bin/sh', '-c', 'cat <<EOF > /f\nx\nEOF']);
});
