// A worker on its own temp state root, with a busybox base snapshot, torn down after the test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { openContentStore, type ContentStore } from '../../src/content/index.ts';
import type { ExecOp, FileOp } from '../../src/llb/index.ts';
import { silentProgress, type ProgressEvent } from '../../src/progress/index.ts';
import { openDatabase, statePaths, type Database } from '../../src/state/index.ts';
import { openWorker, type RunContext, type SnapshotterChoice, type Worker } from '../../worker/index.ts';
import { createBusyboxRootfs, type RootfsOptions } from '../_support/busybox-rootfs.ts';
import { cgroupPrefix, detectCgroups, listCgroups, removeCgroups } from '../../worker/exec/cgroups.ts';

export interface TestWorker {
  worker: Worker;
  root: string;
  db: Database;
  content: ContentStore;
  logs: string[];
  ctx: RunContext;
  /** A committed snapshot holding a busybox rootfs. */
  busybox(opts?: RootfsOptions): Promise<string>;
  cleanup(): Promise<void>;
  /** cleanup, resolving to the cgroups of the root it found left by the closed worker (and removed). */
  cleanupReporting(): Promise<string[]>;
}

export async function createTestWorker(opts: { snapshotter?: SnapshotterChoice } = {}): Promise<TestWorker> {
  const root = mkdtempSync(join(tmpdir(), 'tsbuild-worker-'));
  const paths = statePaths(root);
  const db = openDatabase(paths.db);
  const content = openContentStore(paths.content);
  const worker = await openWorker({ root, db, content, snapshotter: opts.snapshotter });
  const logs: string[] = [];
  const ctx: RunContext = {
    vertex: { digest: 'sha256:test', name: 'test' },
    progress: { emit: (e) => { if (e.type === 'vertex.log') logs.push((e as Extract<ProgressEvent, { type: 'vertex.log' }>).data); else silentProgress.emit(e); } },
    signal: new AbortController().signal,
  };
  const temps: string[] = [];
  const cleanupReporting = async (): Promise<string[]> => {
    await worker.close();
    db.close();
    // a closed worker's steps have all ended: a cgroup of its root is one it failed to remove
    const cgroups = listCgroups(detectCgroups(), cgroupPrefix(root));
    await removeCgroups(cgroups);
    // a failed test may leave a mount behind: detach everything below the root before removing it
    const mounts = execFileSync('sh', ['-c', `grep -o " ${root}[^ ]*" /proc/mounts || true`], { encoding: 'utf8' }).split('\n').map((s) => s.trim()).filter(Boolean).reverse();
    for (const m of mounts) execFileSync('umount', ['-l', m]);
    rmSync(root, { recursive: true, force: true });
    for (const t of temps) rmSync(t, { recursive: true, force: true });
    return cgroups;
  };
  return {
    worker, root, db, content, logs, ctx,
    async busybox(opts) {
      const dir = createBusyboxRootfs(opts);
      temps.push(dir);
      return worker.run(copyAll(), [{ type: 'local', dir, excludePatterns: [] }], ctx);
    },
    cleanup: async () => {
      await cleanupReporting();
    },
    cleanupReporting,
  };
}

export function copyAll(from = 0, dest = '/'): FileOp {
  return { kind: 'file', actions: [{ action: 'copy', from, src: ['/'], dest, copyDirContents: true, followSymlinks: false, allowWildcardEmpty: false, extractArchives: false, excludePatterns: [], createDestPath: true }] };
}

export function run(script: string, extra: Partial<ExecOp> = {}): ExecOp {
  return { kind: 'exec', args: ['/bin/sh', '-c', script], env: [], cwd: '/', user: '', network: 'none', mounts: [{ type: 'root', input: 0 }], ...extra };
}

export interface TarEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  linkname?: string;
  data?: string;
}

/** The entries of a layer blob (gzip or plain) as a user would list them with `tar tv`. */
export async function tarEntries(blob: Buffer): Promise<TarEntry[]> {
  const raw = blob[0] === 0x1f ? gunzipSync(blob) : blob;
  const out: TarEntry[] = [];
  const ex = tar.extract();
  const done = (async () => {
    for await (const e of ex) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      const h = e.header;
      out.push({ name: h.name, type: h.type ?? 'file', mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0, linkname: h.linkname ?? undefined, data: h.type === 'file' ? Buffer.concat(chunks).toString() : undefined });
    }
  })();
  ex.end(raw);
  await done;
  return out;
}

export async function layerEntries(t: TestWorker, id: string): Promise<TarEntry[]> {
  const info = await t.worker.layer(id);
  return tarEntries(await t.content.readBytes(info.digest));
}

/** Runs `fn` with a fresh test worker, cleaned up whatever happens. */
export async function withWorker(fn: (t: TestWorker) => Promise<void>, opts: { snapshotter?: SnapshotterChoice } = {}): Promise<void> {
  const w = await createTestWorker(opts);
  let passed = false;
  try {
    await fn(w);
    passed = true;
  } finally {
    const cgroups = await w.cleanupReporting();
    // every test on a worker also asserts that its steps left no cgroup (a failed one's own error goes first)
    if (passed && cgroups.length > 0) throw new Error(`the worker left cgroups of its steps behind: ${cgroups.join(', ')}`);
  }
}
