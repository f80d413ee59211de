// A tiny real root filesystem: Debian's static busybox with its applets as symlinks, plus the
// /etc files a test asks for. Small enough to build per test, real enough to run a shell in.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, copyFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const busyboxPath = '/usr/bin/busybox';

export interface RootfsOptions {
  /** Extra files: path → content (text) ; created with mode 0644, parents 0755. */
  files?: Record<string, string>;
}

const defaultPasswd = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const defaultGroup = 'root:x:0:\nnogroup:x:65534:\n';

/** Creates a busybox rootfs in a new temp dir (or `dir`) and returns its path. */
export function createBusyboxRootfs(opts: RootfsOptions = {}, dir = mkdtempSync(join(tmpdir(), 'tsbuild-rootfs-'))): string {
  for (const d of ['bin', 'etc', 'tmp', 'root']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(busyboxPath, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  const applets = execFileSync(busyboxPath, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) symlinkSync('busybox', join(dir, 'bin', a));
  const files = { '/etc/passwd': defaultPasswd, '/etc/group': defaultGroup, ...opts.files };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}
