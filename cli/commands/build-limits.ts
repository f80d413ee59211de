// `tsbuild build`'s resource-limit flags over the config file's [limits] table, parsed into typed
// limits (src/limits) at the command line's edge.
import { availableParallelism } from 'node:os';
import type { Config } from '../../control/index.ts';
import { ErrorCodes, invalid, isTsbuildError } from '../../src/errors/index.ts';
import { mergeLimitFlags, parseLimits, type LimitFlags, type ResourceLimits } from '../../src/limits/index.ts';

export function resolveLimits(flags: Record<string, unknown>, config: Config): ResourceLimits {
  const str = (v: unknown) => (v === undefined ? undefined : String(v));
  const cli: LimitFlags = {
    memory: str(flags.memory),
    memorySwap: str(flags.memorySwap),
    cpus: str(flags.cpus),
    cpuQuota: str(flags.cpuQuota),
    cpuPeriod: str(flags.cpuPeriod),
    cpuShares: str(flags.cpuShares),
    pidsLimit: str(flags.pidsLimit),
    shmSize: str(flags.shmSize),
    ulimits: flags.ulimit as string[] | undefined,
  };
  // a bad value in the file is named with the file, not as a flag the user never typed
  try {
    parseLimits(config.limits, availableParallelism());
  } catch (e) {
    if (!isTsbuildError(e)) throw e;
    throw invalid(ErrorCodes.CONFIG_INVALID, `${config.path}: [limits]: ${e.message.replace(/--([a-z-]+)/g, '$1')}`, { hint: e.hint });
  }
  return parseLimits(mergeLimitFlags(config.limits, cli), availableParallelism());
}
