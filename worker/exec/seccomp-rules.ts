// Docker's default seccomp profile as a table of rules, for x86 hosts (x86_64 with its i386 and x32
// ABIs). Source: moby/profiles seccomp/default_linux.go (the generator of Docker's default.json),
// as vendored in moby/moby at b985e231 (August 2026); rules for other architectures are left out.
// Names are written with brace groups (`chown{,32}` is chown and chown32) and sorted by what they
// do, so a reader can see what a build may do; `scripts/seccomp-vs-docker.ts` compares the result
// with a default.json and must report no difference after an update.
//
// Everything not allowed here gets EPERM (the profile's default action). A rule with `caps` applies
// only when the exec holds all of them; one with `unlessCaps` only when it holds none of them.

export interface SeccompRuleArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: 'SCMP_CMP_EQ' | 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';
}

export interface SeccompRule {
  /** Space-separated syscall names with `{a,b}` alternatives. */
  names: string;
  action: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  errnoRet?: number;
  args?: SeccompRuleArg[];
  caps?: string[];
  unlessCaps?: string[];
}

export const ENOSYS = 38;

/** sys/socket.h: the kernel crypto API and virtio sockets, the only families Docker refuses. */
export const AF_ALG = 38;
export const AF_VSOCK = 40;

/** The namespace flags of clone(2) (sched.h): a clone carrying any of them is refused. */
export const cloneNamespaceFlags = {
  CLONE_NEWNS: 0x00020000,
  CLONE_NEWCGROUP: 0x02000000,
  CLONE_NEWUTS: 0x04000000,
  CLONE_NEWIPC: 0x08000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
} as const;
const anyNamespaceFlag = Object.values(cloneNamespaceFlags).reduce((a, b) => a | b, 0);

// personality(2) personas Docker allows: PER_LINUX, PER_LINUX32 (`linux32`/`setarch i686`), UNAME26,
// both together, and the 0xffffffff query. Flags such as ADDR_NO_RANDOMIZE (ASLR off) are refused.
const allowedPersonas = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

const allow = 'SCMP_ACT_ALLOW' as const;

export const dockerSeccompRules: SeccompRule[] = [
  {
    action: allow,
    names: [
      // processes, threads and their identity
      'fork vfork execve execveat exit exit_group wait4 waitid waitpid kill tkill tgkill pidfd_open pidfd_send_signal process_mrelease',
      'getpid getppid gettid getpgid getpgrp getsid setpgid setsid set_tid_address set_robust_list get_robust_list rseq restart_syscall',
      'get{uid,gid,euid,egid,groups,resuid,resgid}{,32} set{uid,gid,groups,reuid,regid,resuid,resgid,fsuid,fsgid}{,32} capget capset',
      'prctl seccomp landlock_{add_rule,create_ruleset,restrict_self} uname sysinfo getcpu getrandom times getrusage {get,set}rlimit ugetrlimit prlimit64',
      'getpriority setpriority ioprio_{get,set} sched_{yield,getaffinity,setaffinity,getattr,setattr,getparam,setparam,getscheduler,setscheduler}',
      'sched_get_priority_{max,min} sched_rr_get_interval{,_time64} get_thread_area set_thread_area',
      // signals
      'rt_sig{action,pending,procmask,queueinfo,return,suspend,timedwait,timedwait_time64} rt_tgsigqueueinfo',
      'sigaltstack sigprocmask sigreturn signalfd{,4} pause',
      // memory
      'brk mmap{,2} munmap mremap mprotect madvise mincore msync m{,un}lock mlock2 m{,un}lockall remap_file_pages membarrier',
      'memfd_create memfd_secret pkey_{alloc,free,mprotect} map_shadow_stack mseal uretprobe',
      // time and timers (reading and waiting; setting the clock needs CAP_SYS_TIME)
      'time gettimeofday clock_{getres,nanosleep}{,_time64} clock_gettime{,64} clock_adjtime{,64} adjtimex alarm nanosleep',
      '{get,set}itimer timer_{create,delete,getoverrun} timer_{get,set}time{,64} timerfd_create timerfd_{get,set}time{,64}',
      // files and directories
      'open openat openat2 creat close close_range read readv pread64 preadv{,2} write writev pwrite64 pwritev{,2}',
      'lseek _llseek dup dup2 dup3 fcntl{,64} flock ioctl fsync fdatasync sync syncfs sync_file_range readahead fadvise64{,_64} fallocate',
      'stat{,64} lstat{,64} fstat{,64} fstatat64 newfstatat statx statfs{,64} fstatfs{,64} access faccessat{,2} name_to_handle_at',
      'truncate{,64} ftruncate{,64} chdir fchdir getcwd getdents{,64} mkdir mkdirat rmdir mknod mknodat umask',
      'link linkat symlink symlinkat readlink readlinkat unlink unlinkat rename renameat{,2}',
      'chmod fchmod fchmodat{,2} chown{,32} fchown{,32} lchown{,32} fchownat utime utimes utimensat{,_time64} futimesat',
      '{,l,f}{get,set,list,remove}xattr {get,set,list,remove}xattrat',
      'copy_file_range sendfile{,64} splice tee vmsplice cachestat listmount statmount',
      // waiting on many descriptors, events and notifications
      'select _newselect pselect6{,_time64} poll ppoll{,_time64} epoll_{create,create1,ctl,ctl_old,pwait,pwait2,wait,wait_old}',
      'eventfd{,2} inotify_{init,init1,add_watch,rm_watch} fanotify_mark pipe{,2}',
      'futex{,_time64,_requeue,_wait,_wake,_waitv}',
      // asynchronous I/O (io_uring stays refused: its operations bypass seccomp)
      'io_{setup,destroy,submit,cancel,getevents,pgetevents,pgetevents_time64}',
      // sockets (socket(2) itself is below, by family)
      'socketpair bind listen accept{,4} connect shutdown getsockname getpeername {get,set}sockopt',
      'send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg{,_time64} socketcall',
      // System V and POSIX IPC (within the container's IPC namespace)
      'ipc msg{ctl,get,rcv,snd} sem{ctl,get,op,timedop,timedop_time64} shm{at,ctl,dt,get}',
      'mq_{getsetattr,notify,open,timedreceive,timedreceive_time64,timedsend,timedsend_time64,unlink}',
      // another architecture's hardware query, listed unconditionally by Docker
      'riscv_hwprobe',
    ].join(' '),
  },
  // tracing a process one may already signal: safe from kernel 4.8 on (seccomp rechecked after
  // ptrace); Node 24 needs 4.18, so the condition always holds where tsbuild runs
  { action: allow, names: 'ptrace process_vm_{readv,writev}' },
  // every socket family but AF_ALG and AF_VSOCK (a channel to the hypervisor on VM hosts). On i386
  // the same call through socketcall(2) carries the family in memory seccomp cannot read: allowed, as
  // Docker does (see docs/sandbox-security.md).
  { action: allow, names: 'socket', args: [{ index: 0, value: AF_ALG, op: 'SCMP_CMP_LT' }] },
  { action: allow, names: 'socket', args: [{ index: 0, value: AF_ALG + 1, op: 'SCMP_CMP_EQ' }] },
  { action: allow, names: 'socket', args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_GT' }] },
  ...allowedPersonas.map((value) => ({ action: allow, names: 'personality', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' as const }] })),
  // x86 only: thread-local storage set-up and 16-bit segments (wine, old runtimes)
  { action: allow, names: 'arch_prctl modify_ldt' },
  // capability-gated: the kernel checks the capability too; the profile adds a second wall
  { action: allow, names: 'open_by_handle_at', caps: ['CAP_DAC_READ_SEARCH'] },
  {
    action: allow,
    caps: ['CAP_SYS_ADMIN'],
    names: [
      'clone clone3 unshare setns set{domainname,hostname}',
      'mount umount{,2} mount_setattr move_mount open_tree fs{config,mount,open,pick} quotactl{,_fd}',
      'bpf perf_event_open fanotify_init lookup_dcookie syslog lsm_{get_self_attr,list_modules,set_self_attr}',
    ].join(' '),
  },
  // without CAP_SYS_ADMIN: clone only without namespace flags, and clone3 (its flags live in memory)
  // answered ENOSYS, which glibc 2.34+ and musl take as "fall back to clone"
  { action: allow, names: 'clone', args: [{ index: 0, value: anyNamespaceFlag, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }], unlessCaps: ['CAP_SYS_ADMIN'] },
  { action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, names: 'clone3', unlessCaps: ['CAP_SYS_ADMIN'] },
  { action: allow, names: 'reboot', caps: ['CAP_SYS_BOOT'] },
  { action: allow, names: 'chroot', caps: ['CAP_SYS_CHROOT'] },
  { action: allow, names: '{delete,init,finit}_module', caps: ['CAP_SYS_MODULE'] },
  { action: allow, names: 'acct', caps: ['CAP_SYS_PACCT'] },
  { action: allow, names: 'kcmp pidfd_getfd process_madvise process_vm_{readv,writev} ptrace', caps: ['CAP_SYS_PTRACE'] },
  { action: allow, names: 'iopl ioperm', caps: ['CAP_SYS_RAWIO'] },
  { action: allow, names: 'settimeofday stime clock_settime{,64}', caps: ['CAP_SYS_TIME'] },
  { action: allow, names: 'vhangup', caps: ['CAP_SYS_TTY_CONFIG'] },
  { action: allow, names: 'get_mempolicy mbind set_mempolicy set_mempolicy_home_node', caps: ['CAP_SYS_NICE'] },
  { action: allow, names: 'syslog', caps: ['CAP_SYSLOG'] },
  { action: allow, names: 'bpf', caps: ['CAP_BPF'] },
  { action: allow, names: 'perf_event_open', caps: ['CAP_PERFMON'] },
];

/** Expands brace groups: `a{,b}c{1,2}` gives ac1, ac2, abc1, abc2. */
export function expandNames(pattern: string): string[] {
  return pattern.split(/\s+/).filter(Boolean).flatMap(expandWord);
}

function expandWord(word: string): string[] {
  const open = word.indexOf('{');
  if (open < 0) return [word];
  const close = word.indexOf('}', open);
  const head = word.slice(0, open);
  const rest = expandWord(word.slice(close + 1));
  return word.slice(open + 1, close).split(',').flatMap((alt) => rest.map((tail) => head + alt + tail));
}
