// Opening the engine for one image command and closing it whatever happens.
import type { Command } from 'commander';
import { openEngine, resolveStateRoot, type Engine } from '../control/index.ts';

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
