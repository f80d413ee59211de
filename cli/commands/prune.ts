// `tsbuild prune [-a] [--keep-storage SIZE] [--filter until=DURATION] [-f]`, as `docker builder
// prune`: removes build cache nothing holds, least recently used first, and prints what it freed.
// Without -f it asks first, and refuses when it cannot ask (stdin is not a terminal).
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { openEngine, resolveStateRoot, type PruneOptions, type PruneResult } from '../../control/index.ts';
import { ErrorCodes, TsbuildError, invalid } from '../../src/errors/index.ts';
import { parseSize } from '../../src/limits/index.ts';
import { humanSize } from '../human.ts';
import { collect } from '../repeatable.ts';

interface PruneFlags {
  all?: boolean;
  keepStorage?: string;
  filter?: string[];
  force?: boolean;
  verbose?: boolean;
}

export function registerPrune(program: Command): void {
  program
    .command('prune')
    .description('remove build cache that no tag or running build uses')
    .option('-a, --all', 'also the cache that rebuilding tagged images uses, and cache mounts')
    .option('--keep-storage <size>', 'remove least recently used cache until the state root holds at most this (e.g. 10GB)')
    .option('--filter <filter>', 'only cache last used longer ago than a duration: until=24h (repeatable)', collect)
    .option('-f, --force', 'do not ask for confirmation')
    .option('--verbose', 'list every record removed')
    .action(async (flags: PruneFlags, cmd: Command) => {
      const opts = parsePruneFlags(flags);
      if (!flags.force && !(await confirm(flags.all ?? false))) return;
      const engine = await openEngine({ root: resolveStateRoot((cmd.optsWithGlobals() as { root?: string }).root) });
      const result = await engine.prune(opts).finally(() => engine.close());
      process.stdout.write(formatPrune(result, { verbose: flags.verbose ?? false }));
    });
}

export function parsePruneFlags(flags: PruneFlags): PruneOptions {
  const opts: PruneOptions = { all: flags.all ?? false };
  if (flags.keepStorage !== undefined) opts.keepStorage = parseSize(flags.keepStorage, '--keep-storage');
  for (const f of flags.filter ?? []) {
    const eq = f.indexOf('=');
    const key = eq < 0 ? f : f.slice(0, eq);
    if (key !== 'until') throw invalid(ErrorCodes.OPTION_INVALID, `--filter ${f}: unknown filter "${key}"`, { hint: 'tsbuild prune knows until=DURATION, e.g. --filter until=24h' });
    opts.until = parseDuration(f.slice(eq + 1), `--filter ${f}`);
  }
  return opts;
}

const durationUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A Go duration (`24h`, `1h30m`, `90s`; also `7d`) in ms. */
export function parseDuration(text: string, what: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g)];
  if (text === '' || parts.map((p) => p[0]).join('') !== text) {
    throw invalid(ErrorCodes.OPTION_INVALID, `${what}: "${text}" is not a duration`, { hint: 'a duration such as 24h, 1h30m, 90s or 7d' });
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * durationUnits[p[2]], 0);
}

async function confirm(all: boolean): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new TsbuildError('tsbuild prune: not asking for confirmation: stdin is not a terminal', {
      code: ErrorCodes.OPTION_INVALID,
      kind: 'precondition',
      hint: 'pass -f (--force) to prune without asking',
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`WARNING! This will remove all ${all ? '' : 'dangling '}build cache. Are you sure you want to continue? [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export function formatPrune(result: PruneResult, opts: { verbose: boolean }): string {
  let out = '';
  const shown = opts.verbose ? result.removed : result.removed.filter((r) => r.kind !== 'log');
  if (shown.length > 0) out += `Deleted build cache objects:\n${shown.map((r) => `${r.id.replace(/^sha256:/, '')}${opts.verbose ? `\t${r.kind}\t${humanSize(r.size)}` : ''}\n`).join('')}\n`;
  if (result.cacheMountsKept) out += `Cache mounts kept: ${result.cacheMountsKept}\n`;
  out += `Total reclaimed space: ${humanSize(result.freed)}\n`;
  return out;
}
