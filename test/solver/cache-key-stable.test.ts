// Cache keys are stored: a tsbuild that computes them another way (the op table, parallel content
// reads) must give the very same bytes, or every user's cache misses once. These keys were
// computed before the op table (issue 8) and must never change without a cacheKeyVersion bump.
import test from 'ava';
import { createVertex, type CopyAction, type Op, type Vertex } from '../../src/llb/index.ts';
import { computeCacheKeys } from '../../solver/index.ts';
import { topoSort } from '../../src/llb/index.ts';

const platform = { os: 'linux', architecture: 'amd64' };
const image = createVertex({ kind: 'source', source: 'image', ref: 'docker.io/library/busybox:latest', digest: `sha256:${'a'.repeat(64)}`, platform }, [], { name: 'FROM busybox' });
const ctx = createVertex({ kind: 'source', source: 'local', name: 'context', excludePatterns: ['*.log'] }, [], { name: 'context' });
const other = createVertex({ kind: 'source', source: 'local', name: 'extra', excludePatterns: [] }, [], { name: 'extra' });
const http = createVertex({ kind: 'source', source: 'http', url: 'http://127.0.0.1:1/a.tgz' }, [], { name: 'ADD a.tgz' });
const pinned = createVertex({ kind: 'source', source: 'http', url: 'http://127.0.0.1:1/b.tgz', checksum: `sha256:${'b'.repeat(64)}` }, [], { name: 'ADD b.tgz' });
const git = createVertex({ kind: 'source', source: 'git', url: 'https://example.invalid/r.git', ref: 'main' }, [], { name: 'ADD git' });
const copyAction = (from: number, src: string[], followSymlinks: boolean): CopyAction =>
  ({ action: 'copy', from, src, dest: '/app/', copyDirContents: true, followSymlinks, allowWildcardEmpty: false, extractArchives: false, excludePatterns: [], createDestPath: true });

function graph(): Vertex {
  const copied = createVertex({ kind: 'file', base: 0, actions: [copyAction(1, ['/a', '/b*'], true), { action: 'mkdir', path: '/d', mode: 0o755, makeParents: true }, copyAction(2, ['/x'], false)] }, [image, ctx, other], { name: 'COPY' });
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

const checksum = async (name: string, src: readonly string[], excludes: readonly string[], o: { followSymlinks: boolean }) => `${name}|${src.join(',')}|${excludes.join(',')}|${o.followSymlinks}`;
const remote = async (op: Op) => `remote:${'url' in op ? op.url : '?'}`;

test('keys of every op kind are byte-identical to the ones stored before the op table', async (t) => {
  const root = graph();
  const order = topoSort([root]);
  const keys = await computeCacheKeys(order, { checksum, remote });
  t.deepEqual(order.map((v) => `${v.meta.name} ${keys.get(v.digest)}`), [
    'FROM busybox sha256:ca3c8277fb5d15617dd682dc9b72b5555920798d1640a5fd35d9182721885611',
    'context sha256:d0e34ecf483c90cf1c990369b7a2afdf3d67ed9e32611a03a960c8309bcd6ff0',
    'extra sha256:fb8568124feaf9fd55d2b15558bf241f834ac378a5f40432e617270d6bb7f814',
    'COPY sha256:872038bcf2dbff9fb9c652558e0f26a601c2bc1359eb4369d4bf337af0e2a97b',
    'RUN make sha256:d887b63aa1b601a27b486bc3ba6604d8990ec267b924c3d336f22b21deb401ee',
    'ADD a.tgz sha256:622d18949f1d4ece86aa70d9b7b0623822fec759f204548812761692410104f0',
    'ADD b.tgz sha256:3075c8313401e3f11632bb284dbab1471d843f21ba76aa83b644a73ece592ad6',
    'ADD git sha256:2d92a62873c92dce0453f302694dd3cbf771ddcfe3f385d8dae4be729193af32',
    'COPY remote sha256:f59205f8d14f02ca0241bcdcb080ea55c925e22e33c087f91f97b403b05b69c6',
  ]);
});
