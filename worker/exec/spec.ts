// The OCI runtime-spec config.json for one exec, built as plain data from what the op asks for.
// Pure (but for the host's CPU list, read once for the masked paths), so every sandbox property is unit-tested without root.
// Defaults follow Docker's (moby/oci/defaults.go): capability set, masked and read-only paths,
// /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, read-only /sys and cgroups, and a seccomp profile.
import type { NetworkMode } from '../../src/llb/index.ts';
import { createSeccompProfile, type SeccompProfile } from './seccomp-profile.ts';
import { cpuThermalThrottlePaths } from './host-masked-paths.ts';
import type { ResolvedUser } from './user.ts';

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
    namespaces: { type: string }[];
    cgroupsPath: string;
    resources: { devices: { allow: boolean; access: string; type?: string; major?: number; minor?: number }[] };
    maskedPaths: string[];
    readonlyPaths: string[];
    seccomp: SeccompProfile;
  };
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
export function systemMounts(input: Pick<SpecInput, 'hostsPath' | 'resolvConfPath'>): SpecMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    { destination: '/etc/hosts', type: 'bind', source: input.hostsPath, options: ['rbind', 'ro'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: input.resolvConfPath, options: ['rbind', 'ro'] },
  ];
}

export function createRuntimeSpec(input: SpecInput): RuntimeSpec {
  const namespaces = [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }];
  // 'none' and 'sandbox' both get a private network namespace with only loopback (runc brings it
  // up); giving 'sandbox' a bridge with outbound access is a later issue.
  if (input.network !== 'host') namespaces.push({ type: 'network' });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: input.user,
      args: input.args,
      env: withDefaultPath(input.env),
      cwd: input.cwd || '/',
      capabilities: { bounding: defaultCapabilities, effective: defaultCapabilities, permitted: defaultCapabilities },
      // no rlimits: the process inherits ours, as a build under dockerd inherits dockerd's
      rlimits: [],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: input.hostname,
    mounts: [...systemMounts(input), ...input.extraMounts],
    linux: {
      namespaces,
      cgroupsPath: input.cgroupsPath,
      // deny every device, then runc adds its default allow-list (null, zero, full, tty, random, urandom, pts)
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      maskedPaths: [...maskedPaths, ...cpuThermalThrottlePaths()],
      readonlyPaths,
      // Docker's and BuildKit's sandbox has its default seccomp profile; so does ours (./seccomp-profile.ts)
      seccomp: createSeccompProfile(defaultCapabilities),
    },
  };
}
