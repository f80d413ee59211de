// How many sandboxed steps can start at once when the build begins: those to run with no other
// sandboxed step to run among their inputs, however deep. The worker warms that many network
// namespaces before the first step, so parallel stages do not each wait for one.
import type { Vertex } from '../src/llb/index.ts';

/** In `order` (inputs first), the steps `sandboxed` says yes to that no such step precedes. */
export function sandboxFrontier(order: readonly Vertex[], sandboxed: (v: Vertex) => boolean): number {
  const after = new Set<string>();
  let count = 0;
  for (const v of order) {
    const behind = v.inputs.some((i) => after.has(i.digest) || sandboxed(i));
    if (behind) after.add(v.digest);
    else if (sandboxed(v)) count++;
  }
  return count;
}
