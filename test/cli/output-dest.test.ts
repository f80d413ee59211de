// An output whose dest cannot be made (under /proc or /sys, where mkdir answers ENOENT though the
// parent is there) is a clear error at once: Node's recursive mkdir spun there forever, deaf to
// SIGTERM (src/fs/make-dirs.ts). Each run is killed after a minute, so a regression fails, not hangs.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { buildBusybox, contextDir, removeDir, tempDir, tsbuildBin } from '../_support/tsbuild.ts';

const root = tempDir('tsbuild-root-');
const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo hi > /hi\n' });
test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => {
  removeDir(root);
  removeDir(ctx);
});

const run = (...args: string[]) => spawnSync(process.execPath, [tsbuildBin, '--root', root, ...args], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });

for (const output of ['type=local,dest=/proc/tsbuild-x', 'type=oci,dest=/proc/tsbuild-x/app.tar']) {
  test(`-o ${output}: exit 1 naming the directory that cannot be made`, (t) => {
    const r = run('build', '-q', '-o', output, ctx);
    t.is(r.signal, null, 'it ended by itself');
    t.is(r.status, 1, r.stderr);
    t.regex(r.stderr, /^ERROR: .*cannot create directory \/proc\/tsbuild-x: \/proc takes no new directories$/m);
    t.notRegex(r.stderr, /\n\s+at /);
  });
}

test('save -o under /proc: the same', (t) => {
  const r = run('save', '-o', '/proc/tsbuild-x/app.tar', 'busybox');
  t.is(r.signal, null, 'it ended by itself');
  t.is(r.status, 1, r.stderr);
  t.regex(r.stderr, /cannot create directory \/proc\/tsbuild-x: \/proc takes no new directories/);
});
