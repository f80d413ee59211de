import type { ImageSource } from '../../src/llb/index.ts';
import type { RunContext } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';
export async function unpackImage(_env: WorkerEnv, _op: ImageSource, _ctx: RunContext): Promise<string | undefined> {
  throw new Error('todo');
}
