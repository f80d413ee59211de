// What every step reports. Steps emit; renderers (one file each) consume. No step writes to the console.
import type { SourceLocation } from '../errors/index.ts';

interface Base {
  /** ms since the epoch */
  time: number;
}

export interface VertexRef {
  /** Vertex digest: stable id of the step within a build. */
  digest: string;
  name: string;
}

export type ProgressEvent =
  /** `reason`: why it runs although the cache knew the step (what changed), or for --explain why it runs at all. */
  | (Base & { type: 'vertex.started'; vertex: VertexRef; reason?: string })
  /** `reason` (--explain): why it was a hit. */
  | (Base & { type: 'vertex.cached'; vertex: VertexRef; reason?: string })
  | (Base & { type: 'vertex.log'; vertex: VertexRef; stream: 'stdout' | 'stderr'; data: string })
  /**
   * A status line under a step. One with `completed` is shown once it is complete, as buildx's plain
   * output does (`#4 transferring context: 1.20MB 0.1s done`); `started`/`completed` are ms since the epoch.
   */
  | (Base & { type: 'vertex.progress'; vertex: VertexRef; id: string; current: number; total?: number; label?: string; started?: number; completed?: number; unit?: 'bytes' })
  | (Base & { type: 'vertex.done'; vertex: VertexRef })
  /** `cancelled`: the step was stopped because another one failed or the build was cancelled (shown as CANCELED). */
  | (Base & { type: 'vertex.error'; vertex: VertexRef; message: string; cancelled?: boolean })
  /** `rule`: the check that found it (a lint rule's name), when there is one. */
  | (Base & { type: 'build.warning'; message: string; location?: SourceLocation; rule?: string })
  | (Base & { type: 'build.done'; imageId?: string });

export type ProgressEventType = ProgressEvent['type'];

/** Where steps send events. `emit` never throws and never blocks. */
export interface ProgressSink {
  emit(event: DistributiveOmit<ProgressEvent, 'time'>): void;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export const silentProgress: ProgressSink = { emit() {} };
