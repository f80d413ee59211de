// `tsbuild tag SOURCE TARGET` (also `tsbuild image tag`): TARGET names SOURCE's image, as `docker tag`.
import type { Command } from 'commander';
import { examples, withEngine } from '../engine-command.ts';

export function registerTag(program: Command, name = 'tag'): void {
  program
    .command(name)
    .description('give an image in the local store another name')
    .argument('<source>', 'the image: a name or id')
    .argument('<target>', 'the new name: [REGISTRY/]NAME[:TAG]')
    .addHelpText('after', examples('tsbuild tag app:latest app:1.0', 'tsbuild tag 0e5574283393 127.0.0.1:5000/app:1.0'))
    .action(async (source: string, target: string, _flags: object, cmd: Command) => {
      await withEngine(cmd, (e) => e.tag(source, target));
    });
}
