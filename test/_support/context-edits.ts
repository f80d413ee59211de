// The edits a context read must notice, made in a context holding a.txt, src/b.js, src/c.js and a
// link `link` to a dir `d` next to a dir `e`; the two context-fingerprint test files use them all.
import { chmodSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function contextEdits(dir: string) {
  return {
    content: () => writeFileSync(join(dir, 'src/b.js'), 'B'),
    mode: () => chmodSync(join(dir, 'a.txt'), 0o755),
    added: () => writeFileSync(join(dir, 'src/new.js'), 'n'),
    removed: () => unlinkSync(join(dir, 'src/c.js')),
    renamed: () => renameSync(join(dir, 'src/b.js'), join(dir, 'src/b2.js')),
    linkRetargeted: () => {
      unlinkSync(join(dir, 'link'));
      symlinkSync('e', join(dir, 'link'));
    },
  };
}
