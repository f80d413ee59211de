// How many network namespaces the solver warms before the first step (solver/sandbox-frontier.ts).
import test from 'ava';
import { createVertex, topoSort, type Vertex } from '../../src/llb/index.ts';
import { sandboxFrontier } from '../../solver/sandbox-frontier.ts';

const image = createVertex({ kind: 'source', source: 'image', ref: 'docker.io/library/busybox:latest', digest: `sha256:${'a'.repeat(64)}`, platform: { os: 'linux', architecture: 'amd64' } }, [], { name: 'FROM busybox' });
const run = (cmd: string, base: Vertex, network: 'sandbox' | 'none' = 'sandbox') =>
  createVertex({ kind: 'exec', args: ['/bin/sh', '-c', cmd], env: [], cwd: '/', user: '', network, mounts: [{ type: 'root', input: 0 }] }, [base], { name: `RUN ${cmd}` });
// the last stage: COPY --from each of `inputs` onto the image, one file op
const merge = (inputs: Vertex[]) =>
  createVertex(
    {
      kind: 'file', base: 0,
      actions: inputs.map((_, i) => ({ action: 'copy' as const, from: i + 1, src: ['/'], dest: '/', copyDirContents: true, followSymlinks: true, allowWildcardEmpty: false, extractArchives: false, excludePatterns: [], createDestPath: true })),
    },
    [image, ...inputs],
    { name: 'COPY --from' },
  );
const isSandboxRun = (skip: Set<string> = new Set()) => (v: Vertex) => v.op.kind === 'exec' && v.op.network === 'sandbox' && !skip.has(v.digest);

test('four independent stages start at once: four namespaces', (t) => {
  const stages = ['1', '2', '3', '4'].map((n) => run(`sleep 2 && echo ${n}`, image));
  t.is(sandboxFrontier(topoSort([merge(stages)]), isSandboxRun()), 4);
});

test('a chain of RUNs needs one at a time: one namespace', (t) => {
  let v = image;
  for (let i = 0; i < 20; i++) v = run(`echo ${i}`, v);
  t.is(sandboxFrontier(topoSort([v]), isSandboxRun()), 1);
});

test('cached steps and --network=none steps need none; what follows a cached step may start at once', (t) => {
  const cached = run('make', image);
  const after = run('make test', cached);
  const offline = run('true', image, 'none');
  const order = topoSort([merge([after, offline, run('ls', offline)])]);
  // `make` is cached: `make test` and `ls` (behind a --network=none step only) start at once
  t.is(sandboxFrontier(order, isSandboxRun(new Set([cached.digest]))), 2);
  t.is(sandboxFrontier(topoSort([offline]), isSandboxRun()), 0);
});
