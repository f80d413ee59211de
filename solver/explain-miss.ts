// Why a step runs although the cache index knows it: compares the parts of its key with the last
// result the same op made (solver/cache-index.ts similar()). One short phrase for the plan's `run`
// decision; the fuller explanations (which file, which build-arg) belong to issue 9.
import type { Vertex } from '../src/llb/index.ts';
import type { CacheReader, KeyParts } from './cache-index.ts';

export function createMissExplainer(cache: CacheReader, parts: ReadonlyMap<string, KeyParts>): (v: Vertex, key: string) => string | undefined {
  return (v, key) => {
    if (cache.recorded(key)) return 'its cached result was removed (no snapshot, no layer blobs left)';
    const mine = parts.get(v.digest);
    if (!mine) return undefined;
    const [last] = cache.similar(mine, 1);
    if (!last) return undefined;
    const input = mine.inputs.findIndex((k, i) => last.parts.inputs[i] !== k);
    if (input >= 0 || mine.inputs.length !== last.parts.inputs.length) return `a result exists for this step on another input (${describeInput(v, input)} changed)`;
    const content = mine.content.findIndex((c, i) => last.parts.content[i] !== c);
    if (content >= 0 || mine.content.length !== last.parts.content.length) return 'a result exists for this step with other content (what it reads from the context or a remote source changed)';
    return undefined;
  };
}

function describeInput(v: Vertex, index: number): string {
  const input = index >= 0 ? v.inputs[index] : undefined;
  return input ? `"${input.meta.name}"` : 'an earlier step';
}
