// `tsbuild push NAME` (also `tsbuild image push`): a stored image to the registry its name names,
// printing what `docker push` prints when it is done.
import type { Command } from 'commander';
import { pushFromRoot, resolveStateRoot } from '../../control/index.ts';
import { examples } from '../engine-command.ts';
import { collect } from '../repeatable.ts';

export function registerPush(program: Command, name = 'push'): void {
  program
    .command(name)
    .description('push an image from the local store to its registry')
    .argument('<name>', '[REGISTRY/]NAME[:TAG]; tag it first (tsbuild tag) to push under another name')
    .option('-q, --quiet', 'print only the pushed reference')
    .option('--insecure-registry <host>', 'allow plain HTTP to this registry (repeatable; loopback always may)', collect)
    .addHelpText('after', examples('tsbuild tag app:latest registry.example.com/team/app:1.0', 'tsbuild push registry.example.com/team/app:1.0'))
    .action(async (ref: string, flags: { quiet?: boolean; insecureRegistry?: string[] }, cmd: Command) => {
      // the stores only: a push needs no worker (control/push-from-root.ts)
      const root = resolveStateRoot((cmd.optsWithGlobals() as { root?: string }).root);
      const r = await pushFromRoot(root, ref, { insecureRegistries: flags.insecureRegistry ?? [], exiting: true });
      if (flags.quiet) {
        process.stdout.write(`${r.ref}\n`);
        return;
      }
      const repo = r.ref.slice(0, r.ref.length - r.tag.length - 1);
      process.stdout.write(`The push refers to repository [${repo}]\n${r.tag}: digest: ${r.digest} size: ${r.size}\n`);
    });
}
