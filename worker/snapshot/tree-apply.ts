// Applies a diff in overlay upper-dir form to a whole tree, as overlayfs would show the two
// stacked: a whiteout deletes, an opaque directory hides what was below it, any other entry
// replaces what is at its path. Markers may be in overlay's form (char 0/0, the opaque xattr) or,
// on filesystems that refuse those, in OCI's (`.wh.NAME`, `.wh..wh..opq`). Used by the copying snapshotter to build a snapshot's tree.
// Every directory of the diff is made a real directory of the tree before anything below it is
// touched, so no path is ever followed through a symlink of the tree.
import { lstatSync, mkdirSync, readdirSync, rmSync, unlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { opaqueMarker, whiteoutPrefix } from '../layer/layer-tar.ts';
import { copyEntries } from './tree-copy.ts';
import { listOpaque } from './xattr.ts';

export async function applyDiff(diffDir: string, tree: string): Promise<void> {
  const opaque = await listOpaque(diffDir);
  const names: string[] = [];
  const stack: string[] = [''];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const subdirs: string[] = [];
    for (const n of readdirSync(join(diffDir, dir)).sort()) {
      const rel = join(dir, n);
      const s = lstatSync(join(diffDir, rel));
      const target = join(tree, rel);
      const there = lstatQuiet(target);
      if (s.isFile() && n === opaqueMarker) continue;
      if (s.isCharacterDevice() && s.rdev === 0) {
        if (there) rmSync(target, { recursive: true, force: true });
        continue;
      }
      if (s.isFile() && s.size === 0 && n.startsWith(whiteoutPrefix)) {
        const name = n.slice(whiteoutPrefix.length);
        // `.wh.`, `.wh..` and `.wh...` (a RUN may make such files) would name the dir or the one above
        if (name === '' || name === '.' || name === '..') continue;
        const hidden = join(tree, dir, name);
        if (lstatQuiet(hidden)) rmSync(hidden, { recursive: true, force: true });
        continue;
      }
      names.push(rel);
      if (s.isDirectory()) {
        if (there && !there.isDirectory()) unlinkSync(target);
        if (!there || !there.isDirectory()) mkdirSync(target);
        else if (opaque.has(join(diffDir, rel)) || lstatQuiet(join(diffDir, rel, opaqueMarker))?.isFile()) {
          for (const c of readdirSync(target)) rmSync(join(target, c), { recursive: true, force: true });
        }
        subdirs.push(rel);
      } else if (there) {
        // replaced, never written into: another hard link to the old file keeps its content
        rmSync(target, { recursive: true, force: true });
      }
    }
    stack.push(...subdirs.reverse());
  }
  await copyEntries(diffDir, tree, names);
}

function lstatQuiet(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}
