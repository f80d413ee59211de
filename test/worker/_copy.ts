// Copy-action fixtures: an inline context dir, a copy action with COPY's defaults, and a busybox
// base with /etc/passwd and /etc/group to resolve --chown names against.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CopyAction, FileAction } from '../../src/llb/index.ts';
import { createTestWorker, type TestWorker } from './_setup.ts';

export function contextDir(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-ctx-'));
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  return dir;
}

export function copy(src: string[], dest: string, extra: Partial<CopyAction> = {}): CopyAction {
  return { action: 'copy', from: 1, src, dest, copyDirContents: true, followSymlinks: true, allowWildcardEmpty: false, extractArchives: false, excludePatterns: [], createDestPath: true, ...extra };
}

export type Apply = (actions: FileAction[], excludes?: string[]) => Promise<string>;

export async function withCopy(files: Record<string, string | Buffer>, fn: (w: TestWorker, ctx: string, apply: Apply) => Promise<void>): Promise<void> {
  const w = await createTestWorker();
  const ctx = contextDir(files);
  try {
    const base = await w.busybox({ files: { '/etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n', '/etc/group': 'root:x:0:\nstaff:x:1001:\n' } });
    const apply: Apply = (actions, excludes = []) =>
      w.worker.run({ kind: 'file', base: 0, actions }, [{ type: 'snapshot', id: base }, { type: 'local', dir: ctx, excludePatterns: excludes }], w.ctx);
    await fn(w, ctx, apply);
  } finally {
    await w.cleanup();
    rmSync(ctx, { recursive: true, force: true });
  }
}

export const fsOf = (w: TestWorker, id: string, p = '') => join(w.root, 'snapshots', id, 'fs', p);
