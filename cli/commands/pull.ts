// `tsbuild pull NAME` (also `tsbuild image pull`): an image from its registry into the local store,
// printing what `docker pull` prints.
import type { Command } from 'commander';
import { parsePlatform } from '../../control/index.ts';
import { examples, withEngine } from '../engine-command.ts';
import { collect } from '../repeatable.ts';

export function registerPull(program: Command, name = 'pull'): void {
  program
    .command(name)
    .description('pull an image from its registry into the local store')
    .argument('<name>', '[REGISTRY/]NAME[:TAG|@DIGEST]')
    .option('--platform <os/arch>', 'the platform to pull (default linux/amd64)')
    .option('-q, --quiet', 'print only the pulled reference')
    .option('--insecure-registry <host>', 'allow plain HTTP to this registry (repeatable; loopback always may)', collect)
    .addHelpText('after', examples('tsbuild pull busybox', 'tsbuild pull 127.0.0.1:5000/app:1.0', 'tsbuild pull --platform linux/arm64 alpine:3.20'))
    .action(async (ref: string, flags: { platform?: string; quiet?: boolean; insecureRegistry?: string[] }, cmd: Command) => {
      const platform = flags.platform === undefined ? undefined : parsePlatform(flags.platform);
      const r = await withEngine(cmd, (e) => e.pull(ref, { platform, insecureRegistries: flags.insecureRegistry ?? [] }));
      if (!flags.quiet) {
        process.stdout.write(`Digest: ${r.digest}\n`);
        process.stdout.write(r.changed ? `Status: Downloaded newer image for ${ref}\n` : `Status: Image is up to date for ${ref}\n`);
      }
      process.stdout.write(`${r.ref}\n`);
    });
}
