// Whether a build graph has a step that runs in the `sandbox` network: then the worker sets up a
// network namespace in the background while it unpacks the base or copies files.
import { topoSort, type Vertex } from '../src/llb/index.ts';

export function needsSandboxNetwork(root: Vertex | undefined): boolean {
  return root !== undefined && topoSort([root]).some((v) => v.op.kind === 'exec' && v.op.network === 'sandbox');
}
