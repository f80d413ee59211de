// Resource limits for every RUN of a build, in docker build's syntax (`--memory 256m`, `--cpus 1.5`,
// `--ulimit nofile=1024:2048`), parsed once here into typed values. They are inputs of the exec,
// never of its cache key: the same step under other limits gives the same files.
import { ErrorCodes, invalid } from '../errors/index.ts';

/** The rlimit names docker's `--ulimit` accepts (go-units), each the RLIMIT_ of its upper case. */
export const UlimitNames = [
  'as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack',
] as const;
export type UlimitName = (typeof UlimitNames)[number];

export interface Ulimit {
  name: UlimitName;
  /** -1 is unlimited. */
  soft: number;
  hard: number;
}

/** Limits of one build, all optional: what is unset is not limited (beyond the host's own). */
export interface ResourceLimits {
  /** Bytes of memory (`--memory`). */
  readonly memory?: number;
  /** Bytes of memory plus swap (`--memory-swap`), -1 for unlimited swap. */
  readonly memorySwap?: number;
  /** CPUs' worth of time (`--cpus 1.5`); exclusive with cpuQuota/cpuPeriod, as in docker. */
  readonly cpus?: number;
  /** CFS quota and period in microseconds (`--cpu-quota`, `--cpu-period`). */
  readonly cpuQuota?: number;
  readonly cpuPeriod?: number;
  /** Relative CPU weight (`--cpu-shares`, 1024 is the default share). */
  readonly cpuShares?: number;
  /** Most processes and threads at once (`--pids-limit`). */
  readonly pidsLimit?: number;
  /** Size of /dev/shm in bytes (`--shm-size`, default 64 MiB as docker's). */
  readonly shmSize?: number;
  readonly ulimits?: readonly Ulimit[];
}

const units: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/**
 * `256m`, `1g`, `1.5GiB`, `65536` → bytes, as docker's RAMInBytes: binary units, case-insensitive,
 * an optional trailing `b` or `ib`. `what` names the flag in the error.
 */
export function parseSize(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$/i.exec(text);
  if (!m || (m[3] && !m[2] && m[3].toLowerCase() === 'ib')) {
    throw invalid(ErrorCodes.OPTION_INVALID, `invalid ${what} "${text}": expected a size such as 512m or 2g`, { hint: 'units: b, k, m, g, t (powers of 1024)' });
  }
  const bytes = Math.floor(Number(m[1]) * units[m[2].toLowerCase()]);
  if (!Number.isSafeInteger(bytes)) throw invalid(ErrorCodes.OPTION_INVALID, `invalid ${what} "${text}": too large`);
  return bytes;
}

/** 268435456 → `256 MiB`, 1610612736 → `1.5 GiB`: how messages show a size. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(2))} ${unit}`;
  }
  return `${bytes} B`;
}

/** A whole number for a flag such as --cpu-shares; `min` says what the flag allows. */
export function parseInteger(text: string, what: string, min: number): number {
  const n = /^\s*-?\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw invalid(ErrorCodes.OPTION_INVALID, `invalid ${what} "${text}": expected a whole number of at least ${min}`);
  return n;
}

/** `--cpus 1.5` → 1.5; more than 0, at most two decimals as docker shows them. */
export function parseCpus(text: string): number {
  const n = /^\s*\d*\.?\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!(n > 0)) throw invalid(ErrorCodes.OPTION_INVALID, `invalid --cpus "${text}": expected a number of CPUs greater than 0, such as 1.5`);
  return n;
}

/** `--memory-swap`: a size, or -1 for unlimited swap. */
export function parseMemorySwap(text: string): number {
  return text.trim() === '-1' ? -1 : parseSize(text, '--memory-swap');
}

/** `--pids-limit`: a positive count; 0 and -1 mean unlimited, as in docker (returned as undefined). */
export function parsePidsLimit(text: string): number | undefined {
  const n = parseInteger(text, '--pids-limit', -1);
  return n <= 0 ? undefined : n;
}

/** `nofile=1024:2048`, `nproc=512`, `memlock=-1` (docker's --ulimit syntax). */
export function parseUlimit(text: string): Ulimit {
  const eq = text.indexOf('=');
  const name = text.slice(0, eq).trim().toLowerCase();
  if (eq <= 0) throw invalid(ErrorCodes.OPTION_INVALID, `invalid --ulimit "${text}": expected name=soft[:hard]`, { hint: 'e.g. --ulimit nofile=1024:2048' });
  if (!(UlimitNames as readonly string[]).includes(name)) {
    throw invalid(ErrorCodes.OPTION_INVALID, `invalid --ulimit "${text}": unknown limit "${name}"`, { hint: `one of ${UlimitNames.join(', ')}` });
  }
  const parts = text.slice(eq + 1).split(':');
  if (parts.length > 2) throw invalid(ErrorCodes.OPTION_INVALID, `invalid --ulimit "${text}": expected name=soft[:hard]`);
  const value = (v: string) => {
    if (v.trim() === 'unlimited') return -1;
    const n = /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < -1) throw invalid(ErrorCodes.OPTION_INVALID, `invalid --ulimit "${text}": "${v}" is not a whole number or -1 (unlimited)`);
    return n;
  };
  const soft = value(parts[0]);
  const hard = parts.length > 1 ? value(parts[1]) : soft;
  if (hard !== -1 && (soft === -1 || soft > hard)) {
    throw invalid(ErrorCodes.OPTION_INVALID, `invalid --ulimit "${text}": the soft limit ${soft === -1 ? 'unlimited' : soft} is above the hard limit ${hard}`);
  }
  if (name === 'nofile' && (soft === -1 || hard === -1)) {
    // setrlimit refuses more open files than fs.nr_open, and unlimited is more
    throw invalid(ErrorCodes.OPTION_INVALID, `invalid --ulimit "${text}": nofile cannot be unlimited`, { hint: 'give a number, at most the host\'s fs.nr_open (often 1048576)' });
  }
  return { name: name as UlimitName, soft, hard };
}

/** The limits as docker build's flags would be written, per field; what the CLI and the config file give. */
export interface LimitFlags {
  memory?: string;
  memorySwap?: string;
  cpus?: string;
  cpuQuota?: string;
  cpuPeriod?: string;
  cpuShares?: string;
  pidsLimit?: string;
  shmSize?: string;
  ulimits?: readonly string[];
}

/**
 * Parses and checks one set of flags; docker's rules: at least 6 MiB of memory, --memory-swap only
 * with --memory and not below it, --cpus not with --cpu-quota or --cpu-period. `cpuCount` bounds --cpus.
 */
export function parseLimits(f: LimitFlags, cpuCount: number): ResourceLimits {
  const memory = f.memory === undefined ? undefined : parseSize(f.memory, '--memory');
  if (memory !== undefined && memory < 6 * 1024 ** 2) {
    throw invalid(ErrorCodes.OPTION_INVALID, `--memory ${f.memory} is too small: the least is 6m`);
  }
  const memorySwap = f.memorySwap === undefined ? undefined : parseMemorySwap(f.memorySwap);
  if (memorySwap !== undefined) {
    if (memory === undefined) throw invalid(ErrorCodes.OPTION_INVALID, '--memory-swap needs --memory', { hint: '--memory-swap is memory plus swap, e.g. --memory 256m --memory-swap 1g' });
    if (memorySwap !== -1 && memorySwap < memory) {
      throw invalid(ErrorCodes.OPTION_INVALID, `--memory-swap ${f.memorySwap} is less than --memory ${f.memory}`, { hint: '--memory-swap is memory plus swap; -1 allows unlimited swap' });
    }
  }
  const cpus = f.cpus === undefined ? undefined : parseCpus(f.cpus);
  if (cpus !== undefined && cpus > cpuCount) {
    throw invalid(ErrorCodes.OPTION_INVALID, `--cpus ${f.cpus} is more than the ${cpuCount} CPUs available`, { hint: `use a number from 0.01 to ${cpuCount}` });
  }
  const cpuQuota = f.cpuQuota === undefined ? undefined : parseInteger(f.cpuQuota, '--cpu-quota', 1000);
  const cpuPeriod = f.cpuPeriod === undefined ? undefined : parseInteger(f.cpuPeriod, '--cpu-period', 1000);
  if (cpuPeriod !== undefined && cpuPeriod > 1_000_000) throw invalid(ErrorCodes.OPTION_INVALID, `--cpu-period ${f.cpuPeriod} is more than 1000000 (1 s)`);
  if (cpus !== undefined && (cpuQuota !== undefined || cpuPeriod !== undefined)) {
    throw invalid(ErrorCodes.OPTION_INVALID, '--cpus cannot be combined with --cpu-quota or --cpu-period', { hint: '--cpus 1.5 is --cpu-period 100000 --cpu-quota 150000' });
  }
  const cpuShares = f.cpuShares === undefined ? undefined : parseInteger(f.cpuShares, '--cpu-shares', 2);
  const pidsLimit = f.pidsLimit === undefined ? undefined : parsePidsLimit(f.pidsLimit);
  const shmSize = f.shmSize === undefined ? undefined : parseSize(f.shmSize, '--shm-size');
  if (shmSize === 0) throw invalid(ErrorCodes.OPTION_INVALID, '--shm-size must be more than 0');
  // a later --ulimit for the same name wins, as in docker
  const ulimits = new Map((f.ulimits ?? []).map(parseUlimit).map((u) => [u.name, u]));
  const out: { -readonly [K in keyof ResourceLimits]: ResourceLimits[K] } = {};
  if (memory !== undefined) out.memory = memory;
  if (memorySwap !== undefined) out.memorySwap = memorySwap;
  if (cpus !== undefined) out.cpus = cpus;
  if (cpuQuota !== undefined) out.cpuQuota = cpuQuota;
  if (cpuPeriod !== undefined) out.cpuPeriod = cpuPeriod;
  if (cpuShares !== undefined) out.cpuShares = cpuShares;
  if (pidsLimit !== undefined) out.pidsLimit = pidsLimit;
  if (shmSize !== undefined) out.shmSize = shmSize;
  if (ulimits.size > 0) out.ulimits = [...ulimits.values()];
  return Object.freeze(out);
}

/**
 * The config file's limits with the command line's on top, field by field. A group set on the
 * command line replaces the config's whole group, so `--cpu-quota` is not refused for a `cpus` in
 * the config, nor an old `memory-swap` kept below a new `--memory`; ulimits merge by name.
 */
export function mergeLimitFlags(config: LimitFlags, cli: LimitFlags): LimitFlags {
  const out: LimitFlags = { ...config };
  const cpuGroup = ['cpus', 'cpuQuota', 'cpuPeriod'] as const;
  const memoryGroup = ['memory', 'memorySwap'] as const;
  for (const group of [cpuGroup, memoryGroup]) {
    if (group.some((k) => cli[k] !== undefined)) for (const k of group) delete out[k];
  }
  for (const [k, v] of Object.entries(cli) as [keyof LimitFlags, LimitFlags[keyof LimitFlags]][]) {
    if (v !== undefined && k !== 'ulimits') (out as Record<string, unknown>)[k] = v;
  }
  out.ulimits = [...(config.ulimits ?? []), ...(cli.ulimits ?? [])];
  return out;
}
