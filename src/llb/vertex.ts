// A vertex is an op plus the vertices it reads. Its digest covers the op and its inputs' digests
// only; how it is shown (name, Dockerfile location, stage) is VertexMeta and never changes a digest,
// so renaming a stage never misses the cache.
import type { SourceLocation } from '../errors/index.ts';
import { canonicalJson, sha256Digest } from './canonical-json.ts';
import type { Op } from './ops.ts';

export interface VertexMeta {
  /** As progress shows it: `[build 2/4] RUN make`. */
  name: string;
  stage?: string;
  location?: SourceLocation;
  /** Excluded from the cache: always run (--no-cache, --no-cache-filter). */
  ignoreCache?: boolean;
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
  return sha256Digest(canonicalJson({ op, inputs: inputDigests }));
}

/** Every vertex reachable from `roots`, each once, inputs before the vertices that read them. */
export function topoSort(roots: readonly Vertex[]): Vertex[] {
  const seen = new Set<string>();
  const out: Vertex[] = [];
  const visit = (v: Vertex) => {
    if (seen.has(v.digest)) return;
    seen.add(v.digest);
    for (const i of v.inputs) visit(i);
    out.push(v);
  };
  for (const r of roots) visit(r);
  return out;
}
