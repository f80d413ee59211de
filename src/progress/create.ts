// Picks a renderer for --progress and turns it into a sink the steps can emit into.
import type { Writable } from 'node:stream';
import type { ProgressEvent, ProgressSink } from './events.ts';
import { createPlainRenderer } from './plain.ts';

export type ProgressMode = 'auto' | 'plain' | 'tty' | 'rawjson' | 'quiet';
export const ProgressModes: readonly ProgressMode[] = ['auto', 'plain', 'tty', 'rawjson', 'quiet'];

export interface ProgressOutput extends ProgressSink {
  /** Every event so far but output lines (a chatty RUN would fill memory), for the summary and tests. */
  readonly events: readonly ProgressEvent[];
  close(): void;
}

export async function createProgress(mode: ProgressMode, out: Writable & { isTTY?: boolean; rows?: number }): Promise<ProgressOutput> {
  const events: ProgressEvent[] = [];
  // a terminal that reports no size (some CI pseudo-terminals) cannot be redrawn in place
  const resolved = mode === 'auto' ? (out.isTTY && out.rows ? 'tty' : 'plain') : mode;
  let render: (e: ProgressEvent) => void = () => {};
  let close = () => {};
  if (resolved === 'plain') render = createPlainRenderer(out);
  else if (resolved === 'rawjson') render = (e) => out.write(`${JSON.stringify(e)}\n`);
  else if (resolved === 'tty') {
    // imported here so plain and quiet builds never load chalk or log-update
    const { createTtyRenderer } = await import('./tty.ts');
    const tty = createTtyRenderer(out);
    render = tty.render;
    close = tty.close;
  }
  return {
    events,
    emit(partial) {
      const e = { ...partial, time: Date.now() } as ProgressEvent;
      if (e.type !== 'vertex.log') events.push(e);
      try {
        render(e);
      } catch {
        // a renderer failing (closed pipe) must not fail the build
      }
    },
    close,
  };
}
