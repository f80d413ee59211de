// Docker's seccomp allowlist must not break what real images do: dpkg and apt (which drops to the
// _apt user), useradd and su, perl, bash, threads, glibc's clone3 fallback. Runs on a Debian
// `debootstrap --variant=minbase` rootfs, offline: the package installed is built in the step.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyAll, run, withWorker } from './_setup.ts';

// a rootfs dir or tar: TSBUILD_TEST_DEBIAN_ROOTFS, else the minbase tar the network tests cache
const fixture = process.env.TSBUILD_TEST_DEBIAN_ROOTFS ?? '/var/cache/tsbuild-test/debian-bookworm-minbase.tar';

test('a Debian base runs dpkg, apt, useradd/su, perl and threads under the profile', async (t) => {
  if (!existsSync(fixture)) {
    t.log(`no Debian minbase rootfs at ${fixture} (set TSBUILD_TEST_DEBIAN_ROOTFS to a debootstrap dir or tar): Debian workload skipped`);
    t.pass();
    return;
  }
  let dir = fixture;
  if (!statSync(fixture).isDirectory()) {
    dir = mkdtempSync(join(tmpdir(), 'tsbuild-debian-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync('tar', ['-xf', fixture, '-C', dir, '--numeric-owner']);
  }
  await withWorker(async (w) => {
    const base = await w.worker.run(copyAll(), [{ type: 'local', dir, excludePatterns: [] }], w.ctx);
    const script = [
      'exec 2>&1',
      'set -e',
      'mkdir -p /tmp/pkg/DEBIAN /tmp/pkg/usr/bin',
      'printf "Package: tsbuild-probe\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: t <t@e>\\nDescription: probe\\n" > /tmp/pkg/DEBIAN/control',
      'printf "#!/bin/sh\\necho probe-installed\\n" > /tmp/pkg/usr/bin/tsbuild-probe && chmod 755 /tmp/pkg/usr/bin/tsbuild-probe',
      'dpkg-deb --build /tmp/pkg /tmp/probe.deb > /dev/null',
      'apt-get install -y -q /tmp/probe.deb > /tmp/apt.log || { cat /tmp/apt.log; exit 1; }',
      'tsbuild-probe',
      'dpkg-query -W -f "\\${Package} \\${Status}\\n" tsbuild-probe',
      'dpkg -r tsbuild-probe > /dev/null && echo removed',
      'useradd -m builder && su builder -c "id -un; touch ~/x && ls ~"',
      'perl -e "print qq(perl-ok\\n)"',
      'bash -c "sleep 0.1 & wait \\$!; echo bash-ok"',
      // threads: glibc 2.36 tries clone3 first and falls back to clone on ENOSYS
      'seq 1 300000 | sort -nr --parallel=2 -S 1M | head -1',
      'tar -C /usr -czf /tmp/usr.tgz share/doc && tar -tzf /tmp/usr.tgz | wc -l > /dev/null && echo tar-ok',
      'ldconfig && echo ldconfig-ok',
    ].join('\n');
    await w.worker.run(run(script), [{ type: 'snapshot', id: base }], w.ctx);
    const out = w.logs.join('');
    t.regex(out, /probe-installed\n/);
    t.regex(out, /tsbuild-probe install ok installed\n/);
    t.regex(out, /removed\n/);
    t.regex(out, /builder\nx\n/);
    t.regex(out, /perl-ok\n/);
    t.regex(out, /bash-ok\n/);
    t.regex(out, /\n300000\n/);
    t.regex(out, /tar-ok\n/);
    t.regex(out, /ldconfig-ok\n/);
  });
});
