// `tsbuild images`: the tagged images in the local store, like `docker images`.
import type { Command } from 'commander';
import { openEngine, resolveStateRoot } from '../../control/index.ts';
import { ago, columns, humanSize } from '../human.ts';

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
      process.stdout.write(columns([['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], ...rows.map((r) => [r.repository, r.tag, r.imageId.slice(7, 19), ago(r.created), humanSize(r.size)])]));
    });
}

