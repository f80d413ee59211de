// Reads `--progress rawjson` (buildx's SolveStatus JSON lines) back into tsbuild's progress events,
// for tests that assert on which steps ran, were cached or logged what. Each line must parse as one
// SolveStatus object (the test fails on anything else), but for a cut last line when asked.
import type { SolveStatus } from '../../src/progress/index.ts';

export interface RawEvent {
  type: 'vertex.started' | 'vertex.cached' | 'vertex.done' | 'vertex.error' | 'vertex.log' | 'vertex.progress' | 'build.warning' | 'build.failed';
  vertex?: { digest: string; name: string };
  reason?: string;
  error?: string;
  id?: string;
  current?: number;
  total?: number;
  label?: string;
  stream?: 'stdout' | 'stderr';
  data?: string;
  message?: string;
  /** The report of a failed build: `{"error":{…}}`, the stream's last line. */
  failure?: { code?: string; kind: string; message: string; report: string };
}

/** The SolveStatus objects of `stderr`, one per line; `lenient` skips a line that does not parse (a killed build's last). */
export function solveStatuses(stderr: string, opts: { lenient?: boolean } = {}): (SolveStatus & { error?: RawEvent['failure'] })[] {
  return stderr.split('\n').filter((l) => l !== '').flatMap((l) => {
    try {
      return [JSON.parse(l) as SolveStatus];
    } catch (e) {
      if (opts.lenient) return [];
      throw new Error(`not a JSON line in rawjson output: ${JSON.stringify(l)}`, { cause: e });
    }
  });
}

export function parseRawJson(stderr: string, opts: { lenient?: boolean } = {}): RawEvent[] {
  const names = new Map<string, string>();
  const ref = (digest: string | undefined) => (digest === undefined ? undefined : { digest, name: names.get(digest) ?? '' });
  const out: RawEvent[] = [];
  for (const s of solveStatuses(stderr, opts)) {
    for (const v of s.vertexes ?? []) {
      if (v.name !== undefined) names.set(v.digest, v.name);
      const vertex = ref(v.digest);
      // a vertex named before its first status or log, not started (one waiting for another build)
      if (v.started === undefined && v.completed === undefined && !v.cached) continue;
      const type = v.cached ? 'vertex.cached' : v.error !== undefined ? 'vertex.error' : v.completed !== undefined ? 'vertex.done' : 'vertex.started';
      out.push({ type, vertex, reason: v.reason, error: v.error });
    }
    for (const st of s.statuses ?? []) out.push({ type: 'vertex.progress', vertex: ref(st.vertex), id: st.id, current: st.current, total: st.total, label: st.name });
    for (const l of s.logs ?? []) out.push({ type: 'vertex.log', vertex: ref(l.vertex), stream: l.stream === 1 ? 'stdout' : 'stderr', data: Buffer.from(l.data, 'base64').toString() });
    for (const w of s.warnings ?? []) out.push({ type: 'build.warning', message: Buffer.from(w.short ?? '', 'base64').toString() });
    if (s.error) out.push({ type: 'build.failed', failure: s.error });
  }
  return out;
}
