// Issue 9: what a context read puts in its key is what reaches the result (docs/cache-keys.md):
// never the owner of the context's files (they land as 0:0 or --chown), their mode unless an
// absolute --chmod replaces it. The op modules say so per read; the real checksum follows.
import test from 'ava';
import { chmodSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { checksumSources } from '../../src/context/index.ts';
import { createVertex, topoSort, type CopyAction, type Vertex } from '../../src/llb/index.ts';
import { computeCacheKeys, type LocalChecksum } from '../../solver/index.ts';
import { contextDir, removeDir } from '../_support/tsbuild.ts';

const ctx = createVertex({ kind: 'source', source: 'local', name: 'context', excludePatterns: [] }, [], { name: 'context' });
const base = createVertex({ kind: 'source', source: 'image', ref: 'docker.io/library/busybox:latest', digest: `sha256:${'a'.repeat(64)}`, platform: { os: 'linux', architecture: 'amd64' } }, [], { name: 'FROM busybox' });
const copy = (extra: Partial<CopyAction>): CopyAction =>
  ({ action: 'copy', from: 1, src: ['/app'], dest: '/app/', copyDirContents: true, followSymlinks: true, allowWildcardEmpty: false, extractArchives: false, excludePatterns: [], createDestPath: true, ...extra });

const steps = {
  copy: createVertex({ kind: 'file', base: 0, actions: [copy({})] }, [base, ctx], { name: 'COPY app/' }),
  chmod: createVertex({ kind: 'file', base: 0, actions: [copy({ chmod: 0o640 })] }, [base, ctx], { name: 'COPY --chmod=640 app/' }),
  symbolic: createVertex({ kind: 'file', base: 0, actions: [copy({ chmodSymbolic: '+x' })] }, [base, ctx], { name: 'COPY --chmod=+x app/' }),
  chown: createVertex({ kind: 'file', base: 0, actions: [copy({ chown: { user: '1000', group: '1000' } })] }, [base, ctx], { name: 'COPY --chown=1000:1000 app/' }),
  bind: createVertex(
    { kind: 'exec', args: ['/bin/sh', '-c', 'ls /src'], env: [], cwd: '/', user: '', network: 'sandbox', mounts: [{ type: 'root', input: 0 }, { type: 'bind', target: '/src', input: 1, source: '/app', readonly: true }] },
    [base, ctx],
    { name: 'RUN --mount=type=bind' },
  ),
} satisfies Record<string, Vertex>;

async function keysOf(dir: string): Promise<Record<keyof typeof steps, string>> {
  const checksum: LocalChecksum = (_name, src, excludes, o) => checksumSources(dir, src, excludes, o);
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(steps)) out[name] = (await computeCacheKeys(topoSort([v]), { checksum })).get(v.digest)!;
  return out as Record<keyof typeof steps, string>;
}

test('owners never count; modes count unless an absolute --chmod replaces them', async (t) => {
  const dir = contextDir({ 'app/a.txt': 'a\n', 'app/sub/b.sh': 'echo b\n' });
  const entries = ['app', 'app/a.txt', 'app/sub', 'app/sub/b.sh'].map((p) => join(dir, p));
  try {
    for (const p of entries) chownSync(p, 0, 0);
    const first = await keysOf(dir);

    for (const p of entries) chownSync(p, 1000, 1000);
    t.deepEqual(await keysOf(dir), first, 'a checkout owned by another user: every key the same');

    chmodSync(join(dir, 'app/sub/b.sh'), 0o775);
    const moded = await keysOf(dir);
    t.not(moded.copy, first.copy, 'the mode reaches the copy');
    t.not(moded.symbolic, first.symbolic, '+x works on the source mode');
    t.not(moded.chown, first.chown, '--chown changes owners, not modes');
    t.not(moded.bind, first.bind, 'the mount shows the mode');
    t.is(moded.chmod, first.chmod, '--chmod=640 replaces every mode');

    chmodSync(join(dir, 'app/sub'), 0o700);
    t.is((await keysOf(dir)).chmod, first.chmod, 'a directory\'s mode too');
  } finally {
    removeDir(dir);
  }
});
