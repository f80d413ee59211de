// `tsbuild save [-o FILE] IMAGE...` (also `tsbuild image save`): an image as a docker archive that
// `docker load` reads, or with `--format oci` an OCI layout tar (skopeo, umoci, `tsbuild load`).
// Without -o the archive goes to stdout, which must not be a terminal (as docker refuses too).
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { ErrorCodes, invalid } from '../../src/errors/index.ts';
import { StdioFailed, cancelOnSignals } from '../cancel.ts';
import { stdioFailure, whileWriting } from '../closed-pipe.ts';
import { examples, withEngine } from '../engine-command.ts';

export function registerSave(program: Command, name = 'save'): void {
  program
    .command(name)
    .description('write images from the local store to a tar archive')
    .argument('<image...>', 'names or ids; several images share one archive')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option('--format <format>', 'docker (docker load) or oci (an OCI image layout)', 'docker')
    .addHelpText('after', examples('tsbuild save -o app.tar app:latest', 'tsbuild save --format oci -o app-oci.tar app:latest', 'tsbuild save app:latest | gzip > app.tar.gz'))
    .action(async (images: string[], flags: { output?: string; format: string }, cmd: Command) => {
      if (flags.format !== 'docker' && flags.format !== 'oci') {
        throw invalid(ErrorCodes.OPTION_INVALID, `--format ${flags.format}: not an archive format`, { hint: 'docker (the default) or oci' });
      }
      const format = flags.format;
      const toStdout = flags.output === undefined || flags.output === '-';
      if (toStdout && process.stdout.isTTY) {
        throw invalid(ErrorCodes.OPTION_INVALID, 'refusing to write a tar archive to a terminal', { hint: 'name a file with -o app.tar, or redirect stdout' });
      }
      // Ctrl-C or SIGTERM stops the archive and removes what was written of it (a temp file beside
      // the archive, or the temp dir for stdout) before tsbuild exits, as a build's outputs do
      const cancel = cancelOnSignals({ what: 'save' });
      try {
        if (!toStdout) {
          await withEngine(cmd, (e) => e.save(images, { dest: flags.output!, format, signal: cancel.signal }));
          return;
        }
        // the exporter writes a file whole or not at all; stdout gets it once it is whole
        const dir = await mkdtemp(join(tmpdir(), 'tsbuild-save-'));
        // stdout failing (a closed pipe, a full disk) fails the copy, so the temp dir still goes
        let failed: StdioFailed | undefined;
        const stopWatching = whileWriting((stream, e) => void (failed ??= new StdioFailed(stdioFailure(stream, e), e.code === 'EPIPE')));
        try {
          const dest = join(dir, 'image.tar');
          await withEngine(cmd, (e) => e.save(images, { dest, format, signal: cancel.signal }));
          await pipeline(createReadStream(dest), process.stdout, { end: false, signal: cancel.signal }).catch((e: unknown) => {
            throw failed ?? e;
          });
        } finally {
          stopWatching();
          await rm(dir, { recursive: true, force: true });
        }
      } catch (e) {
        throw cancel.explain(e);
      } finally {
        cancel.dispose();
      }
    });
}
