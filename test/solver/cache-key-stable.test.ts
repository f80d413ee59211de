// Cache keys are stored: a tsbuild that computes them another way (the op table, parallel content
// reads) must give the very same bytes, or every user's cache misses once. These keys must never
// change without a cacheKeyVersion bump.
//
// History: computed before the op table (issue 8) under version 2; recomputed under version 3
// (issue 9), when context checksums stopped covering what never reaches a result (the owner of a
// context's files, their mode under an absolute --chmod): each read now also says whether owner
// and mode count, and the stub checksum below hashes that too.
import test from 'ava';
import { createVertex, type CopyAction, type Op, type Vertex } from '../../src/llb/index.ts';
import { computeCacheKeys, type LocalChecksumOptions } from '../../solver/index.ts';
import { topoSort } from '../../src/llb/index.ts';

const platform = { os: 'linux', architecture: 'amd64' };
const image = createVertex({ kind: 'source', source: 'image', ref: 'docker.io/library/busybox:latest', digest: `sha256:${'a'.repeat(64)}`, platform }, [], { name: 'FROM busybox' });
const ctx = createVertex({ kind: 'source', source: 'local', name: 'context', excludePatterns: ['*.log'] }, [], { name: 'context' });
const other = createVertex({ kind: 'source', source: 'local', name: 'extra', excludePatterns: [] }, [], { name: 'extra' });
const http = createVertex({ kind: 'source', source: 'http', url: 'http://127.0.0.1:1/a.tgz' }, [], { name: 'ADD a.tgz' });
const pinned = createVertex({ kind: 'source', source: 'http', url: 'http://127.0.0.1:1/b.tgz', checksum: `sha256:${'b'.repeat(64)}` }, [], { name: 'ADD b.tgz' });
const git = createVertex({ kind: 'source', source: 'git', url: 'https://example.invalid/r.git', ref: 'main' }, [], { name: 'ADD git' });
const copyAction = (from: number, src: string[], followSymlinks: boolean, chmod?: number): CopyAction =>
  ({ action: 'copy', from, src, dest: '/app/', copyDirContents: true, followSymlinks, allowWildcardEmpty: false, extractArchives: false, excludePatterns: [], createDestPath: true, ...(chmod === undefined ? {} : { chmod }) });

function graph(): Vertex {
  const copied = createVertex({ kind: 'file', base: 0, actions: [copyAction(1, ['/a', '/b*'], true), { action: 'mkdir', path: '/d', mode: 0o755, makeParents: true }, copyAction(2, ['/x'], false, 0o640)] }, [image, ctx, other], { name: 'COPY' });
  const ran = createVertex(
    {
      kind: 'exec', args: ['/bin/sh', '-c', 'make'], env: ['A=1'], cwd: '/src', user: '', network: 'sandbox',
      mounts: [{ type: 'root', input: 0 }, { type: 'bind', target: '/in', input: 1, source: '/sub', readonly: true }, { type: 'cache', target: '/c', id: 'c', sharing: 'shared', input: 1 }, { type: 'cache', target: '/c2', id: 'c2', sharing: 'locked', input: 2, source: '/deps' }, { type: 'tmpfs', target: '/t' }],
      proxyEnv: { httpProxy: 'http://proxy:3128' },
    },
    [copied, ctx, other],
    { name: 'RUN make' },
  );
  return createVertex({ kind: 'file', base: 0, actions: [copyAction(1, ['/a.tgz'], true), copyAction(2, ['/b.tgz'], true), copyAction(3, ['/'], true)] }, [ran, http, pinned, git], { name: 'COPY remote' });
}

const checksum = async (name: string, src: readonly string[], excludes: readonly string[], o: LocalChecksumOptions) => `${name}|${src.join(',')}|${excludes.join(',')}|${o.followSymlinks}|owner=${o.owner}|mode=${o.mode}`;
const remote = async (op: Op) => `remote:${'url' in op ? op.url : '?'}`;

test('keys of every op kind are byte-identical to the ones stored under cacheKeyVersion 3', async (t) => {
  const root = graph();
  const order = topoSort([root]);
  const keys = await computeCacheKeys(order, { checksum, remote });
  t.deepEqual(order.map((v) => `${v.meta.name} ${keys.get(v.digest)}`), [
    'FROM busybox sha256:6c5c14257c6a040e8db99e913b76eb1c8612ea1cff7aa2f280b32d3867982791',
    'context sha256:5b5da4a5b3d133eeea7a80739d9bb07306da9e8d03b57e05faebdac497800218',
    'extra sha256:e681bbcaaab3fce21357d5bb155d96e625da5fedd717f15511818e4321be46e5',
    'COPY sha256:d3eb972ee5a283764d4e2e3265ed98011e27a80a39914b06b87fd2f48994948b',
    'RUN make sha256:eabb2312b4ff642324d230eeb805d680295a9354d914d61326052439a4589052',
    'ADD a.tgz sha256:c39b6c7991619a718d01d2d13c74af302833db9435f8c58b28874d4b761f201d',
    'ADD b.tgz sha256:46c489b11f8e40ecf9191384c98150c2f02ccd79ac8ef189dcbb31ac289c6fcf',
    'ADD git sha256:22f062afaf671543f017a00e2729dfa92ab8a9f91d587e486ed8ea74d01c72eb',
    'COPY remote sha256:0f604b72713e35c29175bfb2a3959e427293c87146511632205b08686070cf72',
  ]);
});
