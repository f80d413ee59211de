// Which snapshotter a worker uses: overlay where the kernel lets us mount it, else copying. Asked
// by option or TSBUILD_SNAPSHOTTER (`overlay`, `copy`, `native`: containerd's name for copying,
// `auto`); `auto` tries one small overlay mount in the root's tmp dir, on the filesystem the
// snapshots live on (overlay on overlay, or in a user namespace without support, fails there).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
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

export async function chooseSnapshotter(choice: SnapshotterChoice, tmpDir: string): Promise<ChosenSnapshotter> {
  if (choice === 'overlay') return { name: 'overlay' };
  if (choice === 'copy' || choice === 'native') return { name: 'copy', notice: 'using the copying snapshotter, as asked: each step copies its parent filesystem' };
  const failure = await probeOverlay(tmpDir);
  if (failure === undefined) return { name: 'overlay' };
  return { name: 'copy', notice: `overlayfs cannot be mounted here (${failure}): using the copying snapshotter, slower and bigger on disk` };
}

/** Undefined when an overlay mount works in `tmpDir`, else why not. */
async function probeOverlay(tmpDir: string): Promise<string | undefined> {
  await mkdir(tmpDir, { recursive: true });
  const dir = await mkdtemp(join(tmpDir, 'overlay-probe-'));
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((n) => join(dir, n));
  try {
    for (const d of [lower, upper, work, merged]) await mkdir(d);
    await mountAt({ type: 'overlay', source: 'overlay', options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`, ...overlayOptions] }, merged);
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
