// Every exec runs under Docker's default seccomp profile, an allowlist evaluated for our capability
// set: a build can fork, exec, write files and use sockets, but cannot make namespaces (and with
// them a fresh CAP_SYS_ADMIN), mount, load modules, use the kernel keyring, bpf, io_uring or
// AF_VSOCK, or switch ASLR off.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { isTsbuildError } from '../../src/errors/index.ts';
import { createRuntimeSpec, defaultCapabilities } from '../../worker/exec/spec.ts';
import { AF_VSOCK, allowedSyscalls, cloneNamespaceFlags, createSeccompProfile } from '../../worker/exec/seccomp-profile.ts';
import { expandNames } from '../../worker/exec/seccomp-rules.ts';
import { busyboxWithProbe, compileProbe } from './_probe.ts';
import { createTestWorker, run, type TestWorker } from './_setup.ts';

const specInput = {
  args: ['true'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, network: 'none' as const,
  hostname: 'h', hostsPath: '/h', resolvConfPath: '/r', cgroupsPath: '/c', extraMounts: [],
};

test('the spec carries Docker\'s allowlist: EPERM by default, ordinary syscalls allowed, privileged ones absent', (t) => {
  const p = createRuntimeSpec(specInput).linux.seccomp;
  t.is(p, createSeccompProfile(defaultCapabilities));
  t.is(p.defaultAction, 'SCMP_ACT_ERRNO');
  t.is(p.defaultErrnoRet, 1);
  t.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  const allowed = allowedSyscalls(p);
  for (const name of ['read', 'openat', 'execve', 'statx', 'faccessat2', 'close_range', 'rseq', 'epoll_pwait2', 'getrandom', 'chroot', 'setuid32', 'fchmodat2', 'arch_prctl', 'ptrace']) t.true(allowed.has(name), name);
  for (const name of ['unshare', 'setns', 'mount', 'umount2', 'fsopen', 'keyctl', 'add_key', 'bpf', 'perf_event_open', 'kexec_load', 'init_module', 'finit_module', 'reboot', 'swapon', 'sethostname', 'io_uring_setup', 'userfaultfd', 'open_by_handle_at', 'clock_settime', 'acct', 'iopl', 'syslog', 'clone', 'socket', 'personality']) {
    t.false(allowed.has(name), name);
  }
  // no rule without an effect: every rule allows or returns another errno than the default
  t.true(p.syscalls.every((s) => s.action === 'SCMP_ACT_ALLOW' || s.errnoRet !== p.defaultErrnoRet));
});

test('conditional rules: clone without namespace flags, clone3 ENOSYS, socket without AF_ALG/AF_VSOCK, five personas', (t) => {
  const p = createSeccompProfile(defaultCapabilities);
  const clone = p.syscalls.filter((s) => s.names.includes('clone'));
  const anyNs = Object.values(cloneNamespaceFlags).reduce((a, b) => a | b, 0);
  t.deepEqual(clone.map((s) => s.args), [[{ index: 0, value: anyNs, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]]);
  t.deepEqual(p.syscalls.filter((s) => s.names.includes('clone3')).map((s) => [s.action, s.errnoRet]), [['SCMP_ACT_ERRNO', 38]]);
  const socket = p.syscalls.filter((s) => s.names.includes('socket')).map((s) => s.args?.[0]);
  // families 0..37, 39 and 41.. pass; 38 (AF_ALG) and 40 (AF_VSOCK) fall to the default EPERM
  const passes = (family: number) => socket.some((a) => a && (a.op === 'SCMP_CMP_LT' ? family < a.value : a.op === 'SCMP_CMP_GT' ? family > a.value : family === a.value));
  t.deepEqual([1, 2, 10, 16, 17, 37, 38, 39, 40, 41, 44].filter(passes), [1, 2, 10, 16, 17, 37, 39, 41, 44]);
  t.false(passes(AF_VSOCK));
  t.deepEqual(p.syscalls.filter((s) => s.names.includes('personality')).map((s) => s.args?.[0]?.value), [0, 8, 0x20000, 0x20008, 0xffffffff]);
});

test('capabilities change the profile as they do in Docker: CAP_SYS_ADMIN opens mount and clone, CAP_SYS_CHROOT gates chroot', (t) => {
  const admin = createSeccompProfile([...defaultCapabilities, 'CAP_SYS_ADMIN']);
  const allowed = allowedSyscalls(admin);
  for (const name of ['mount', 'unshare', 'setns', 'clone', 'clone3', 'sethostname']) t.true(allowed.has(name), name);
  t.false(admin.syscalls.some((s) => s.names.includes('clone3') && s.action === 'SCMP_ACT_ERRNO'));
  t.false(allowedSyscalls(createSeccompProfile(defaultCapabilities.filter((c) => c !== 'CAP_SYS_CHROOT'))).has('chroot'));
  t.true(allowedSyscalls(createSeccompProfile(['CAP_SYS_MODULE'])).has('finit_module'));
});

test('brace groups expand to every alternative', (t) => {
  t.deepEqual(expandNames('chown{,32} a{b,c}{1,2} x'), ['chown', 'chown32', 'ab1', 'ab2', 'ac1', 'ac2', 'x']);
});

async function withWorker(t: { teardown(fn: () => Promise<void> | void): void }): Promise<TestWorker> {
  const w = await createTestWorker();
  t.teardown(() => w.cleanup());
  return w;
}

const busyboxIn = async (w: TestWorker) => [{ type: 'snapshot' as const, id: await w.busybox() }];

test('the review proof fails: no user namespace, so no mount inside one', async (t) => {
  const w = await withWorker(t);
  const proof = "unshare -U -r -m -p -f sh -c 'grep CapEff /proc/self/status; mount -t tmpfs x /tmp && echo MOUNTED_IN_USERNS'";
  const e = await t.throwsAsync(w.worker.run(run(proof), await busyboxIn(w), w.ctx));
  t.true(isTsbuildError(e) && e.code === 'RUN_FAILED');
  t.notRegex(w.logs.join(''), /MOUNTED_IN_USERNS/);
  t.regex(w.logs.join(''), /unshare.*Operation not permitted/);
});

test('ordinary build work still runs: fork/exec, pipes, file ops, ownership, tar, wget, loopback sockets, linux32', async (t) => {
  const w = await withWorker(t);
  const script = [
    'set -e',
    'for i in 1 2 3; do (echo sub$i) & done; wait',
    'echo abc | tr a-c x-z | grep -q xyz',
    'mkdir -p /work/a/b && cd /work && echo hi > a/b/f && cp -a a c && mv c d && ln -s d/b/f link && cat link && ls -l link',
    'chown -R 1000:1000 d && chmod -R go-w d && touch -d 2001-01-01 d/b/f && rm -rf a && stat -c %U:%G d/b/f',
    'tar -czf /tmp/t.tgz d && mkdir x && tar -xzf /tmp/t.tgz -C x && ls -ln x/d/b',
    'chroot / true && nice -n 5 true && timeout 5 sleep 0.1 && find / -xdev -name busybox | head -1 && sha256sum /bin/busybox > /dev/null',
    'linux32 uname -m',
    // the listeners may take a moment to come up on a loaded machine: retry the connects. The
    // listener sends and the client reads: a background `nc -l` reading stdin sees /dev/null's EOF at
    // once and could hang up before a client's bytes arrived, which lost them under load
    "echo over-loopback | nc -l -p 8123 & for i in $(seq 100); do got=$(sleep 2 | nc 127.0.0.1 8123 2>/dev/null) && [ -n \"$got\" ] && echo \"$got\" && break; sleep 0.1; done; wait",
    'mkdir -p /srv && echo served > /srv/f && httpd -p 127.0.0.1:8124 -h /srv && for i in $(seq 100); do wget -q -O - http://127.0.0.1:8124/f 2>/dev/null && break; sleep 0.1; done',
    'echo ok-all',
  ].join('\n');
  await w.worker.run(run(script), await busyboxIn(w), w.ctx);
  const out = w.logs.join('');
  t.regex(out, /hi\n/);
  t.regex(out, /link -> d\/b\/f/);
  t.regex(out, /1000:1000|unknown:unknown|UNKNOWN:UNKNOWN/);
  t.regex(out, /over-loopback/);
  t.regex(out, /served/);
  t.regex(out, /i686/);
  t.regex(out, /ok-all/);
});

// raw syscalls busybox has no applet for; each line is `name=errno` (0: it worked)
const probeSource = String.raw`
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
static int err(long v) { return v < 0 ? errno : 0; }
static int cl(unsigned long flags) {
  long pid = syscall(SYS_clone, SIGCHLD | flags, 0, 0, 0, 0);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid(pid, 0, 0);
  return pid < 0 ? errno : 0;
}
static int sock(int family, int type) {
  int fd = socket(family, type, 0);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}
// tracing one's own child, as strace and gdb do: allowed, as in Docker on kernels >= 4.8
static int traceme(void) {
  pid_t pid = fork();
  if (pid == 0) _exit(ptrace(PTRACE_TRACEME, 0, 0, 0) < 0 ? errno : 0);
  int status = 0;
  waitpid(pid, &status, 0);
  return WEXITSTATUS(status);
}
static int vmread(void) {
  char src[4] = "abc", dst[4] = "";
  struct iovec local = { dst, 4 }, remote = { src, 4 };
  return syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0) == 4 && dst[1] == 'b' ? 0 : errno;
}
// the i386 ABI through int 0x80 (IA32 emulation): the profile lists SCMP_ARCH_X86, so the same rules hold
static long sys32(long nr, long a, long b, long c) {
  long ret;
  __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
  return ret;
}
int main(int argc, char **argv) {
  if (argc > 1) {
    // "i386-works": does this kernel run int 0x80 at all? (a kernel without IA32 emulation kills us here)
    if (strcmp(argv[1], "i386-works") == 0) return sys32(20, 0, 0, 0) > 0 ? 0 : 1;
    long inet32 = sys32(359, AF_INET, SOCK_STREAM, 0);
    printf("i386: socket_vsock=%ld socket_inet=%s unshare=%ld getpid=%s\n", -sys32(359, 40, SOCK_STREAM, 0), inet32 >= 0 ? "fd" : "err",
      -sys32(310, CLONE_NEWUSER, 0, 0), sys32(20, 0, 0, 0) > 0 ? "ok" : "err");
    return 0;
  }
  printf("ptrace_traceme=%d process_vm_readv=%d\n", traceme(), vmread());
  printf("clone=%d clone_newuser=%d clone_newns=%d clone_newnet=%d\n", cl(0), cl(CLONE_NEWUSER), cl(CLONE_NEWNS), cl(CLONE_NEWNET));
  printf("clone3=%d\n", err(syscall(435, 0, 0)));
  printf("personality_linux32=%d personality_norandom=%d\n", err(personality(PER_LINUX32)), err(personality(ADDR_NO_RANDOMIZE)));
  printf("unshare=%d setns=%d\n", err(unshare(CLONE_NEWUSER)), err(syscall(SYS_setns, 0, 0)));
  printf("af_inet=%d af_unix=%d af_netlink=%d af_vsock=%d af_alg=%d\n",
    sock(AF_INET, SOCK_STREAM), sock(AF_UNIX, SOCK_STREAM), sock(AF_NETLINK, SOCK_RAW), sock(40, SOCK_STREAM), sock(38, SOCK_SEQPACKET));
  printf("mount=%d\n", err(mount("none", "/mnt", "tmpfs", 0, 0)));
  printf("keyctl=%d bpf=%d io_uring_setup=%d userfaultfd=%d perf_event_open=%d\n",
    err(syscall(SYS_keyctl, 0, -3, 0)), err(syscall(SYS_bpf, 0, 0, 0)), err(syscall(425, 1, 0)), err(syscall(SYS_userfaultfd, 0)), err(syscall(SYS_perf_event_open, 0, 0, -1, -1, 0)));
  printf("finit_module=%d delete_module=%d\n", err(syscall(SYS_finit_module, 0, "", 0)), err(syscall(SYS_delete_module, "loop", 0)));
  printf("sethostname=%d\n", err(syscall(SYS_sethostname, "x", 1)));
  printf("chroot=%d\n", err(chroot("/")));
  // allowed by Docker but newer than runc 1.1's libseccomp: ENOSYS from runc's stub (or EBADF where known)
  printf("cachestat=%d\n", err(syscall(451, -1, 0, 0, 0)));
  return 0;
}
`;

test('the syscalls themselves, through a static probe', async (t) => {
  const probe = compileProbe(probeSource);
  if ('skip' in probe) {
    t.log(probe.skip);
    t.pass();
    return;
  }
  t.teardown(probe.cleanup);
  const w = await withWorker(t);
  let i386 = true;
  try {
    execFileSync(join(probe.dir, 'probe'), ['i386-works'], { stdio: 'ignore' });
  } catch {
    i386 = false;
    t.log('this kernel runs no i386 code (no IA32 emulation): the int 0x80 checks are skipped');
  }
  await w.worker.run(run(i386 ? '/probe && /probe i386' : '/probe'), [{ type: 'snapshot', id: await busyboxWithProbe(w, probe.dir) }], w.ctx);
  const out = w.logs.join('');
  t.regex(out, /clone=0 clone_newuser=1 clone_newns=1 clone_newnet=1\n/);
  t.regex(out, /clone3=38\n/);
  t.regex(out, /personality_linux32=0 personality_norandom=1\n/);
  t.regex(out, /unshare=1 setns=1\n/);
  t.regex(out, /af_inet=0 af_unix=0 af_netlink=0 af_vsock=1 af_alg=1\n/);
  t.regex(out, /mount=1\n/);
  t.regex(out, /keyctl=1 bpf=1 io_uring_setup=1 userfaultfd=1 perf_event_open=1\n/);
  t.regex(out, /finit_module=1 delete_module=1\n/);
  t.regex(out, /sethostname=1\n/);
  t.regex(out, /chroot=0\n/);
  t.regex(out, /ptrace_traceme=0 process_vm_readv=0\n/);
  if (i386) t.regex(out, /i386: socket_vsock=1 socket_inet=fd unshare=1 getpid=ok\n/);
  // never EPERM, which libc would not fall back from
  t.regex(out, /cachestat=(38|9)\n/);
});
