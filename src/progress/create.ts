// Picks a renderer for --progress and turns it into a sink the steps can emit into.
import type { Writable } from 'node:stream';
import type { ProgressEvent, ProgressSink } from './events.ts';
import { createPlainRenderer, type Renderer } from './plain.ts';
import { createRawJsonRenderer } from './rawjson.ts';

export type ProgressMode = 'auto' | 'plain' | 'tty' | 'rawjson' | 'quiet';
export const ProgressModes: readonly ProgressMode[] = ['auto', 'plain', 'tty', 'rawjson', 'quiet'];

export interface ProgressOutput extends ProgressSink {
  /** Every event so far but output lines (a chatty RUN would fill memory), for the summary and tests. */
  readonly events: readonly ProgressEvent[];
  /** The mode `auto` became: tty or plain. */
  readonly mode: Exclude<ProgressMode, 'auto'>;
  /** Writes the end of the output (tty: the final frame; plain and tty: the warnings summary). Idempotent. */
  close(): void;
}

/** What `auto` means for `out`: tty on a terminal that reports its size, plain otherwise. */
export function resolveProgressMode(mode: ProgressMode, out: { isTTY?: boolean; rows?: number }): Exclude<ProgressMode, 'auto'> {
  // a terminal that reports no size (some CI pseudo-terminals) cannot be redrawn in place
  return mode === 'auto' ? (out.isTTY && out.rows ? 'tty' : 'plain') : mode;
}

export async function createProgress(mode: ProgressMode, out: Writable & { isTTY?: boolean; rows?: number }): Promise<ProgressOutput> {
  const events: ProgressEvent[] = [];
  const resolved = resolveProgressMode(mode, out);
  let renderer: Renderer = { render() {}, close() {} };
  if (resolved === 'plain') renderer = createPlainRenderer(out);
  else if (resolved === 'rawjson') renderer = createRawJsonRenderer(out);
  else if (resolved === 'tty') {
    // imported here so plain and quiet builds never load chalk or log-update
    const { createTtyRenderer } = await import('./tty.ts');
    renderer = createTtyRenderer(out);
  }
  let closed = false;
  return {
    events,
    mode: resolved,
    emit(partial) {
      const e = { ...partial, time: Date.now() } as ProgressEvent;
      if (e.type !== 'vertex.log') events.push(e);
      if (closed) return;
      try {
        renderer.render(e);
      } catch {
        // a renderer failing (closed pipe) must not fail the build
      }
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        renderer.close();
      } catch {
        // as emit: a closed pipe must not fail the build
      }
    },
  };
}
