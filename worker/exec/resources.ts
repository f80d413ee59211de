// A build's resource limits as the OCI runtime spec says them (linux.resources, process.rlimits,
// the size of /dev/shm), fitted to what the host's cgroups can enforce, and the sentence a failed
// step gets when a limit stopped it. Pure: tested without root.
import { ErrorCodes, unavailable } from '../../src/errors/index.ts';
import { formatSize, type ResourceLimits, type Ulimit } from '../../src/limits/index.ts';
import type { CgroupEvents, CgroupLayout } from './cgroups.ts';

export interface SpecResources {
  memory?: { limit: number; swap?: number };
  cpu?: { shares?: number; quota?: number; period?: number };
  pids?: { limit: number };
}

export interface SpecRlimit {
  type: string;
  /** -1 is unlimited (RLIM_INFINITY); see specJson. */
  hard: number;
  soft: number;
}

/** Docker's CFS period for --cpus: 100 ms. */
export const defaultCpuPeriod = 100_000;
/** Docker's /dev/shm: 64 MiB. */
export const defaultShmSize = 64 * 1024 * 1024;

/** linux.resources for the limits (devices are the spec's own business). */
export function specResources(limits: ResourceLimits): SpecResources {
  const out: SpecResources = {};
  if (limits.memory !== undefined) {
    out.memory = { limit: limits.memory };
    if (limits.memorySwap !== undefined) out.memory.swap = limits.memorySwap;
  }
  const cpu: NonNullable<SpecResources['cpu']> = {};
  if (limits.cpuShares !== undefined) cpu.shares = limits.cpuShares;
  if (limits.cpus !== undefined) {
    // docker's NanoCPUs: the quota is that many periods' worth of time per period
    cpu.period = defaultCpuPeriod;
    cpu.quota = Math.round(limits.cpus * defaultCpuPeriod);
  }
  if (limits.cpuQuota !== undefined) cpu.quota = limits.cpuQuota;
  if (limits.cpuPeriod !== undefined) cpu.period = limits.cpuPeriod;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  if (limits.pidsLimit !== undefined) out.pids = { limit: limits.pidsLimit };
  return out;
}

/** process.rlimits: `nofile` → RLIMIT_NOFILE. Unset ones are inherited, as under dockerd. */
export function specRlimits(ulimits: readonly Ulimit[] = []): SpecRlimit[] {
  return ulimits.map((u) => ({ type: `RLIMIT_${u.name.toUpperCase()}`, hard: u.hard, soft: u.soft }));
}

/**
 * The limits this host enforces: a limit whose controller is missing is an error (silently not
 * limiting would be worse), swap without swap accounting is dropped as docker drops it, and
 * --memory alone allows as much swap again, as docker does.
 */
export function fitLimits(limits: ResourceLimits, layout: CgroupLayout): ResourceLimits {
  const need = (controller: string, flag: string) => {
    if (!layout.controllers.has(controller)) {
      throw unavailable(ErrorCodes.RUNTIME_UNAVAILABLE, `${flag} cannot be enforced: this host has no ${controller} cgroup controller (cgroups ${layout.mode})`, {
        hint: `enable the ${controller} controller, or build without ${flag}`,
      });
    }
  };
  if (limits.memory !== undefined) need('memory', '--memory');
  if (limits.cpus !== undefined || limits.cpuQuota !== undefined || limits.cpuPeriod !== undefined || limits.cpuShares !== undefined) need('cpu', '--cpus/--cpu-*');
  if (limits.pidsLimit !== undefined) need('pids', '--pids-limit');
  if (limits.memory === undefined) return limits;
  const { memorySwap: _, ...rest } = limits;
  if (!layout.swapLimit) return rest;
  return { ...rest, memorySwap: limits.memorySwap ?? limits.memory * 2 };
}

/** Why a step that failed was stopped by a limit, or undefined when no limit was hit. */
export function limitFailure(events: CgroupEvents | undefined, limits: ResourceLimits): string | undefined {
  if (!events) return undefined;
  if (events.oomKills > 0) return `killed: out of memory${limits.memory !== undefined ? ` (limit ${formatSize(limits.memory)})` : ''}`;
  if (events.pidsLimitHits > 0) {
    return `a new process could not start: the step reached its limit of ${limits.pidsLimit ?? '?'} processes (--pids-limit)`;
  }
  return undefined;
}

/** What to try when a limit stopped a step. */
export function limitHint(events: CgroupEvents): string {
  return events.oomKills > 0 ? 'give the build more memory with --memory (and --memory-swap), or make the step use less' : 'raise --pids-limit, or make the step start fewer processes or threads';
}

const rlimInfinity = '18446744073709551615';
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** The spec as config.json text: an unlimited rlimit (-1) becomes RLIM_INFINITY, which a JS number cannot hold. */
export function specJson(spec: unknown): string {
  return JSON.stringify(spec, (key, value: unknown) =>
    key === 'rlimits' && Array.isArray(value)
      ? (value as SpecRlimit[]).map((r) => ({ type: r.type, hard: r.hard === -1 ? rawJSON(rlimInfinity) : r.hard, soft: r.soft === -1 ? rawJSON(rlimInfinity) : r.soft }))
      : value,
  );
}
