// A Debian base image for tests that need a real distribution (apt over the network): bookworm
// made with `debootstrap --variant=minbase` from the mirror this machine's apt uses, built once and
// cached OUTSIDE the repo (the mirror's address never lands in a repo file):
//   /var/cache/tsbuild-test/debian-bookworm-minbase.tar   the root filesystem
//   /var/cache/tsbuild-test/debian-bookworm-minbase-oci/  an OCI layout of it (FROM scratch, ADD the tar)
// A test names it with `--build-context debian=oci-layout://DIR` and `FROM debian`.
import { execFile } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runTsbuild, tempDir, removeDir } from './tsbuild.ts';

const run = promisify(execFile);

export const cacheDir = process.env.TSBUILD_TEST_CACHE ?? '/var/cache/tsbuild-test';
export const debianRootfsTar = join(cacheDir, 'debian-bookworm-minbase.tar');
export const debianOciLayout = join(cacheDir, 'debian-bookworm-minbase-oci');

/** The Debian mirror apt uses here (deb822 sources first, then sources.list), read at run time. */
export function debianMirror(): string {
  try {
    const text = readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8');
    for (const block of text.split(/\n\s*\n/)) {
      const uri = block.match(/^URIs:\s*(\S+)/m)?.[1];
      const suites = block.match(/^Suites:\s*(.+)$/m)?.[1] ?? '';
      if (uri && /(^|\s)bookworm(\s|$)/.test(suites)) return uri;
    }
  } catch {
    // no deb822 file: try the one-line format
  }
  try {
    const m = readFileSync('/etc/apt/sources.list', 'utf8').match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m);
    if (m) return m[1];
  } catch {
    // neither: the public mirror
  }
  return 'http://deb.debian.org/debian';
}

/** Runs `make` once across concurrent test processes: a lock dir, waited on by the others. */
async function once(target: string, make: () => Promise<void>): Promise<void> {
  if (existsSync(target)) return;
  mkdirSync(cacheDir, { recursive: true });
  const lock = `${target}.lock`;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // a holder that died an hour ago (debootstrap takes about a minute) left it: take over
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 3600_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 1000));
      if (existsSync(target)) return;
    }
  }
  try {
    if (!existsSync(target)) await make();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The minbase root filesystem as a tar, made once (about a minute: debootstrap downloads ~40 MB). */
export async function ensureDebianRootfs(): Promise<string> {
  await once(debianRootfsTar, async () => {
    const dir = join(cacheDir, `debootstrap-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    try {
      await run('debootstrap', ['--variant=minbase', 'bookworm', dir, debianMirror()], { maxBuffer: 64 << 20 });
      // device nodes come from the runtime's /dev; package lists and .debs are not part of an image
      await run('tar', ['-C', dir, '--numeric-owner', '--xattrs', '--exclude=./dev/*', '--exclude=./proc/*', '--exclude=./sys/*',
        '--exclude=./var/cache/apt/*.bin', '--exclude=./var/cache/apt/archives/*.deb', '--exclude=./var/lib/apt/lists/*',
        '-cf', `${debianRootfsTar}.tmp`, '.'], { maxBuffer: 64 << 20 });
      renameSync(`${debianRootfsTar}.tmp`, debianRootfsTar);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(`${debianRootfsTar}.tmp`, { force: true });
    }
  });
  return debianRootfsTar;
}

/** The OCI layout of the base image, made once with tsbuild itself from the rootfs tar. */
export async function ensureDebianBase(): Promise<string> {
  const tar = await ensureDebianRootfs();
  await once(debianOciLayout, async () => {
    const ctx = tempDir('tsbuild-debian-ctx-');
    const root = tempDir('tsbuild-debian-root-');
    const out = `${debianOciLayout}.tmp-${process.pid}`;
    try {
      try {
        linkSync(tar, join(ctx, 'rootfs.tar'));
      } catch {
        copyFileSync(tar, join(ctx, 'rootfs.tar'));
      }
      writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nADD rootfs.tar /\nENV LANG=C.UTF-8\nCMD ["bash"]\n');
      const r = await runTsbuild(['build', '--progress', 'plain', '--output', `type=oci,dest=${out},tar=false,name=debian:bookworm`, ctx], { root });
      if (r.code !== 0) throw new Error(`building the Debian base image failed:\n${r.stderr}`);
      renameSync(out, debianOciLayout);
    } finally {
      removeDir(ctx);
      removeDir(root);
      rmSync(out, { recursive: true, force: true });
    }
  });
  return debianOciLayout;
}
