// `tsbuild images`: the tagged images in the local store, like `docker images`.
import type { Command } from 'commander';
import { openEngine, resolveStateRoot } from '../../control/index.ts';

export function registerImages(program: Command): void {
  program
    .command('images')
    .description('list the images in the local store')
    .option('-q, --quiet', 'print only image ids')
    .action(async (flags: { quiet?: boolean }, cmd: Command) => {
      const engine = await openEngine({ root: resolveStateRoot((cmd.optsWithGlobals() as { root?: string }).root) });
      const rows = await engine.images().finally(() => engine.close());
      if (flags.quiet) {
        for (const r of rows) process.stdout.write(`${r.imageId.slice(7, 19)}\n`);
        return;
      }
      const table = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], ...rows.map((r) => [r.repository, r.tag, r.imageId.slice(7, 19), ago(r.created), humanSize(r.size)])];
      const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
      for (const row of table) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i])).join('   ').trimEnd()}\n`);
    });
}

function ago(ms: number): string {
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 60) return 'Less than a minute ago';
  if (s < 3600) return `${Math.round(s / 60)} minutes ago`;
  if (s < 86400) return `${Math.round(s / 3600)} hours ago`;
  return `${Math.round(s / 86400)} days ago`;
}

function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 && i > 0 ? v.toFixed(2) : v < 100 && i > 0 ? v.toFixed(1) : Math.round(v)}${units[i]}`;
}
