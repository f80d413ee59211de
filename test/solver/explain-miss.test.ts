// Cache-miss explanations in the solver: the op compared field by field (solver/op-change.ts), the
// last build of the same step found in the cache index with its listings (bounded), and the one
// line a miss gets (solver/explain-miss.ts).
import test from 'ava';
import { join } from 'node:path';
import { createVertex, type ExecOp } from '../../src/llb/index.ts';
import { openDatabase } from '../../src/state/index.ts';
import type { Listing } from '../../src/context/index.ts';
import { openCacheIndex, type KeyParts } from '../../solver/index.ts';
import { createMissExplainer, stepId } from '../../solver/explain-miss.ts';
import { boundedOpJson, describeOpChange } from '../../solver/op-change.ts';
import { removeDir, tempDir } from '../_support/tsbuild.ts';

const exec = (env: string[], args = ['/bin/sh', '-c', 'make']): ExecOp => ({ kind: 'exec', args, env, cwd: '/', user: '', network: 'sandbox', mounts: [{ type: 'root', input: 0 }] });
const json = (op: unknown) => boundedOpJson(op)!;

test('an op change is named in the Dockerfile\'s words; build-arg values are not shown', (t) => {
  const before = json(exec(['PATH=/bin', 'VERSION=1', 'MODE=a']));
  t.deepEqual(describeOpChange(before, json(exec(['PATH=/bin', 'VERSION=2', 'MODE=a'])), ['VERSION']), ['build-arg VERSION changed']);
  t.deepEqual(describeOpChange(before, json(exec(['PATH=/bin', 'VERSION=1', 'MODE=b'])), ['VERSION']), ['ENV MODE changed']);
  t.deepEqual(describeOpChange(before, json(exec(['PATH=/bin', 'MODE=a', 'NEW=1'])), ['VERSION', 'NEW']), ['build-arg NEW added', 'build-arg VERSION removed']);
  t.deepEqual(describeOpChange(before, json(exec(['PATH=/bin', 'VERSION=1', 'MODE=a'], ['/bin/sh', '-c', 'make all']))), ['command changed']);
  t.deepEqual(describeOpChange(before, before), ["tsbuild's cache key version changed"]);
  t.deepEqual(describeOpChange(undefined, before), ['the instruction changed']);
  const image = (digest: string) => json({ kind: 'source', source: 'image', ref: 'docker.io/library/busybox:latest', digest, platform: { os: 'linux', architecture: 'amd64' } });
  t.deepEqual(describeOpChange(image(`sha256:${'a'.repeat(64)}`), image(`sha256:${'b'.repeat(64)}`)), [`base image digest changed (sha256:${'a'.repeat(12)}… → sha256:${'b'.repeat(12)}…)`]);
});

test('a kept op is bounded: long strings by their digest, a huge op not at all', (t) => {
  const script = (c: string) => exec([], ['/bin/sh', '-c', c.repeat(20_000)]);
  const a = boundedOpJson(script('a'));
  const b = boundedOpJson(script('b'));
  t.true(a !== undefined && a.length < 1000);
  t.deepEqual(describeOpChange(a, b), ['command changed']);
  t.is(boundedOpJson(exec(Array.from({ length: 5000 }, (_, i) => `V${i}=${'x'.repeat(20)}`))), undefined);
});

function withIndex(fn: (cache: ReturnType<typeof openCacheIndex>) => void, opts: { listingBytes?: number } = {}) {
  const root = tempDir();
  const db = openDatabase(join(root, 'metadata.db'));
  try {
    fn(openCacheIndex(db, { exists: () => true, storedLayers: () => undefined }, opts));
  } finally {
    db.close();
    removeDir(root);
  }
}

const file = (content: string, mode = '644') => ({ mode, content });
const listingOf = (entries: Record<string, ReturnType<typeof file>>): Listing => Object.entries(entries).map(([p, e]) => `${p}\x00file\x00${e.mode}\x000:0\x00${e.content}`).sort();

test('listings are kept once per checksum and pruned oldest first past their total size', (t) =>
  withIndex(
    (cache) => {
      const big = (n: number) => listingOf(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`dir${n}/file-${i}-${Math.random()}`, file(String(i))])));
      cache.keepListing('sha256:one', big(1));
      t.is(cache.listing!('sha256:one')?.length, 200);
      cache.keepListing('sha256:two', big(2));
      cache.keepListing('sha256:three', big(3));
      t.is(cache.listing!('sha256:one'), undefined, 'the oldest went');
      t.is(cache.listing!('sha256:three')?.length, 200);
    },
    { listingBytes: 8000 },
  ));

test('a miss is compared with the last build of its step: op, content by path, then inputs', (t) =>
  withIndex((cache) => {
    const base = createVertex(exec([]), [], { name: '[stage-0 1/3] RUN true' });
    const ctx = createVertex({ kind: 'source', source: 'local', name: 'context', excludePatterns: [] }, [], { name: 'context' });
    const v = createVertex({ ...exec(['VERSION=2']), mounts: [{ type: 'root', input: 0 }, { type: 'bind', target: '/src', input: 1, source: '/src', readonly: true }] }, [base, ctx], { name: '[stage-0 2/3] RUN make', buildArgs: ['VERSION'] });
    const step = stepId(v, '/project');
    const before: KeyParts = { op: 'sha256:op-1', inputs: ['sha256:base-1', 'sha256:ctx'], content: ['sha256:sum-1'], step, opJson: json({ ...v.op, env: ['VERSION=1'] }) };
    cache.record('sha256:old', { snapshot: undefined, parts: before });
    cache.keepListing('sha256:sum-1', listingOf({ 'src/app.js': file('a'), 'src/run.sh': file('r') }));
    // another project's step of the same op is no earlier build of this one
    cache.record('sha256:other', { snapshot: undefined, parts: { ...before, step: stepId(v, '/elsewhere') } });
    cache.touch(['sha256:other']);

    const mine: KeyParts = { op: 'sha256:op-2', inputs: ['sha256:base-2', 'sha256:ctx'], content: ['sha256:sum-2'], step, opJson: json(v.op) };
    const now = listingOf({ 'src/app.js': file('b'), 'src/run.sh': file('r', '755') });
    const explainer = createMissExplainer({ cache, parts: new Map([[v.digest, mine]]), listings: (sum) => (sum === 'sha256:sum-2' ? now : undefined) });
    const miss = explainer.miss(v, 'sha256:new');
    t.true(miss?.previous);
    t.regex(miss?.reason ?? '', /^build-arg VERSION changed; src\/app\.js content changed, mode of src\/run\.sh changed \(644 → 755\); earlier step "\[stage-0 1\/3\] RUN true" changed \(since the build of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)$/);

    // a read answered from its fingerprint listed nothing this build: its checksum's kept listing stands in
    cache.keepListing('sha256:sum-2', now);
    const unlisted = createMissExplainer({ cache, parts: new Map([[v.digest, mine]]), listings: () => undefined }).miss(v, 'sha256:new');
    t.regex(unlisted?.reason ?? '', /; src\/app\.js content changed, mode of src\/run\.sh changed \(644 → 755\);/);

    const fresh = createVertex(exec(['X=1']), [base], { name: '[stage-0 3/3] RUN new' });
    t.deepEqual(createMissExplainer({ cache, parts: new Map([[fresh.digest, { ...mine, step: stepId(fresh, '/project') }]]) }).miss(fresh, 'sha256:n2'), { reason: 'no earlier build of this step in the cache', previous: false });
  }));

test('--no-cache is named only where a result was there to reuse', (t) =>
  withIndex((cache) => {
    const v = createVertex(exec([]), [], { name: '[build 1/1] RUN make', stage: 'build' });
    cache.record('sha256:k', { snapshot: undefined });
    const explainer = createMissExplainer({ cache, parts: new Map(), noCache: false });
    t.deepEqual(explainer.miss(v, 'sha256:k', { ignored: true }), { reason: 'cache disabled for stage build (--no-cache-filter)', previous: true });
    t.is(explainer.miss(v, 'sha256:none', { ignored: true }), undefined);
  }));

test('a remote source that now holds other bytes says so, with both digests', (t) =>
  withIndex((cache) => {
    const v = createVertex({ kind: 'source', source: 'http', url: 'https://example.com/tool.tar.gz' }, [], { name: '[stage-0 2/3] ADD https://example.com/tool.tar.gz /' });
    const step = stepId(v, '/project');
    const op = json(v.op);
    cache.record('sha256:old', { snapshot: undefined, parts: { op: 'sha256:op', inputs: [], content: [`sha256:${'1'.repeat(64)}`], step, opJson: op } });
    const mine: KeyParts = { op: 'sha256:op', inputs: [], content: [`sha256:${'2'.repeat(64)}`], step, opJson: op };
    t.regex(createMissExplainer({ cache, parts: new Map([[v.digest, mine]]) }).miss(v, 'sha256:new')?.reason ?? '', /^what the remote source holds changed \(sha256:1{12}… → sha256:2{12}…\) \(since the build of /);
  }));
