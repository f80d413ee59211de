// What each op kind tells the solver (worker/ops/<kind>.ts), as data: no worker needed.
import test from 'ava';
import type { CopyAction, ExecOp, Op } from '../../src/llb/index.ts';
import { describeOp, opName } from '../../worker/index.ts';

const platform = { os: 'linux', architecture: 'amd64' };
const copy = (from: number, src: string[], followSymlinks: boolean): CopyAction => ({ action: 'copy', from, src, dest: '/', copyDirContents: true, followSymlinks, allowWildcardEmpty: false, extractArchives: false, excludePatterns: [], createDestPath: true });
const exec: ExecOp = {
  kind: 'exec', args: ['make'], env: [], cwd: '/', user: '', network: 'sandbox', proxyEnv: { httpProxy: 'http://p:3128' },
  mounts: [{ type: 'root', input: 0 }, { type: 'bind', target: '/src', input: 1, source: '/app', readonly: true }, { type: 'tmpfs', target: '/t' }, { type: 'cache', target: '/c', id: 'c', sharing: 'shared', input: 1 }],
};

test('every op kind has a name in the table', (t) => {
  const ops: Op[] = [
    { kind: 'source', source: 'image', ref: 'r', digest: 'd', platform },
    { kind: 'source', source: 'local', name: 'context', excludePatterns: [] },
    { kind: 'source', source: 'http', url: 'http://x/y' },
    { kind: 'source', source: 'git', url: 'https://x/r.git' },
    exec,
    { kind: 'file', actions: [] },
  ];
  t.deepEqual(ops.map(opName), ['image', 'local', 'http', 'git', 'exec', 'file']);
});

test('a COPY reads its sources as written and follows links as the copy does, never their owners; mkdir reads nothing', (t) => {
  const d = describeOp({ kind: 'file', base: 0, actions: [copy(1, ['/a', '/b*'], true), { action: 'mkdir', path: '/d', mode: 0o755, makeParents: true }, copy(2, ['/l'], false)] });
  t.deepEqual(d.reads, { local: [{ input: 1, paths: ['/a', '/b*'], followSymlinks: true, owner: false, mode: true }, { input: 2, paths: ['/l'], followSymlinks: false, owner: false, mode: true }], remote: false });
});

test('a RUN reads what its bind and cache mounts copy, following links; its network and proxies stay out of its key', (t) => {
  const d = describeOp(exec);
  t.deepEqual(d.reads.local, [{ input: 1, paths: ['/app'], followSymlinks: true, owner: false, mode: true }, { input: 1, paths: ['/'], followSymlinks: true, owner: false, mode: true }]);
  t.false('network' in (d.keyedOp as object));
  t.false('proxyEnv' in (d.keyedOp as object));
  t.true(d.usesSandboxNetwork);
  t.false(describeOp({ ...exec, network: 'none' }).usesSandboxNetwork);
});

test('sources: a context is never run, an image is reused under --no-cache, remote content keys what --checksum does not pin', (t) => {
  t.deepEqual(describeOp({ kind: 'source', source: 'local', name: 'extra', excludePatterns: ['*.log'] }).context, { name: 'extra', excludePatterns: ['*.log'] });
  t.true(describeOp({ kind: 'source', source: 'image', ref: 'r', digest: 'd', platform }).cachedUnderNoCache);
  t.false(describeOp(exec).cachedUnderNoCache);
  t.true(describeOp({ kind: 'source', source: 'http', url: 'http://x/y' }).reads.remote);
  t.false(describeOp({ kind: 'source', source: 'http', url: 'http://x/y', checksum: `sha256:${'0'.repeat(64)}` }).reads.remote);
  t.true(describeOp({ kind: 'source', source: 'git', url: 'https://x/r.git' }).reads.remote);
});
