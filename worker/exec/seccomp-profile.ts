// The seccomp profile every exec runs under, as data for the OCI spec's linux.seccomp. Docker and
// BuildKit apply Docker's default profile (moby/profiles/seccomp/default.json); this follows its
// semantics for what matters to a build sandbox without CAP_SYS_ADMIN: no new namespaces (so no
// user namespace granting a fresh CAP_SYS_ADMIN, the way `unshare -U -r` then `mount` works), no
// mount API, no kernel keyring, bpf, perf, ptrace, kexec, module loading, reboot, swap, clock or
// quota changes, and personality() limited so ASLR cannot be switched off.
//
// Shape: a denylist (defaultAction SCMP_ACT_ALLOW plus explicit SCMP_ACT_ERRNO rules), not Docker's
// allowlist. An allowlist written here without Docker's file to diff against would sooner or later
// miss a syscall some package manager or libc uses (faccessat2, close_range, rseq, epoll_pwait2 came
// late to Docker's own list and broke images each time), failing builds with EPERM nobody can
// explain; a denylist can only err the other way, on a syscall new enough that nobody relies on it
// yet. TODO(S4): move to a full allowlist checked against Docker's default.json.
//
// amd64 (with its x86 and x32 ABIs, so int 0x80 is filtered too); errno 1 is EPERM, as Docker's.
// clone3 gets ENOSYS instead, exactly as Docker's profile does: its flags live in memory seccomp
// cannot read, so it is refused in a way libc (glibc 2.34+, musl) takes as "fall back to clone",
// whose flags register is then checked.

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: 'SCMP_CMP_MASKED_EQ' | 'SCMP_CMP_EQ' | 'SCMP_CMP_NE';
}

export interface SeccompSyscall {
  names: string[];
  action: 'SCMP_ACT_ERRNO' | 'SCMP_ACT_ALLOW';
  errnoRet?: number;
  args?: SeccompArg[];
}

export interface SeccompProfile {
  defaultAction: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  architectures: string[];
  syscalls: SeccompSyscall[];
}

const EPERM = 1;
const ENOSYS = 38;

/** The namespace flags of clone(2) (sched.h); any of them in a clone's flags makes it EPERM. */
export const cloneNamespaceFlags = {
  CLONE_NEWNS: 0x00020000,
  CLONE_NEWCGROUP: 0x02000000,
  CLONE_NEWUTS: 0x04000000,
  CLONE_NEWIPC: 0x08000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
} as const;

// personality(2) flags that weaken the address space (ADDR_NO_RANDOMIZE turns ASLR off,
// READ_IMPLIES_EXEC makes every readable page executable, MMAP_PAGE_ZERO maps page 0, and the
// layout/limit ones). Docker allows only the personas 0, PER_LINUX32, UNAME26 and the query
// 0xffffffff; a denylist cannot say "only these", so a call with any of these bits is refused:
// UNAME26 and PER_LINUX32 still work; the 0xffffffff query, having every bit, gets EPERM.
const personalityFlags = [0x0040000, 0x0100000, 0x0200000, 0x0400000, 0x0800000, 0x1000000, 0x2000000, 0x4000000, 0x8000000];

/** Syscalls Docker's profile grants only with capabilities a build never has (CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_SYS_MODULE, …). */
export const deniedSyscalls = [
  // namespaces and mounts
  'unshare', 'setns', 'mount', 'umount', 'umount2', 'pivot_root', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree', 'mount_setattr',
  // kernel keyring
  'keyctl', 'add_key', 'request_key',
  // tracing and other processes' memory
  'ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd', 'perf_event_open', 'bpf', 'userfaultfd', 'lookup_dcookie',
  // the kernel itself
  'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'create_module', 'get_kernel_syms', 'query_module',
  'reboot', 'swapon', 'swapoff', 'acct', 'syslog', 'iopl', 'ioperm', 'vm86', 'vm86old', 'uselib', '_sysctl', 'sysfs', 'ustat', 'nfsservctl', 'vhangup',
  // host-wide state
  'settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64', 'quotactl', 'quotactl_fd', 'open_by_handle_at', 'name_to_handle_at',
  // io_uring bypasses seccomp for the operations it performs (Docker dropped it in 25.0)
  'io_uring_setup', 'io_uring_enter', 'io_uring_register',
];

export const defaultSeccompProfile: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ALLOW',
  architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  syscalls: [
    { names: deniedSyscalls, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM },
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
    // one rule per flag: the conditions of one rule are ANDed, separate rules ORed
    ...Object.values(cloneNamespaceFlags).map((flag) => ({
      names: ['clone'],
      action: 'SCMP_ACT_ERRNO' as const,
      errnoRet: EPERM,
      args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' as const }],
    })),
    ...personalityFlags.map((flag) => ({
      names: ['personality'],
      action: 'SCMP_ACT_ERRNO' as const,
      errnoRet: EPERM,
      args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' as const }],
    })),
  ],
};
