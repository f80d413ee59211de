// `tsbuild rmi IMAGE...` (also `tsbuild image rm`): as `docker rmi`, a name is untagged, and the
// image goes with its last name; an id that several names share is refused unless -f. Each image
// is tried; the ones that fail are reported after, with exit code 1.
import type { Command } from 'commander';
import { examples, forEachImage } from '../engine-command.ts';

export function registerRmi(program: Command, name = 'rmi'): void {
  program
    .command(name)
    .description('remove images from the local store (their blobs go with the next prune)')
    .argument('<image...>', 'names or ids')
    .option('-f, --force', 'remove an image by id even when several names use it')
    .addHelpText('after', examples('tsbuild rmi app:1.0', 'tsbuild rmi -f 0e5574283393', 'tsbuild image rm app'))
    .action(async (images: string[], flags: { force?: boolean }, cmd: Command) => {
      await forEachImage(cmd, images, async (engine, image) => {
        const r = await engine.removeImage(image, { force: flags.force ?? false });
        for (const n of r.untagged) process.stdout.write(`Untagged: ${n}\n`);
        if (r.deleted) process.stdout.write(`Deleted: ${r.deleted}\n`);
      });
    });
}
