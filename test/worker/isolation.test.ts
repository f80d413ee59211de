// A RUN step is isolated as under Docker: it sees only its own processes, cannot mount, load
// modules, reach the host's files or devices, or change the host's hostname; it holds Docker's
// capability set (no CAP_SYS_ADMIN), no-new-privileges, and /proc's sensitive files are masked.
// Each check runs the real runtime on a busybox rootfs and asserts what `ps`, `ls` or `cat` show.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTsbuildError } from '../../src/errors/index.ts';
import { busyboxWithProbe, compileProbe } from './_probe.ts';
import { run, withWorker, type TestWorker } from './_setup.ts';

/** Runs `script` in a busybox RUN; resolves with its output and whether it succeeded. */
async function sh(w: TestWorker, script: string): Promise<{ out: string; ok: boolean }> {
  const base = await w.busybox();
  try {
    // one stream, so lines come in the order they were written
    await w.worker.run(run(`exec 2>&1\n${script}`), [{ type: 'snapshot', id: base }], w.ctx);
    return { out: w.logs.join(''), ok: true };
  } catch (e) {
    if (!isTsbuildError(e) || e.code !== 'RUN_FAILED') throw e;
    return { out: w.logs.join(''), ok: false };
  }
}

test('ps shows only the step\'s own processes, not the host\'s', (t) =>
  withWorker(async (w) => {
    // a host process with a name to look for
    const marker = spawn('sleep', ['4242.5'], { stdio: 'ignore' });
    t.teardown(() => marker.kill('SIGKILL'));
    const { out } = await sh(w, 'ps -o pid,args; echo pids: $(ls -d /proc/[0-9]* | wc -l)');
    t.notRegex(out, /4242\.5/);
    const pids = out.split('\n').map((l) => /^\s*(\d+)\s/.exec(l)?.[1]).filter((p): p is string => p !== undefined).map(Number);
    // the shell is PID 1 of its own namespace; ps is its child
    t.is(pids[0], 1);
    t.true(pids.length <= 3, out);
    // /proc lists the shell, its $(…) subshell, ls and wc: a handful, where the host has hundreds
    const hostPids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length;
    const seen = Number(/pids: (\d+)/.exec(out)?.[1]);
    t.true(seen >= 1 && seen <= 5 && hostPids > 10, `${seen} pids seen inside, ${hostPids} on the host`);
  }));

test('mount fails, and nothing is mounted', (t) =>
  withWorker(async (w) => {
    const { out, ok } = await sh(w, 'cat /proc/self/mountinfo | wc -l; mkdir -p /mnt; mount -t tmpfs x /mnt; echo mount=$?; umount /etc/resolv.conf; echo umount=$?; grep -c " /mnt " /proc/self/mountinfo; cat /proc/self/mountinfo | wc -l');
    t.true(ok);
    // busybox words EPERM from mount(2) this way
    t.regex(out, /mount: permission denied \(are you root\?\)\nmount=1\numount: can't unmount \/etc\/resolv.conf: Operation not permitted\numount=1\n/);
    const counts = out.split('\n').filter((l) => /^\d+$/.test(l.trim()));
    t.is(counts[1], '0');
    t.is(counts[0], counts[2]);
  }));

test('modules cannot be loaded or removed', (t) =>
  withWorker(async (w) => {
    // any file will do: the kernel is never asked to parse it
    const { out } = await sh(w, 'cp /bin/busybox /tmp/fake.ko; insmod /tmp/fake.ko; echo insmod=$?; rmmod loop; echo rmmod=$?; ls /lib/modules 2>&1');
    t.regex(out, /insmod: can't insert '\/tmp\/fake.ko': Operation not permitted/);
    t.regex(out, /insmod=1\n/);
    t.regex(out, /rmmod: can't unload module 'loop': Operation not permitted/);
    t.regex(out, /No such file or directory/);
  }));

test('the host filesystem is out of reach: no host files, no host mounts, no host disk through mknod', (t) =>
  withWorker(async (w) => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbuild-host-marker-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'secret'), 'host-only');
    // the host's root disk as a block device: readable only if the device cgroup lets it through
    const dev = statSync('/').dev;
    const major = Number((BigInt(dev) >> 8n) & 0xfffn);
    const minor = Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & ~0xffn));
    const disk = major === 0 ? 'b 8 0' : `b ${major} ${minor}`;
    const { out } = await sh(w, [
      'ls /; echo ---',
      `find / -xdev -name 'tsbuild-host-marker-*' 2>/dev/null; ls ${dir} 2>&1; echo ---`,
      'awk \'{print $5}\' /proc/self/mountinfo | sort | tr "\\n" " "; echo; echo ---',
      // CAP_MKNOD is in Docker's set, so mknod works; opening the node does not
      `mknod /tmp/disk ${disk}; head -c 512 /tmp/disk > /dev/null; echo disk=$?`,
      'mknod /tmp/mem c 1 1; head -c 1 /tmp/mem > /dev/null; echo mem=$?',
      'mknod /tmp/kmsg c 1 11; head -c 1 /tmp/kmsg > /dev/null; echo kmsg=$?',
      'ls /proc/1/root/ | tr "\\n" " "; echo',
    ].join('\n'));
    const [root, found, mounts] = out.split('---\n');
    t.deepEqual(root!.trim().split(/\s+/).sort(), ['bin', 'dev', 'etc', 'proc', 'root', 'sys', 'tmp']);
    t.notRegex(found!, /tsbuild-host-marker-\w+\n/);
    t.notRegex(out, /host-only/);
    t.regex(found!, /No such file or directory/);
    const expected = ['/', '/dev', '/dev/mqueue', '/dev/pts', '/dev/shm', '/etc/hosts', '/etc/resolv.conf', '/proc', '/sys', '/sys/fs/cgroup'];
    const seen = mounts!.trim().split(' ');
    // besides the masks and read-only /proc entries, and cgroup controllers on a v1 host, nothing else
    t.deepEqual(seen.filter((m) => !m.startsWith('/proc/') && !m.startsWith('/sys/fs/cgroup/') && !m.startsWith('/sys/firmware') && !m.startsWith('/sys/devices/')), expected);
    t.false(seen.some((m) => m.startsWith('/work') || m.startsWith('/home') || m.startsWith('/var') || m.startsWith('/tmp')), mounts);
    t.regex(out, /disk=1\n/);
    t.regex(out, /mem=1\n/);
    t.regex(out, /kmsg=1\n/);
    t.regex(out, /head: \/tmp\/disk: Operation not permitted/);
    t.regex(out, /bin dev etc proc root sys tmp \n/);
  }));

test('hostname: the step has its own, cannot set one, and the host\'s stays unchanged', (t) =>
  withWorker(async (w) => {
    const before = hostname();
    const { out } = await sh(w, 'hostname; cat /proc/sys/kernel/hostname; hostname tsbuild-took-over; echo set=$?; echo tsbuild-took-over > /proc/sys/kernel/hostname; echo write=$?; hostname');
    t.is(hostname(), before);
    t.is(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim(), before);
    t.regex(out, /^buildkitsandbox\nbuildkitsandbox\n/);
    t.regex(out, /hostname: sethostname: Operation not permitted/);
    t.regex(out, /set=1\n/);
    t.regex(out, /Read-only file system/);
    t.regex(out, /write=1\nbuildkitsandbox\n$/);
  }));

// Docker's default set (moby daemon/pkg/oci/caps/defaults.go) as the kernel's bit numbers
const dockerCaps = { CHOWN: 0, DAC_OVERRIDE: 1, FOWNER: 3, FSETID: 4, KILL: 5, SETGID: 6, SETUID: 7, SETPCAP: 8, NET_BIND_SERVICE: 10, NET_RAW: 13, SYS_CHROOT: 18, MKNOD: 27, AUDIT_WRITE: 29, SETFCAP: 31 };
const CAP_SYS_ADMIN = 21;

test('capabilities are Docker\'s default set: no CAP_SYS_ADMIN; no-new-privileges and seccomp filtering on', (t) =>
  withWorker(async (w) => {
    const { out } = await sh(w, 'grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):" /proc/self/status');
    const field = (name: string) => BigInt(`0x${new RegExp(`${name}:\\s*([0-9a-f]+)`).exec(out)?.[1] ?? 'ff'}`);
    const expected = Object.values(dockerCaps).reduce((a, bit) => a | (1n << BigInt(bit)), 0n);
    for (const set of ['CapPrm', 'CapEff', 'CapBnd']) {
      t.is(field(set), expected, set);
      t.is(field(set) & (1n << BigInt(CAP_SYS_ADMIN)), 0n, `${set} has CAP_SYS_ADMIN`);
    }
    t.is(field('CapInh'), 0n);
    t.is(field('CapAmb'), 0n);
    t.regex(out, /NoNewPrivs:\s*1\n/);
    // 2: a seccomp filter is installed
    t.regex(out, /Seccomp:\s*2\n/);
  }));

// Docker's list (moby daemon/pkg/oci/defaults.go), written out so a path dropped from ours fails here
const dockerMaskedPaths = [
  '/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/sched_debug',
  '/proc/scsi', '/proc/timer_list', '/proc/timer_stats', '/sys/devices/virtual/powercap', '/sys/firmware',
];

test('/dev holds only the standard devices, and /proc\'s sensitive files are masked', (t) =>
  withWorker(async (w) => {
    // the host's view of each masked path, to tell "masked" from "empty anyway"
    const hostHasContent = dockerMaskedPaths.filter((p) => {
      if (!existsSync(p)) return false;
      try {
        return statSync(p).isDirectory() ? readdirSync(p).length > 0 : readFileSync(p).length > 0;
      } catch {
        return false;
      }
    });
    const { out } = await sh(w, [
      'ls /dev | tr "\\n" " "; echo',
      'ls /dev/pts | tr "\\n" " "; echo',
      ...hostHasContent.map((p) => `echo "${p}=$( (ls -A ${p} 2>/dev/null | wc -l; cat ${p} 2>/dev/null | wc -c) | tr '\\n' ',')"`),
      'echo kcore=$(wc -c < /proc/kcore 2>/dev/null || echo absent)',
      'echo core=$(readlink /dev/core) $(wc -c < /dev/core 2>/dev/null || echo absent)',
    ].join('\n'));
    const lines = out.split('\n');
    // crun (podman's runtime) adds /dev/core, a link to /proc/kcore, which is masked: it must read as empty
    t.is(lines[0].replace(/^core /, ''), 'fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero ');
    if (lines[0].startsWith('core ')) t.regex(out, /\ncore=\/proc\/kcore (0|absent)\n/);
    t.is(lines[1], 'ptmx ');
    t.true(hostHasContent.length > 0, 'no masked path has content on this host: nothing to compare');
    for (const p of hostHasContent) t.regex(out, new RegExp(`${p}=(0,0,|1,0,)`), `${p} not masked`);
    // /proc/kcore is the host's memory; where the kernel has it, it reads as empty
    t.regex(out, existsSync('/proc/kcore') ? /kcore=0\n/ : /kcore=(absent|0)\n/);
    if (!existsSync('/proc/kcore')) t.log('this kernel has no /proc/kcore: its mask is checked in test/worker/spec.test.ts only');
  }));

test('no-new-privileges: a setuid-root program run by a user stays that user', async (t) => {
  const probe = compileProbe('#include <stdio.h>\n#include <unistd.h>\nint main(void) { printf("uid=%d euid=%d\\n", getuid(), geteuid()); return 0; }\n');
  if ('skip' in probe) {
    t.log(probe.skip);
    t.pass();
    return;
  }
  t.teardown(probe.cleanup);
  await withWorker(async (w) => {
    const withProbe = await busyboxWithProbe(w, probe.dir);
    const suid = await w.worker.run(run('chown 0:0 /probe && chmod 4755 /probe && ls -l /probe'), [{ type: 'snapshot', id: withProbe }], w.ctx);
    t.regex(w.logs.join(''), /-rwsr-xr-x\s+1 root\s+root/);
    await w.worker.run(run('/probe', { user: '1000:1000' }), [{ type: 'snapshot', id: suid }], w.ctx);
    // without no-new-privileges the kernel would make euid 0 here
    t.regex(w.logs.join(''), /uid=1000 euid=1000\n/);
  });
});
