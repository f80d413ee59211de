// Cache keys, as DESIGN.md sets them out:
//   key(v) = sha256(op, the keys of its inputs, content checksums of what it reads from local sources)
// A local source's own key is just its op (name + patterns): what a later op reads from it is
// hashed by that op, path by path, so editing a file that no COPY reads misses nothing.
// See docs/cache-keys.md.
import { canonicalJson, sha256Digest, withoutProxyEnv, type GitSource, type HttpSource, type Vertex } from '../src/llb/index.ts';
import { withStep } from './step-error.ts';
import type { KeyParts } from './cache-index.ts';

/**
 * Hashes the selected paths of a local source (path, type, mode, owner, link target, bytes; never
 * mtimes). `followSymlinks` is what the reading op does with a source that is a symlink: hashed as
 * its target when the op follows it, as the link otherwise.
 */
export type LocalChecksum = (contextName: string, src: readonly string[], excludePatterns: readonly string[], opts: { followSymlinks: boolean }) => Promise<string>;

/** What a remote source holds now: an http body's digest, a git ref's commit (Worker.resolveSource). */
export type RemoteResolver = (op: HttpSource | GitSource) => Promise<string>;

// Part of every key. Bump it when what an op *does* changes (a worker fix that makes the same op
// produce other files), so results built by an older tsbuild are never reused as if current.
export const cacheKeyVersion = 2;

/** With `parts`, also what each key was made of (kept in the cache index to explain a miss), by vertex digest. */
export async function computeCacheKeys(order: readonly Vertex[], checksum: LocalChecksum, remote?: RemoteResolver, parts?: Map<string, KeyParts>): Promise<Map<string, string>> {
  const keys = new Map<string, string>();
  for (const v of order) {
    const inputs = v.inputs.map((i) => keys.get(i.digest)!);
    const content = await contentChecksums(v, checksum, remote).catch((e: unknown) => {
      throw withStep(e, v);
    });
    const op = keyedOp(withoutProxyEnv(v.op));
    keys.set(v.digest, sha256Digest(canonicalJson({ v: cacheKeyVersion, op, inputs, content })));
    parts?.set(v.digest, { op: sha256Digest(canonicalJson({ v: cacheKeyVersion, op })), inputs, content });
  }
  return keys;
}

/**
 * The op as its key sees it. An exec's network mode is how it runs, not what it makes (BuildKit
 * keeps it beside the op): a step built with the network is reused by a build with --network none.
 */
function keyedOp(op: Vertex['op']): unknown {
  if (op.kind !== 'exec') return op;
  const { network: _network, ...rest } = op;
  return rest;
}

/** What `v` reads from local sources, one checksum per reading place, in a fixed order. */
async function contentChecksums(v: Vertex, checksum: LocalChecksum, remote?: RemoteResolver): Promise<string[]> {
  const localOf = (index: number | undefined) => {
    const input = index === undefined ? undefined : v.inputs[index];
    return input?.op.kind === 'source' && input.op.source === 'local' ? input.op : undefined;
  };
  const out: string[] = [];
  switch (v.op.kind) {
    case 'file':
      for (const a of v.op.actions) {
        if (a.action !== 'copy') continue;
        const local = localOf(a.from);
        // the context's own patterns only: COPY --exclude matches relative to each source (see
        // worker/file/copy.ts), so hashing a little more than is copied is the safe side
        if (local) out.push(await checksum(local.name, a.src, local.excludePatterns, { followSymlinks: a.followSymlinks }));
      }
      break;
    case 'exec':
      for (const m of v.op.mounts) {
        if (m.type !== 'bind' && m.type !== 'cache') continue;
        const local = localOf(m.input);
        // the worker copies a mount's local source following a final link (worker/exec/op-mounts.ts)
        if (local) out.push(await checksum(local.name, [m.type === 'bind' ? m.source : (m.source ?? '/')], local.excludePatterns, { followSymlinks: true }));
      }
      break;
    case 'merge':
    case 'diff':
      for (let i = 0; i < v.inputs.length; i++) {
        const local = localOf(i);
        if (local) out.push(await checksum(local.name, ['/'], local.excludePatterns, { followSymlinks: false }));
      }
      break;
    case 'source':
      // an http source with --checksum is pinned by its op; without one, by the body it serves
      // now; a git source by the commit its ref names now
      if (remote && ((v.op.source === 'http' && v.op.checksum === undefined) || v.op.source === 'git')) out.push(await remote(v.op));
      break;
  }
  return out;
}
