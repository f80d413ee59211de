// Which snapshotter a worker uses: overlay where the kernel lets us mount it, else copying. Asked
// by option or TSBUILD_SNAPSHOTTER (`overlay`, `copy`, `native`: containerd's name for copying,
// `auto`); `auto` tries one small overlay mount in the root's tmp dir, on the filesystem the
// snapshots live on (overlay on overlay, or in a user namespace without support, fails there).
// The answer is kept in `cacheFile` with what it depends on (the kernel release, the filesystem's
// device), so a root probes once, and again only when moved to another filesystem or kernel.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { mountAt, unmount } from './mount.ts';
import { overlayOptions } from './overlay-snapshotter.ts';
import type { SnapshotterName } from './snapshotter.ts';

export type SnapshotterChoice = SnapshotterName | 'native' | 'auto';

export interface ChosenSnapshotter {
  name: SnapshotterName;
  /** Said to the user when it is not the usual overlay, with why. */
  notice?: string;
}

/** The choice as asked; `value` from an option or the environment, undefined: auto. */
export function parseSnapshotterChoice(value: string | undefined, from: string): SnapshotterChoice {
  if (value === undefined || value === '') return 'auto';
  if (value === 'overlay' || value === 'copy' || value === 'native' || value === 'auto') return value;
  throw new TsbuildError(`${from}: unknown snapshotter "${value}"`, { code: ErrorCodes.OPTION_INVALID, kind: 'invalid', hint: 'use overlay, copy (also called native) or auto' });
}

export async function chooseSnapshotter(choice: SnapshotterChoice, opts: { tmpDir: string; cacheFile?: string }): Promise<ChosenSnapshotter> {
  const { tmpDir, cacheFile } = opts;
  if (choice === 'overlay') return { name: 'overlay' };
  if (choice === 'copy' || choice === 'native') return { name: 'copy', notice: 'using the copying snapshotter, as asked: each step copies its parent filesystem' };
  await mkdir(tmpDir, { recursive: true });
  const host = `${release()} ${statSync(tmpDir).dev}`;
  let failure: string | undefined;
  const cached = cacheFile === undefined ? undefined : readCache(cacheFile);
  if (cached?.host === host) failure = cached.failure;
  else {
    failure = await probeOverlay(tmpDir);
    if (cacheFile !== undefined) writeFileSync(cacheFile, JSON.stringify({ host, failure: failure ?? null }) + '\n', { mode: 0o600 });
  }
  if (failure === undefined) return { name: 'overlay' };
  return { name: 'copy', notice: `overlayfs cannot be mounted here (${failure}): using the copying snapshotter, slower and bigger on disk` };
}

function readCache(file: string): { host: string; failure: string | undefined } | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as { host?: unknown; failure?: unknown };
    if (typeof v.host !== 'string' || (v.failure !== null && typeof v.failure !== 'string')) return undefined;
    return { host: v.host, failure: v.failure ?? undefined };
  } catch {
    return undefined;
  }
}

/**
 * Undefined when an overlay mount works in `tmpDir`, else why not. The probe mounts `volatile`
 * first: without it, unmounting syncs the whole upper filesystem (every process's dirty data on
 * it, 3-150 ms on a busy CI disk) for a mount that wrote nothing. A kernel before 5.10 refuses the
 * option; then the mount without it decides.
 */
async function probeOverlay(tmpDir: string): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpDir, 'overlay-probe-'));
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((n) => join(dir, n));
  const mountWith = (extra: string[]) => mountAt({ type: 'overlay', source: 'overlay', options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`, ...overlayOptions, ...extra] }, merged);
  try {
    for (const d of [lower, upper, work, merged]) await mkdir(d);
    await mountWith(['volatile']).catch(() => mountWith([]));
    await unmount(merged);
    return undefined;
  } catch (e) {
    // mount(8)'s first line, without the probe's path: "wrong fs type, bad option, ..."
    const message = e instanceof TsbuildError ? e.message.replace(/^mount overlay on \S+ failed: /, '') : String(e);
    return message.split('\n')[0].replace(/^mount: [^:]*: /, '').trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
