// The steps buildx shows around the Dockerfile's own: `[internal] load build definition from
// Dockerfile`, `[internal] load .dockerignore`, `[internal] load build context` (with the bytes
// "transferred": here, the bytes of context files read for a cache key, as BuildKit's incremental
// transfer counts only what changed) and the sub-steps of `exporting to image`. Each is a vertex
// with status lines, so every renderer (plain, tty, rawjson) shows them as buildx does.
import { statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { BigIntStats } from 'node:fs';
import type { FileDigestCache } from '../src/context/index.ts';
import type { ProgressSink, VertexRef } from '../src/progress/index.ts';

/** A status line that is complete: `transferring dockerfile: 123B done`. */
export function reportStatus(progress: ProgressSink, vertex: VertexRef, id: string, started: number, current = 0, unit?: 'bytes'): void {
  progress.emit({ type: 'vertex.progress', vertex, id, current, started, completed: Date.now(), unit });
}

/** Runs `work` as an internal step: started, its status lines (from `status`), then done or error. */
export async function internalStep<T>(progress: ProgressSink, vertex: VertexRef, work: () => T | Promise<T>, status?: (result: T, started: number) => void): Promise<T> {
  const started = Date.now();
  progress.emit({ type: 'vertex.started', vertex });
  try {
    const result = await work();
    status?.(result, started);
    progress.emit({ type: 'vertex.done', vertex });
    return result;
  } catch (e) {
    progress.emit({ type: 'vertex.error', vertex, message: e instanceof Error ? e.message : String(e) });
    throw e;
  }
}

export const dockerfileVertex = (dockerfileName: string): VertexRef => ({ digest: 'internal:dockerfile', name: `[internal] load build definition from ${basename(dockerfileName)}` });
export const dockerignoreVertex: VertexRef = { digest: 'internal:dockerignore', name: '[internal] load .dockerignore' };

/** Bytes of the .dockerignore a build reads (the Dockerfile's own `NAME.dockerignore` first), 0 when there is none. */
export function dockerignoreBytes(contextDir: string, dockerfilePath: string | undefined): number {
  const candidates = [...(dockerfilePath ? [join(dirname(dockerfilePath), `${basename(dockerfilePath)}.dockerignore`)] : []), join(contextDir, '.dockerignore')];
  for (const file of candidates) {
    try {
      return statSync(file).size;
    } catch {
      // not there: the next one
    }
  }
  return 0;
}

/**
 * Reports reads of a build context as `[internal] load build context` (`[context NAME] load from
 * client` for a named one, as buildx names them): the step runs while any checksum of it is under
 * way, its status counts the bytes of files read (those the digest cache knew are not read again).
 */
export function createContextLoadReporter(progress: ProgressSink) {
  const contexts = new Map<string, { vertex: VertexRef; inFlight: number; bytes: number; started: number }>();
  return {
    /** `cache`, counting what is read into the context `name`. */
    countingCache(name: string, cache: FileDigestCache): FileDigestCache {
      return {
        get: (s) => cache.get(s),
        set: (s: BigIntStats, hex: string) => {
          const c = contexts.get(name);
          if (c) c.bytes += Number(s.size);
          cache.set(s, hex);
        },
        flush: () => cache.flush(),
      };
    },
    /** Wraps one checksum of context `name`. */
    async track<T>(name: string, work: () => Promise<T>): Promise<T> {
      let c = contexts.get(name);
      if (!c) {
        c = { vertex: { digest: `internal:context:${name}`, name: name === 'context' ? '[internal] load build context' : `[context ${name}] load from client` }, inFlight: 0, bytes: 0, started: Date.now() };
        contexts.set(name, c);
      }
      if (c.inFlight++ === 0) {
        c.started = Date.now();
        progress.emit({ type: 'vertex.started', vertex: c.vertex });
      }
      try {
        const result = await work();
        if (--c.inFlight === 0) {
          reportStatus(progress, c.vertex, 'transferring context:', c.started, c.bytes, 'bytes');
          progress.emit({ type: 'vertex.done', vertex: c.vertex });
        }
        return result;
      } catch (e) {
        if (--c.inFlight === 0) progress.emit({ type: 'vertex.error', vertex: c.vertex, message: e instanceof Error ? e.message : String(e) });
        throw e;
      }
    },
  };
}

/** `busybox` → `docker.io/library/busybox:latest`, as buildx's "naming to" line says it. */
export function fullImageName(name: string): string {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const domain = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  const path = domain ? name : slash < 0 ? `docker.io/library/${name}` : `docker.io/${name}`;
  const last = path.slice(path.lastIndexOf('/') + 1);
  return last.includes(':') || last.includes('@') ? path : `${path}:latest`;
}
