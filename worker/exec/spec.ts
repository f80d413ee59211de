// The OCI runtime-spec config.json for one exec, built as plain data from what the op asks for.
// Pure (but for the host's CPU list, read once for the masked paths), so every sandbox property is unit-tested without root.
// Defaults follow Docker's (moby/oci/defaults.go): capability set, masked and read-only paths,
// /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, read-only /sys and cgroups, and a seccomp profile.
import type { NetworkMode } from '../../src/llb/index.ts';
import { createSeccompProfile, type SeccompProfile } from './seccomp-profile.ts';
import { cpuThermalThrottlePaths } from './host-masked-paths.ts';
import type { ResolvedUser } from '../rootfs/users.ts';
import type { ResourceLimits } from '../../src/limits/index.ts';
import { defaultShmSize, specResources, specRlimits, type SpecResources } from './resources.ts';

export interface SpecMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface RuntimeSpec {
  ociVersion: string;
  process: {
    terminal: false;
    user: ResolvedUser;
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    rlimits: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: SpecMount[];
  linux: {
    namespaces: { type: string; path?: string }[];
    cgroupsPath: string;
    resources: { devices: { allow: boolean; access: string; type?: string; major?: number; minor?: number }[] } & SpecResources;
    maskedPaths: string[];
    readonlyPaths: string[];
    seccomp: SeccompProfile;
  };
  /** Runtime-specific settings (crun's ready seccomp program, ./seccomp-bpf.ts). */
  annotations?: Record<string, string>;
}

export interface SpecInput {
  args: string[];
  env: string[];
  cwd: string;
  user: ResolvedUser;
  network: NetworkMode;
  hostname: string;
  /** Host files bind-mounted read-only as the container's /etc/hosts and /etc/resolv.conf. */
  hostsPath: string;
  resolvConfPath: string;
  cgroupsPath: string;
  /** The op's own mounts (bind, cache, tmpfs), already as runtime mounts. */
  extraMounts: SpecMount[];
  /** The build's resource limits, already fitted to the host (worker/exec/resources.ts fitLimits). */
  limits?: ResourceLimits;
  /** A prepared network namespace to join (the `sandbox` network, worker/net); absent: a new loopback-only one. */
  netnsPath?: string;
  /** RUN --security=insecure: every capability, no seccomp, no masked or read-only paths (BuildKit's privileged). */
  privileged?: boolean;
  /** The capabilities a privileged step gets; default allCapabilities (see ./capabilities.ts for the host's bounding set). */
  privilegedCapabilities?: string[];
}

export const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export const defaultCapabilities = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export const maskedPaths = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
  '/proc/interrupts',
];
export const readonlyPaths = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The env with a default PATH appended when the op sets none, as Docker does. */
export function withDefaultPath(env: readonly string[]): string[] {
  return env.some((e) => e.startsWith('PATH=')) ? [...env] : [...env, `PATH=${defaultPath}`];
}

/** Mount targets the runtime creates in the rootfs when missing: they must not end up in the layer. */
export function systemMounts(input: Pick<SpecInput, 'hostsPath' | 'resolvConfPath' | 'limits'>): SpecMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${Math.ceil((input.limits?.shmSize ?? defaultShmSize) / 1024)}k`] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    { destination: '/etc/hosts', type: 'bind', source: input.hostsPath, options: ['rbind', 'ro'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: input.resolvConfPath, options: ['rbind', 'ro'] },
  ];
}

export function createRuntimeSpec(input: SpecInput): RuntimeSpec {
  const namespaces: { type: string; path?: string }[] = [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }];
  // 'sandbox' joins a namespace prepared by worker/net (pasta: reaches what the host reaches);
  // 'none' gets a new one with only loopback (runc brings it up); 'host' shares the host's
  if (input.network !== 'host') namespaces.push(input.netnsPath ? { type: 'network', path: input.netnsPath } : { type: 'network' });
  const spec: RuntimeSpec = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: input.user,
      args: input.args,
      env: withDefaultPath(input.env),
      cwd: input.cwd || '/',
      capabilities: { bounding: defaultCapabilities, effective: defaultCapabilities, permitted: defaultCapabilities },
      // only --ulimit ones: the rest are inherited from us, as a build under dockerd inherits dockerd's
      rlimits: specRlimits(input.limits?.ulimits),
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: input.hostname,
    mounts: [...systemMounts(input), ...input.extraMounts],
    linux: {
      namespaces,
      cgroupsPath: input.cgroupsPath,
      // deny every device, then runc adds its default allow-list (null, zero, full, tty, random, urandom, pts)
      resources: { devices: [{ allow: false, access: 'rwm' }], ...specResources(input.limits ?? {}) },
      maskedPaths: [...maskedPaths, ...cpuThermalThrottlePaths()],
      readonlyPaths,
      // Docker's and BuildKit's sandbox has its default seccomp profile; so does ours (./seccomp-profile.ts)
      seccomp: createSeccompProfile(defaultCapabilities),
    },
  };
  return input.privileged ? privileged(spec, input.privilegedCapabilities ?? allCapabilities) : spec;
}

/** Every capability of Linux 5.9+, in bit order (CAP_CHECKPOINT_RESTORE is 40). */
export const allCapabilities = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD',
  'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** As BuildKit's `security.insecure` (oci.WithPrivileged): all capabilities, no seccomp filtering, nothing masked, /sys and cgroups writable, every device allowed. */
function privileged(spec: RuntimeSpec, caps: string[]): RuntimeSpec {
  return {
    ...spec,
    process: { ...spec.process, capabilities: { bounding: caps, effective: caps, permitted: caps } },
    mounts: spec.mounts.map((m) => (m.destination === '/sys' || m.destination === '/sys/fs/cgroup' ? { ...m, options: m.options.filter((o) => o !== 'ro') } : m)),
    linux: {
      ...spec.linux,
      resources: { ...spec.linux.resources, devices: [{ allow: true, access: 'rwm' }] },
      maskedPaths: [],
      readonlyPaths: [],
      // allows every call: the same as no filter (seccomp=unconfined), with the spec's shape kept
      seccomp: { defaultAction: 'SCMP_ACT_ALLOW', architectures: [], syscalls: [] },
    },
  };
}
