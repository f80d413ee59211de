// S4: every exec runs under a seccomp profile modelled on Docker's default: a build can fork, exec,
// write files and talk on loopback, but cannot make namespaces (and with them a fresh
// CAP_SYS_ADMIN), mount, or switch ASLR off.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTsbuildError } from '../../src/errors/index.ts';
import type { FileOp } from '../../src/llb/index.ts';
import { createRuntimeSpec } from '../../worker/exec/spec.ts';
import { cloneNamespaceFlags, defaultSeccompProfile, deniedSyscalls } from '../../worker/exec/seccomp-profile.ts';
import { createTestWorker, run, type TestWorker } from './_setup.ts';

test('the spec carries the default profile: clone with a namespace flag, unshare, mount, ptrace refused; clone3 ENOSYS', (t) => {
  const spec = createRuntimeSpec({
    args: ['true'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, network: 'none',
    hostname: 'h', hostsPath: '/h', resolvConfPath: '/r', cgroupsPath: '/c', extraMounts: [],
  });
  const p = spec.linux.seccomp;
  t.is(p, defaultSeccompProfile);
  t.true(p.architectures.includes('SCMP_ARCH_X86_64'));
  for (const name of ['unshare', 'setns', 'mount', 'umount2', 'keyctl', 'bpf', 'ptrace', 'kexec_load', 'init_module', 'finit_module', 'reboot', 'swapon']) t.true(deniedSyscalls.includes(name), name);
  t.like(p.syscalls.find((s) => s.names.includes('clone3')), { action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  const cloneFlags = p.syscalls.filter((s) => s.names.includes('clone')).map((s) => s.args?.[0]);
  t.deepEqual(cloneFlags.map((a) => a?.value).sort(), Object.values(cloneNamespaceFlags).sort());
  t.true(cloneFlags.every((a) => a?.op === 'SCMP_CMP_MASKED_EQ' && a.valueTwo === a.value && a.index === 0));
  // the rules are what runc reads: no allow rule under an allow default (runc would drop it)
  t.true(p.syscalls.every((s) => s.action !== p.defaultAction));
});

async function withWorker(t: { teardown(fn: () => Promise<void> | void): void }): Promise<TestWorker> {
  const w = await createTestWorker();
  t.teardown(() => w.cleanup());
  return w;
}

const busyboxIn = async (w: TestWorker) => [{ type: 'snapshot' as const, id: await w.busybox() }];

test('S4: the review proof fails: no user namespace, so no mount inside one', async (t) => {
  const w = await withWorker(t);
  const proof = "unshare -U -r -m -p -f sh -c 'grep CapEff /proc/self/status; mount -t tmpfs x /tmp && echo MOUNTED_IN_USERNS'";
  const e = await t.throwsAsync(w.worker.exec(run(proof), await busyboxIn(w), w.ctx));
  t.true(isTsbuildError(e) && e.code === 'RUN_FAILED');
  t.notRegex(w.logs.join(''), /MOUNTED_IN_USERNS/);
  t.regex(w.logs.join(''), /unshare.*Operation not permitted/);
});

test('S4: ordinary build work still runs: fork/exec, pipes, file ops, ownership, tar, loopback sockets, linux32', async (t) => {
  const w = await withWorker(t);
  const script = [
    'set -e',
    'for i in 1 2 3; do (echo sub$i) & done; wait',
    'echo abc | tr a-c x-z | grep -q xyz',
    'mkdir -p /work/a/b && cd /work && echo hi > a/b/f && cp -a a c && mv c d && ln -s d/b/f link && cat link',
    'chown -R 1000:1000 d && chmod -R go-w d && touch -d 2001-01-01 d/b/f && rm -rf a',
    'tar -cf /tmp/t.tar d && mkdir x && tar -xf /tmp/t.tar -C x && ls -ln x/d/b',
    'chroot / true && nice -n 5 true && timeout 5 sleep 0.1',
    'linux32 uname -m',
    // the listener may take a moment to come up on a loaded machine: retry the connect
    'nc -l -p 8123 > /tmp/got & for i in $(seq 100); do echo over-loopback | nc 127.0.0.1 8123 2>/dev/null && break; sleep 0.1; done; wait; cat /tmp/got',
    'echo ok-all',
  ].join('\n');
  await w.worker.exec(run(script), await busyboxIn(w), w.ctx);
  const out = w.logs.join('');
  t.regex(out, /over-loopback/);
  t.regex(out, /i686/);
  t.regex(out, /ok-all/);
});

// raw syscalls busybox has no applet for; built static so it runs on the busybox rootfs
const probeSource = String.raw`
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/personality.h>
static int err(long v) { return v < 0 ? errno : 0; }
static int cl(unsigned long flags) {
  long pid = syscall(SYS_clone, SIGCHLD | flags, 0, 0, 0, 0);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid(pid, 0, 0);
  return pid < 0 ? errno : 0;
}
int main(void) {
  printf("clone=%d clone_newuser=%d clone_newns=%d clone_newnet=%d\n", cl(0), cl(CLONE_NEWUSER), cl(CLONE_NEWNS), cl(CLONE_NEWNET));
  printf("clone3=%d\n", err(syscall(435, 0, 0)));
  printf("personality_linux32=%d personality_norandom=%d\n", err(personality(PER_LINUX32)), err(personality(ADDR_NO_RANDOMIZE)));
  printf("unshare=%d\n", err(unshare(CLONE_NEWUSER)));
  return 0;
}
`;

test('S4: the syscalls themselves: clone with namespace flags EPERM, plain clone fine, clone3 ENOSYS, personality limited', async (t) => {
  let hasGcc = true;
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
  } catch {
    hasGcc = false;
  }
  if (!hasGcc) {
    t.log('gcc not installed: raw syscall probe skipped');
    t.pass();
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-probe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'probe.c'), probeSource);
  execFileSync('gcc', ['-static', '-O2', '-o', join(dir, 'probe'), join(dir, 'probe.c')]);
  rmSync(join(dir, 'probe.c'));
  const w = await withWorker(t);
  const addProbe: FileOp = {
    kind: 'file', base: 0,
    actions: [{ action: 'copy', from: 1, src: ['/probe'], dest: '/probe', copyDirContents: true, followSymlinks: true, allowWildcardEmpty: false, extractArchives: false, excludePatterns: [], createDestPath: true }],
  };
  const withProbe = await w.worker.file(addProbe, [...(await busyboxIn(w)), { type: 'local', dir, excludePatterns: [] }], w.ctx);
  await w.worker.exec(run('/probe'), [{ type: 'snapshot', id: withProbe }], w.ctx);
  const out = w.logs.join('');
  t.regex(out, /clone=0 clone_newuser=1 clone_newns=1 clone_newnet=1/);
  t.regex(out, /clone3=38/);
  t.regex(out, /personality_linux32=0 personality_norandom=1/);
  t.regex(out, /unshare=1/);
});
