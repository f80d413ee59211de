// What the snapshotter suites share: every implementation by name, a fixture that gives one a
// fresh state root (database, store, tmp dir) and cleans it whatever happens, and a base tree with
// every kind of entry a layer carries.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openDatabase, type Database } from '../../../src/state/index.ts';
import { createCopySnapshotter } from '../../../worker/snapshot/copy-snapshotter.ts';
import { withMounts } from '../../../worker/snapshot/mount.ts';
import { createOverlaySnapshotter } from '../../../worker/snapshot/overlay-snapshotter.ts';
import { createSnapshotStore } from '../../../worker/snapshot/snapshot-store.ts';
import { newSnapshotKey, type Snapshotter } from '../../../worker/snapshot/snapshotter.ts';
import { tarEntries, type TarEntry } from '../_setup.ts';

export const implementations = { overlay: createOverlaySnapshotter, copy: createCopySnapshotter };
export const kinds = Object.keys(implementations) as (keyof typeof implementations)[];

export interface Fixture {
  s: Snapshotter;
  root: string;
  /** The snapshotter's scratch dir (`<root>/tmp`): views, trees being built. */
  tmp: string;
  /** A fresh empty dir to mount on, below `<root>/mnt` (where mount.ts puts its short links too). */
  mountDir(): Promise<string>;
  /** Prepares on `parent`, runs `fn` in the mounted rootfs, commits; returns the new name. */
  change(parent: string | undefined, fn: (rootfs: string) => void): Promise<string>;
  /** Runs `fn` on a view of `name`, then removes the view. */
  look<T>(name: string | undefined, fn: (rootfs: string) => T): Promise<T>;
  layer(name: string): Promise<TarEntry[]>;
  /** The differ's layer tar of `name`, as bytes. */
  layerBytes(name: string): Promise<Buffer>;
  /** Mount points at or below the root, from /proc/mounts. */
  mountsUnder(): string[];
}

export async function withFixture(kind: keyof typeof implementations, fn: (f: Fixture) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), `tsbuild-snap-${kind}-`));
  let db: Database | undefined;
  try {
    db = openDatabase(join(root, 'metadata.db'));
    const tmp = join(root, 'tmp');
    mkdirSync(tmp, { recursive: true }); // openDatabase makes the root's known dirs
    const store = createSnapshotStore({ snapshotsDir: join(root, 'snapshots'), db });
    const s = implementations[kind]({ store, tmpDir: tmp });
    // the test's own mount points, apart from the snapshotter's tmp so a test can see what that holds
    const mnt = join(root, 'mnt');
    mkdirSync(mnt);
    const mountDir = () => mkdtemp(join(mnt, 'm-'));
    const f: Fixture = {
      s, root, tmp, mountDir,
      async change(parent, fn) {
        const key = newSnapshotKey();
        try {
          await withMounts(await s.prepare(key, parent), await mountDir(), async (rootfs) => fn(rootfs));
          await s.commit(key, key);
          return key;
        } catch (e) {
          await s.remove(key);
          throw e;
        }
      },
      async look(name, fn) {
        const key = newSnapshotKey();
        try {
          return await withMounts(await s.view(key, name), await mountDir(), async (rootfs) => fn(rootfs));
        } finally {
          await s.remove(key);
        }
      },
      async layer(name) {
        return tarEntries(await f.layerBytes(name));
      },
      async layerBytes(name) {
        const chunks: Buffer[] = [];
        for await (const c of Readable.from(s.differ.layerTar(name))) chunks.push(c as Buffer);
        return Buffer.concat(chunks);
      },
      mountsUnder: () => mountsUnder(root),
    };
    await fn(f);
  } finally {
    db?.close();
    for (const m of mountsUnder(root).reverse()) execFileSync('umount', ['-l', m]);
    rmSync(root, { recursive: true, force: true });
  }
}

export const sh = (rootfs: string, script: string) => execFileSync('sh', ['-c', script], { cwd: rootfs, encoding: 'utf8' });
export const listing = (entries: TarEntry[]) => entries.map((e) => `${e.name} ${e.type} ${(e.mode & 0o7777).toString(8)} ${e.uid}:${e.gid}${e.linkname ? ` -> ${e.linkname}` : ''}${e.data ? ` "${e.data}"` : ''}`).sort();

/** A base with every kind of entry a layer carries. */
export function makeBase(rootfs: string): void {
  mkdirSync(join(rootfs, 'etc/app'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/app/conf'), 'v1');
  writeFileSync(join(rootfs, 'etc/keep'), 'keep');
  writeFileSync(join(rootfs, 'suid'), 'x');
  chmodSync(join(rootfs, 'suid'), 0o4755);
  writeFileSync(join(rootfs, 'owned'), 'o');
  chownSync(join(rootfs, 'owned'), 1000, 1001);
  linkSync(join(rootfs, 'etc/keep'), join(rootfs, 'hard'));
  symlinkSync('etc/keep', join(rootfs, 'sym'));
  sh(rootfs, 'mknod null c 1 3 && mkfifo fifo && setfattr -n user.note -v hi owned && setcap cap_net_raw+ep suid 2>/dev/null || setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= suid');
  mkdirSync(join(rootfs, 'gone/deep'), { recursive: true });
  writeFileSync(join(rootfs, 'gone/deep/f'), 'f');
  mkdirSync(join(rootfs, 'redo'));
  writeFileSync(join(rootfs, 'redo/old'), 'old');
}

/** The first change on makeBase's tree every suite makes: a file edited, a tree and a link removed, a mode changed, a tree added. */
export function changeBase(rootfs: string): void {
  writeFileSync(join(rootfs, 'etc/app/conf'), 'v2');
  rmSync(join(rootfs, 'gone'), { recursive: true });
  rmSync(join(rootfs, 'sym'));
  chmodSync(join(rootfs, 'owned'), 0o600);
  mkdirSync(join(rootfs, 'added/sub'), { recursive: true });
  writeFileSync(join(rootfs, 'added/sub/f'), 'new');
}

/** Mount points at or below `root`, in mount order. */
function mountsUnder(root: string): string[] {
  return execFileSync('sh', ['-c', `grep -o " ${root}[^ ]*" /proc/mounts || true`], { encoding: 'utf8' }).split('\n').map((m) => m.trim()).filter(Boolean);
}
