// Opening the engine for one image command and closing it whatever happens.
import type { Command } from 'commander';
import { openEngine, resolveStateRoot, type Engine } from '../control/index.ts';
import { formatError } from './format-error.ts';

export async function withEngine<T>(cmd: Command, work: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await openEngine({ root: resolveStateRoot((cmd.optsWithGlobals() as { root?: string }).root) });
  try {
    return await work(engine);
  } finally {
    await engine.close();
  }
}

/** Examples under `--help`, as docker's help pages show them. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}\n`).join('')}`;
}

/**
 * Runs `work` for each image on one engine, going on past a failure as docker does, then reports
 * what failed: every error but the last on stderr, the last thrown (main prints it and exits 1).
 */
export async function forEachImage(cmd: Command, images: readonly string[], work: (engine: Engine, image: string) => Promise<void>, after?: () => void): Promise<void> {
  const errors: unknown[] = [];
  await withEngine(cmd, async (engine) => {
    for (const image of images) {
      try {
        await work(engine, image);
      } catch (e) {
        errors.push(e);
      }
    }
  });
  after?.();
  for (const e of errors.slice(0, -1)) process.stderr.write(formatError(e));
  if (errors.length > 0) throw errors.at(-1);
}
