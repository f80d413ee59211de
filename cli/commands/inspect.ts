// `tsbuild inspect IMAGE...` (also `tsbuild image inspect`): stored images as `docker image inspect`
// prints them, a JSON array; `--format` takes a Go template or `json`. An image that is not there
// is named on stderr after the others are printed, and the exit code is 1, as docker does.
import type { Command } from 'commander';
import type { ImageInspect } from '../../control/index.ts';
import { examples, forEachImage } from '../engine-command.ts';
import { formatItems } from '../go-template.ts';

export function registerInspect(program: Command, name = 'inspect'): void {
  program
    .command(name)
    .description('show the details of images in the local store as JSON')
    .argument('<image...>', 'names or ids')
    .option('-f, --format <format>', 'json, or a Go template such as "{{.Id}}" or "{{json .Config}}"')
    .addHelpText('after', examples('tsbuild inspect app:latest', "tsbuild inspect --format '{{.Id}}' app", "tsbuild inspect --format '{{json .Config.Env}}' app"))
    .action(async (images: string[], flags: { format?: string }, cmd: Command) => {
      const found: ImageInspect[] = [];
      // what was found is printed before the errors, as docker does
      await forEachImage(cmd, images, async (engine, image) => void found.push(await engine.inspect(image)), () => {
        process.stdout.write(flags.format === undefined || flags.format === 'json' ? `${JSON.stringify(found, null, 4)}\n` : formatItems(found, flags.format));
      });
    });
}
