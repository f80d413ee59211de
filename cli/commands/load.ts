// `tsbuild load [-i FILE]` (also `tsbuild image load`): images from a docker archive or an OCI
// layout tar (plain or gzipped) into the local store, printing what `docker load` prints.
import type { Command } from 'commander';
import { ErrorCodes, invalid } from '../../src/errors/index.ts';
import { examples, withEngine } from '../engine-command.ts';

export function registerLoad(program: Command, name = 'load'): void {
  program
    .command(name)
    .description('load images from a tar archive (docker archive or OCI layout) into the local store')
    .option('-i, --input <file>', 'read this file instead of stdin')
    .option('-q, --quiet', 'print nothing')
    .addHelpText('after', examples('tsbuild load -i app.tar', 'tsbuild load < app.tar', 'docker save busybox | tsbuild load'))
    .action(async (flags: { input?: string; quiet?: boolean }, cmd: Command) => {
      const path = flags.input ?? '-';
      if (path === '-' && process.stdin.isTTY) {
        throw invalid(ErrorCodes.OPTION_INVALID, 'tsbuild load reads an archive from stdin, and stdin is a terminal', { hint: 'name the archive: tsbuild load -i app.tar' });
      }
      const loaded = await withEngine(cmd, (e) => e.load({ path, stdin: process.stdin }));
      if (flags.quiet) return;
      for (const image of loaded) {
        if (image.names.length === 0) process.stdout.write(`Loaded image ID: ${image.id}\n`);
        for (const n of image.names) process.stdout.write(`Loaded image: ${n}\n`);
      }
    });
}
