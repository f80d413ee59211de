// `--progress rawjson`: BuildKit's SolveStatus (client/graph.go) as JSON, one object per line, as
// `docker buildx build --progress=rawjson` writes it, so tools that read buildx's stream read ours:
//   {"vertexes":[{"digest":"sha256:…","name":"[1/2] RUN make","started":"2026-…Z","completed":"…"}]}
//   {"statuses":[{"id":"transferring context:","vertex":"sha256:…","current":1200,"timestamp":"…"}]}
//   {"logs":[{"vertex":"sha256:…","stream":1,"data":"<base64>","timestamp":"…"}]}
//   {"warnings":[{"vertex":"sha256:…","level":1,"short":"<base64>","sourceInfo":{…},"range":[…]}]}
// Byte fields are base64, as Go's encoding/json writes []byte. One extra field, `reason` on a
// vertex (why it ran although the cache knew it), is ours; decoders of SolveStatus ignore it.
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { ProgressEvent, VertexRef } from './events.ts';
import type { Renderer } from './plain.ts';

export interface RawVertex {
  digest: string;
  name?: string;
  started?: string;
  completed?: string;
  cached?: boolean;
  error?: string;
  reason?: string;
}
export interface RawStatus {
  id: string;
  vertex?: string;
  name?: string;
  total?: number;
  current: number;
  timestamp: string;
  started?: string;
  completed?: string;
}
export interface RawLog {
  vertex?: string;
  stream?: number;
  data: string;
  timestamp: string;
}
export interface RawWarning {
  vertex?: string;
  level?: number;
  short?: string;
  detail?: string[];
  sourceInfo?: { filename: string };
  range?: { start: { line: number }; end: { line: number } }[];
}
export interface SolveStatus {
  vertexes?: RawVertex[];
  statuses?: RawStatus[];
  logs?: RawLog[];
  warnings?: RawWarning[];
}

/** BuildKit's message for a step stopped by a cancellation; its printers show such a step as CANCELED. */
const canceled = 'context canceled';

/** The vertex warnings of the Dockerfile are attached to: its load step, as BuildKit attaches lint results. */
const definitionVertex = 'internal:dockerfile';

export function createRawJsonRenderer(out: Writable): Renderer {
  const started = new Map<string, string>();
  const named = new Set<string>();
  const write = (s: SolveStatus) => out.write(`${JSON.stringify(s)}\n`);
  const vertex = (v: VertexRef, fields: Omit<RawVertex, 'digest' | 'name'>): RawVertex => {
    named.add(v.digest);
    return { digest: digestOf(v.digest), name: v.name, ...fields };
  };
  /** A status or log of a step not yet named on the stream (one waiting for another build) names it first, as BuildKit does. */
  const announce = (v: VertexRef): RawVertex[] | undefined => (named.has(v.digest) ? undefined : [vertex(v, {})]);
  return {
    render(e: ProgressEvent) {
      const at = iso(e.time);
      switch (e.type) {
        case 'vertex.started':
          started.set(e.vertex.digest, at);
          write({ vertexes: [vertex(e.vertex, { started: at, reason: e.reason })] });
          break;
        case 'vertex.cached':
          write({ vertexes: [vertex(e.vertex, { started: at, completed: at, cached: true, reason: e.reason })] });
          break;
        case 'vertex.done':
          write({ vertexes: [vertex(e.vertex, { started: started.get(e.vertex.digest) ?? at, completed: at })] });
          break;
        case 'vertex.error':
          write({ vertexes: [vertex(e.vertex, { started: started.get(e.vertex.digest) ?? at, completed: at, error: e.cancelled ? canceled : e.message })] });
          break;
        case 'vertex.log':
          write({ vertexes: announce(e.vertex), logs: [{ vertex: digestOf(e.vertex.digest), stream: e.stream === 'stdout' ? 1 : 2, data: Buffer.from(e.data).toString('base64'), timestamp: at }] });
          break;
        case 'vertex.progress':
          write({
            vertexes: announce(e.vertex),
            statuses: [
              {
                id: e.id,
                vertex: digestOf(e.vertex.digest),
                name: e.label,
                total: e.total || undefined,
                current: e.current,
                timestamp: at,
                started: e.started === undefined ? undefined : iso(e.started),
                completed: e.completed === undefined ? undefined : iso(e.completed),
              },
            ],
          });
          break;
        case 'build.warning':
          write({
            warnings: [
              {
                vertex: digestOf(definitionVertex),
                level: 1,
                short: Buffer.from(e.message).toString('base64'),
                sourceInfo: e.location ? { filename: e.location.file } : undefined,
                range: e.location ? [{ start: { line: e.location.line }, end: { line: e.location.line } }] : undefined,
              },
            ],
          });
          break;
        case 'build.done':
          break;
      }
    },
    close() {},
  };
}

/** Go's time.Time in JSON (RFC 3339, UTC). */
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Steps have sha256 digests; the internal ones (`internal:dockerfile`, `export`) get a stable
 * digest of their id, so every vertex field holds a digest as BuildKit's do.
 */
export function digestOf(id: string): string {
  return id.startsWith('sha256:') ? id : `sha256:${createHash('sha256').update(id).digest('hex')}`;
}
