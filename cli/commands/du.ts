// `tsbuild du [--verbose]`: what the state root holds, as `docker buildx du` shows it: one line per
// record (snapshot, blob, cache mount), then the totals, which count everything below the root.
import type { Command } from 'commander';
import { openEngine, resolveStateRoot, type DuRecord, type DuReport } from '../../control/index.ts';
import { ago, columns, humanSize } from '../human.ts';

export function registerDu(program: Command): void {
  program
    .command('du')
    .description('show the disk usage of the build cache and everything else the state root holds')
    .option('--verbose', 'every field of every record')
    .action(async (flags: { verbose?: boolean }, cmd: Command) => {
      const engine = await openEngine({ root: resolveStateRoot((cmd.optsWithGlobals() as { root?: string }).root) });
      const report = await engine.du().finally(() => engine.close());
      process.stdout.write(formatDu(report, { verbose: flags.verbose ?? false }));
    });
}

const types: Record<DuRecord['kind'], string> = { snapshot: 'regular', blob: 'blob', 'cache-mount': 'exec.cachemount' };

export function formatDu(report: DuReport, opts: { verbose: boolean; now?: number }): string {
  const now = opts.now ?? Date.now();
  let out = '';
  if (opts.verbose) {
    for (const r of report.records) {
      const fields: [string, string][] = [
        ['ID', r.id],
        ...(r.parent !== undefined ? [['Parent', r.parent] as [string, string]] : []),
        ...(r.created !== undefined ? [['Created at', new Date(r.created).toISOString()] as [string, string]] : []),
        ['Reclaimable', String(!r.inUse)],
        ['Shared', String(r.shared)],
        ['Size', humanSize(r.size)],
        ['Description', r.description],
        ['Usage count', String(r.usageCount)],
        ...(r.lastUsed !== undefined ? [['Last used', ago(r.lastUsed, now)] as [string, string]] : []),
        ['Type', types[r.kind]],
      ];
      out += fields.map(([k, v]) => `${`${k}:`.padEnd(14)}${v}\n`).join('') + '\n';
    }
  } else if (report.records.length > 0) {
    out += columns([
      ['ID', 'RECLAIMABLE', 'SHARED', 'SIZE', 'LAST ACCESSED', 'DESCRIPTION'],
      ...report.records.map((r) => [shortId(r.id), String(!r.inUse), String(r.shared), humanSize(r.size), r.lastUsed === undefined ? '' : ago(r.lastUsed, now), r.description]),
    ]);
  }
  const totals: [string, number][] = [
    ['Shared', report.shared],
    ['Private', report.private],
    ['Reclaimable', report.reclaimable],
    ['Database', report.other.database],
    ['Step logs', report.other.logs],
    ['Temporary', report.other.tmp],
    ['Other', report.other.other],
    ['Total', report.total],
  ];
  out += totals.map(([k, v]) => `${`${k}:`.padEnd(14)}${humanSize(v)}\n`).join('');
  return out;
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 25);
}
