// The GC policy: after each build, when the root holds more than `[gc] keep-storage` (default, as
// BuildKit's: 10% of its filesystem, at most 20 GiB), prune least recently used cache until it
// holds at most that. Asking must cost a no-change rebuild nothing measurable, so it walks nothing:
// the last measured total is kept in `<root>/gc-usage.json` with how full the filesystem was then,
// and the root is assumed to have grown by at most what the filesystem filled since (one statfs).
// Only when that estimate passes the limit (or the measure is a day old) is the root walked, and
// pruned when the walk agrees.
import { readFileSync, renameSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineParts } from './engine.ts';
import { pruneStore, type PruneResult } from './prune.ts';

/** BuildKit's cap on its default keep-storage. */
export const defaultKeepStorageCap = 20 * 1024 ** 3;
const measureMaxAgeMs = 24 * 3600 * 1000;

interface Measure {
  /** Bytes below the root when measured. */
  total: number;
  /** Bytes used on its filesystem then. */
  fsUsed: number;
  at: number;
  /** When the root was last walked, if before `at` (an estimate carried forward keeps the walk's age). */
  walked?: number;
}

/** 10% of the filesystem holding `root`, at most 20 GiB. */
export function defaultKeepStorage(root: string): number {
  const s = statfsSync(root);
  return Math.min(defaultKeepStorageCap, Math.floor((s.blocks * s.bsize) / 10));
}

export function gcLimit(engine: EngineParts): number | undefined {
  const gc = engine.config.gc ?? {};
  return gc.enabled === false ? undefined : (gc.keepStorage ?? defaultKeepStorage(engine.paths.root));
}

/**
 * Applies the policy once a build's lease is released. Resolves to what it pruned, or undefined
 * when nothing needed freeing (the usual case: one statfs and one small file read).
 */
export async function collectGarbage(engine: EngineParts, opts: { buildsRunning: boolean; now?: number }): Promise<PruneResult | undefined> {
  const limit = gcLimit(engine);
  if (limit === undefined) return undefined;
  const now = opts.now ?? Date.now();
  const file = join(engine.paths.root, 'gc-usage.json');
  const last = readMeasure(file);
  if (last && now - (last.walked ?? last.at) < measureMaxAgeMs) {
    const grown = await grownSince(engine, last);
    if (last.total + grown.bytes <= limit) {
      // the snapshots counted now are part of the next build's starting figure, not walked again:
      // a 20,000-file COPY's snapshot otherwise cost every later no-change rebuild ~0.4 s
      if (grown.snapshots > 0) writeMeasure(file, { total: last.total + grown.bytes, fsUsed: fsUsed(engine.paths.root), at: now, walked: last.walked ?? last.at });
      return undefined;
    }
  }
  const result = await pruneStore(engine, { keepStorage: limit, buildsRunning: opts.buildsRunning, now });
  writeMeasure(file, { total: result.total, fsUsed: fsUsed(engine.paths.root), at: now });
  return result.removed.length > 0 ? result : undefined;
}

/**
 * How much the root grew since `last` was measured, at least: the snapshots committed since then
 * (their files and layer blobs), and what the filesystem filled meanwhile. Either alone misses
 * growth: the filesystem's figure falls when other programs free space while builds add to the
 * root, and the snapshots leave out blobs and logs. A no-change rebuild commits none: one query.
 */
async function grownSince(engine: EngineParts, last: Measure): Promise<{ bytes: number; snapshots: number }> {
  let snapshots = 0;
  let counted = 0;
  for (const s of engine.worker.storage.snapshots()) {
    if (s.created < last.at) continue;
    counted++;
    snapshots += await engine.worker.storage.usage(s.name).catch(() => 0);
    for (const d of engine.worker.storage.layerRows(s.name).digests) snapshots += (await engine.content.info(d).catch(() => undefined))?.size ?? 0;
  }
  return { bytes: Math.max(snapshots, fsUsed(engine.paths.root) - last.fsUsed), snapshots: counted };
}

function fsUsed(root: string): number {
  const s = statfsSync(root);
  return (s.blocks - s.bfree) * s.bsize;
}

function readMeasure(file: string): Measure | undefined {
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as Partial<Measure>;
    return typeof m.total === 'number' && typeof m.fsUsed === 'number' && typeof m.at === 'number' && (m.walked === undefined || typeof m.walked === 'number') ? (m as Measure) : undefined;
  } catch {
    return undefined;
  }
}

function writeMeasure(file: string, m: Measure): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(m)}\n`, { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // a measure not kept only means the next build measures again
  }
}
