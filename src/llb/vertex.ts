// A vertex is an op plus the vertices it reads. Its digest covers the op and its inputs' digests
// only; how it is shown (name, Dockerfile location, stage) is VertexMeta and never changes a digest,
// so renaming a stage never misses the cache.
import type { SourceLocation } from '../errors/index.ts';
import { canonicalJson, sha256Digest } from './canonical-json.ts';
import type { Op } from './ops.ts';
import { withoutProxyEnv } from './proxy-env.ts';

export interface VertexMeta {
  /** As progress shows it: `[build 2/4] RUN make`. */
  name: string;
  stage?: string;
  location?: SourceLocation;
  /** Excluded from the cache: always run (--no-cache, --no-cache-filter). */
  ignoreCache?: boolean;
  /** Names of the ARGs in scope (RUN): an environment variable of this name is a build-arg (solver/op-change.ts). */
  buildArgs?: readonly string[];
}

export interface Vertex {
  readonly digest: string;
  readonly op: Op;
  readonly inputs: readonly Vertex[];
  readonly meta: VertexMeta;
}

export function createVertex(op: Op, inputs: readonly Vertex[], meta: VertexMeta): Vertex {
  const digest = opDigest(op, inputs.map((i) => i.digest));
  return Object.freeze({ digest, op, inputs: Object.freeze([...inputs]), meta });
}

/** sha256 over the op with its inputs named by digest (or, for cache keys, by their keys). */
export function opDigest(op: Op, inputDigests: readonly string[]): string {
  return sha256Digest(canonicalJson({ op: withoutProxyEnv(op), inputs: inputDigests }));
}

/** Every vertex reachable from `roots`, each once, inputs before the vertices that read them. */
export function topoSort(roots: readonly Vertex[]): Vertex[] {
  const seen = new Set<string>();
  const out: Vertex[] = [];
  // an explicit stack, not recursion: a hostile Dockerfile chains thousands of stages
  const stack: { v: Vertex; next: number }[] = [];
  const push = (v: Vertex) => {
    if (seen.has(v.digest)) return;
    seen.add(v.digest);
    stack.push({ v, next: 0 });
  };
  for (const r of roots) {
    push(r);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.next < top.v.inputs.length) push(top.v.inputs[top.next++]);
      else out.push(stack.pop()!.v);
    }
  }
  return out;
}

/** The longest chain of vertices from `order`'s inputs to its last vertex; `order` as topoSort gives it. */
export function graphDepth(order: readonly Vertex[]): number {
  const depth = new Map<string, number>();
  let max = 0;
  for (const v of order) {
    const d = 1 + Math.max(0, ...v.inputs.map((i) => depth.get(i.digest) ?? 0));
    depth.set(v.digest, d);
    max = Math.max(max, d);
  }
  return max;
}
