// The compile-c scenario's Debian base: `debootstrap --variant=minbase --include=gcc,libc6-dev
// bookworm`, made once and cached outside the repo ($TSBUILD_BENCH_CACHE, default
// /var/cache/tsbuild-bench), then turned into an OCI image by tsbuild itself (FROM scratch,
// COPY rootfs/ /). The mirror is read from this machine's apt sources at run time, never stored.
//   <cache>/debian-gcc/rootfs/     the debootstrap tree (device nodes and .debs removed)
//   <cache>/debian-gcc.oci.tar     the image as an OCI archive (for docker and buildah)
//   <cache>/debian-gcc.oci/        the same image as an OCI layout (for tsbuild --build-context)
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, works } from './measure.ts';
import type { Base } from './rivals.ts';

export const benchCache = process.env.TSBUILD_BENCH_CACHE ?? '/var/cache/tsbuild-bench';

/** The first bookworm mirror in apt's sources (deb822 or one-line format). */
export function debianMirror(): string | undefined {
  const files = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
  for (const file of files.filter((f) => existsSync(f))) {
    const text = readFileSync(file, 'utf8');
    for (const stanza of text.split(/\n\s*\n/)) {
      const uris = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1].split(/\s+/) ?? [];
      if (uris && suites.includes('bookworm')) return uris;
    }
    const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text);
    if (line) return line[1];
  }
  return undefined;
}

/**
 * The Debian+gcc base, made if missing (debootstrap takes a few minutes, once). Returns the base
 * or, when it cannot be made here, why not (the scenario is then skipped with that line).
 * `tsbuild` runs the tsbuild CLI with the given arguments.
 */
export function ensureDebianGcc(tsbuild: (...args: string[]) => void, work: string): Base | string {
  const base: Base = { name: 'debian-gcc', arg: 'GCC', ociTar: join(benchCache, 'debian-gcc.oci.tar'), ociLayout: join(benchCache, 'debian-gcc.oci') };
  if (existsSync(base.ociTar) && existsSync(join(base.ociLayout, 'index.json'))) return base;

  const dir = join(benchCache, 'debian-gcc');
  const rootfs = join(dir, 'rootfs');
  if (!existsSync(join(rootfs, 'usr', 'bin', 'gcc'))) {
    if (!works('debootstrap', ['--version'])) return 'debootstrap not installed (apt-get install debootstrap)';
    const mirror = debianMirror();
    if (!mirror) return 'no bookworm mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list';
    console.error(`bench: making the Debian base for compile-c with debootstrap from ${mirror} (a few minutes, once; cached in ${dir})`);
    const tmp = `${rootfs}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    run('debootstrap', ['--variant=minbase', '--include=gcc,libc6-dev', 'bookworm', tmp, mirror]);
    // device nodes are the runtime's business, and the downloaded packages only weigh
    for (const sub of ['dev', join('var', 'cache', 'apt', 'archives'), join('var', 'lib', 'apt', 'lists')]) {
      const at = join(tmp, sub);
      if (!existsSync(at)) continue;
      for (const name of readdirSync(at)) if (name !== 'partial' && name !== 'lock') rmSync(join(at, name), { recursive: true, force: true });
    }
    renameSync(tmp, rootfs);
  }

  console.error(`bench: packing the Debian base into ${base.ociTar} with tsbuild`);
  writeFileSync(
    join(dir, 'Dockerfile'),
    'FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD ["bash"]\n',
  );
  rmSync(base.ociLayout, { recursive: true, force: true });
  const root = join(work, 'debian-gcc-pack');
  tsbuild('--root', root, 'build', '--progress', 'quiet', '-o', `type=oci,dest=${base.ociTar}.tmp`, '-o', `type=oci,dest=${base.ociLayout},tar=false`, dir);
  renameSync(`${base.ociTar}.tmp`, base.ociTar);
  rmSync(root, { recursive: true, force: true });
  return base;
}
