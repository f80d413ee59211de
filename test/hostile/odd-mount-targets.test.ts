// Paths a Dockerfile controls that end up mounted: RUN --mount targets with spaces, tabs,
// backslashes, non-ASCII bytes, `..` climbing past the root, and a build-arg holding them; a WORKDIR
// of the same kind. Each lands inside the step's root at the path the kernel resolves there, and
// nothing is mounted or written on the host.
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const mountPoints = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[4]);

test('odd mount targets and a WORKDIR of odd bytes stay inside the step, at their own paths', async (t) => {
  const root = tempDir();
  const marker = `tsbuild-odd-${process.pid}`;
  const ctx = contextDir({
    'Dockerfile': [
      'FROM busybox',
      'ARG P="/mnt/a b\\tc ü"',
      `WORKDIR "/w ö/../x\\\\y"`,
      // tmpfs and cache targets from a build-arg and with a space; a bind whose target climbs past /
      `RUN --mount=type=tmpfs,target="/t mp" --mount=type=cache,target=\${P} --mount=type=bind,target=/ctx/../../../${marker} \\`,
      `    touch "/t mp/in-tmpfs" "$P/in-cache" && ls /${marker} && pwd && grep -c " /t.040mp " /proc/self/mountinfo && echo DONE`,
      '',
    ].join('\n'),
    'file.txt': 'context file\n',
  });
  t.teardown(() => {
    removeDir(root);
    removeDir(ctx);
  });
  await buildBusybox(root);
  const before = mountPoints().filter((m) => !m.startsWith(root));
  const r = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /#\d+ [\d.]+ Dockerfile\n#\d+ [\d.]+ file\.txt\n/, 'the bind is at /<marker> inside the step');
  t.regex(r.stderr, /#\d+ [\d.]+ 1\n#\d+ [\d.]+ DONE/, 'the tmpfs is mounted at "/t mp"');
  t.false(existsSync(`/${marker}`), 'nothing at the host\'s /<marker>');
  t.false(mountPoints().some((m) => m.startsWith(root)), 'nothing left mounted under the root');
  t.deepEqual(mountPoints().filter((m) => !m.startsWith(root) && !before.includes(m) && m.includes(marker)), []);
});
