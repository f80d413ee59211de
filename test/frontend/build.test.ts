import test from 'ava';
import type { FrontendOptions } from '../../frontend/index.ts';
import { topoSort, type ExecOp, type FileOp, type Vertex } from '../../src/llb/index.ts';
import { baseConfig as sharedConfig, build as buildShared, resolveAs } from './_build.ts';

// the shared base with HOME and a label, and a context that excludes node_modules
const baseConfig = { ...sharedConfig, config: { ...sharedConfig.config, Env: ['PATH=/bin:/usr/bin', 'HOME=/root'], Labels: { base: 'yes' } } };
const build = (dockerfile: string, opts: Partial<FrontendOptions> = {}) =>
  buildShared(dockerfile, { excludePatterns: ['node_modules'], resolveImage: resolveAs(baseConfig), ...opts });

const ops = (root: Vertex | undefined) => (root ? topoSort([root]).map((v) => v.op.kind + (v.op.kind === 'source' ? `:${v.op.source}` : '')) : []);
const exec = (v: Vertex | undefined) => v!.op as ExecOp;
const file = (v: Vertex | undefined) => v!.op as FileOp;

test('RUN gets the stage env with ARG values, WORKDIR and USER; ARGs stay out of the config', async (t) => {
  const def = await build('FROM busybox\nARG V=1\nENV A=b\nWORKDIR /src\nUSER app\nRUN make\n', { buildArgs: { V: '2' } });
  const run = exec(def.root);
  t.deepEqual(run.args, ['/bin/sh', '-c', 'make']);
  t.deepEqual(run.env, ['PATH=/bin:/usr/bin', 'HOME=/root', 'V=2', 'A=b']);
  t.is(run.cwd, '/src');
  t.is(run.user, 'app');
  t.is(run.network, 'sandbox');
  t.deepEqual(run.mounts, [{ type: 'root', input: 0 }]);
  t.deepEqual(def.config.config.Env, ['PATH=/bin:/usr/bin', 'HOME=/root', 'A=b']);
  t.is(def.config.config.WorkingDir, '/src');
  t.deepEqual(ops(def.root), ['source:image', 'file', 'exec']);
  t.is(def.root!.meta.name, '[3/3] RUN make');
  t.is(def.root!.meta.location?.line, 6);
});

test('a scratch stage RUNs with the default PATH and no input', async (t) => {
  const def = await build('FROM scratch\nRUN ["/hello"]\n');
  const run = exec(def.root);
  t.deepEqual(run.args, ['/hello']);
  t.deepEqual(run.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  t.deepEqual(run.mounts, [{ type: 'root', input: undefined }]);
  t.is(def.root!.inputs.length, 0);
});

test('FROM scratch alone has no root vertex', async (t) => {
  const def = await build('FROM scratch\nENV A=1\n');
  t.is(def.root, undefined);
  t.deepEqual(def.config.config.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1']);
});

test('COPY reads the shared context source and resolves dest against WORKDIR', async (t) => {
  const def = await build('FROM busybox\nWORKDIR /app\nCOPY --chown=app:staff --chmod=640 a.txt b/ ./\nCOPY c /c\n');
  const [second, first] = [def.root!, def.root!.inputs[0]];
  const copy = file(first).actions[0];
  t.like(copy, { action: 'copy', from: 1, src: ['/a.txt', '/b'], dest: '/app/', chown: { user: 'app', group: 'staff' }, chmod: 0o640, copyDirContents: true, followSymlinks: true, createDestPath: true, extractArchives: false });
  t.is(first.inputs[1].digest, second.inputs[1].digest, 'one context vertex');
  t.like(first.inputs[1].op, { kind: 'source', source: 'local', name: 'context', excludePatterns: ['node_modules'] });
});

test('ADD of local files extracts archives; COPY onto scratch has no base', async (t) => {
  const def = await build('FROM scratch\nADD app.tar.gz /\n');
  const op = file(def.root);
  t.is(op.base, undefined);
  t.like(op.actions[0], { action: 'copy', from: 0, extractArchives: true, dest: '/' });
});

test('WORKDIR chains relative paths and creates the directory as the current user', async (t) => {
  const def = await build('FROM busybox\nUSER 1000\nWORKDIR a\nWORKDIR b\n');
  t.is(def.config.config.WorkingDir, '/a/b');
  t.deepEqual(file(def.root).actions, [{ action: 'mkdir', path: '/a/b', mode: 0o755, makeParents: true, chown: { user: '1000' } }]);
});

test('identical stages give identical digests; unused stages stay out of the DAG', async (t) => {
  const def = await build('FROM busybox AS a\nRUN x\nFROM busybox AS b\nRUN x\nFROM busybox AS unused\nRUN never\nFROM busybox\nCOPY --from=a /x /x\nCOPY --from=b /x /y\n');
  const [copyA, copyB] = [def.root!.inputs[0], def.root!];
  t.is(copyA.inputs[1].digest, copyB.inputs[1].digest);
  t.false(topoSort([def.root!]).some((v) => v.op.kind === 'exec' && v.op.args.includes('never')));
});

test('--target picks a stage; stages can be referenced by index and FROM name', async (t) => {
  const df = 'FROM busybox AS base\nENV B=1\nFROM base AS dev\nRUN dev\nFROM scratch\nCOPY --from=0 /bin /bin\n';
  const dev = await build(df, { target: 'dev' });
  t.is(dev.target, 'dev');
  t.deepEqual(exec(dev.root).args, ['/bin/sh', '-c', 'dev']);
  t.true(exec(dev.root).env.includes('B=1'));
  const last = await build(df);
  t.is(last.target, '2');
  t.is(last.root!.inputs[0].op.kind, 'source');
});

test('global ARGs are usable in FROM and must be redeclared to reach a stage', async (t) => {
  const def = await build('ARG IMG=busybox\nARG V=1\nFROM ${IMG}\nARG V\nRUN echo $V $IMG\n', { buildArgs: { IMG: 'alpine' } });
  t.like(def.root!.inputs[0].op, { source: 'image', ref: 'docker.io/library/alpine:latest' });
  t.true(exec(def.root).env.includes('V=1'));
  t.false(exec(def.root).env.some((e) => e.startsWith('IMG=')));
});

test('automatic platform args', async (t) => {
  const def = await build('FROM busybox\nARG TARGETPLATFORM\nARG TARGETARCH\nRUN x\n');
  t.true(exec(def.root).env.includes('TARGETPLATFORM=linux/amd64'));
  t.true(exec(def.root).env.includes('TARGETARCH=amd64'));
});

test('COPY --from an image and from named contexts', async (t) => {
  const def = await build('FROM scratch\nCOPY --from=nginx:1 /a /a\nCOPY --from=assets /b /b\nCOPY --from=tools /c /c\n', {
    namedContexts: { assets: { type: 'local' }, tools: { type: 'image', ref: 'reg.local/tools:2' } },
  });
  const chain = [def.root!.inputs[0].inputs[0], def.root!.inputs[0], def.root!];
  t.like(chain[0].inputs[0].op, { source: 'image', ref: 'nginx:1' });
  t.like(chain[1].inputs[1].op, { source: 'local', name: 'assets', excludePatterns: [] });
  t.like(chain[2].inputs[1].op, { source: 'image', ref: 'reg.local/tools:2' });
});

test('config instructions and history', async (t) => {
  const def = await build(
    'FROM busybox\nARG V=1\nENV A=b C=d\nLABEL "x y"=z other=1\nEXPOSE 80 53/udp 8000-8001\nUSER app\nVOLUME /data\nSTOPSIGNAL SIGTERM\nWORKDIR /src\nCOPY app /app\nRUN make\nENTRYPOINT ["/app"]\nCMD serve\n',
  );
  const c = def.config.config;
  t.deepEqual(c.Labels, { base: 'yes', 'x y': 'z', other: '1' });
  t.deepEqual(Object.keys(c.ExposedPorts!), ['80/tcp', '53/udp', '8000/tcp', '8001/tcp']);
  t.deepEqual(c.Entrypoint, ['/app']);
  t.deepEqual(c.Cmd, ['/bin/sh', '-c', 'serve']);
  t.deepEqual(c.Volumes, { '/data': {} });
  t.is(c.StopSignal, 'SIGTERM');
  t.deepEqual(
    def.config.history!.map((h) => `${h.created_by}${h.empty_layer ? ' (empty)' : ''}`),
    [
      'ADD rootfs.tar /',
      'ARG V=1 (empty)',
      'ENV A=b C=d (empty)',
      'LABEL x y=z other=1 (empty)',
      'EXPOSE [80/tcp 53/udp 8000/tcp 8001/tcp] (empty)',
      'USER app (empty)',
      'VOLUME [/data] (empty)',
      'STOPSIGNAL SIGTERM (empty)',
      'WORKDIR /src',
      'COPY app /app # buildkit',
      'RUN |1 V=1 /bin/sh -c make # buildkit',
      'ENTRYPOINT ["/app"] (empty)',
      'CMD ["/bin/sh" "-c" "serve"] (empty)',
    ],
  );
  // every layer entry after the base matches one non-source vertex of the chain
  const layers = def.config.history!.filter((h) => !h.empty_layer).length - 1;
  t.is(topoSort([def.root!]).filter((v) => v.op.kind !== 'source').length, layers);
});

test('ENTRYPOINT resets an inherited CMD but keeps one set in the stage', async (t) => {
  t.is((await build('FROM busybox\nENTRYPOINT ["/x"]\n')).config.config.Cmd, null);
  t.deepEqual((await build('FROM busybox\nCMD ["a"]\nENTRYPOINT ["/x"]\n')).config.config.Cmd, ['a']);
});

test('warnings: unused build args and MAINTAINER', async (t) => {
  const def = await build('FROM busybox\nMAINTAINER me\n', { buildArgs: { NOPE: '1' } });
  t.deepEqual(def.warnings.map((w) => w.message), ['MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label', 'One or more build-args [NOPE] were not consumed']);
  t.is(def.config.author, 'me');
});

test('COPY heredoc writes a file with the expanded body', async (t) => {
  const def = await build('FROM busybox\nENV N=world\nCOPY <<EOF /hello\nhi $N\nEOF\n');
  // as BuildKit: the body is a file in a scratch tree, copied to dest (creating its parents)
  t.like(file(def.root).actions[0], { action: 'copy', from: 1, src: ['/EOF'], dest: '/hello', createDestPath: true, copyDirContents: false });
  t.like(file(def.root!.inputs[1]), { base: undefined, actions: [{ action: 'mkfile', path: '/EOF', data: 'hi world\n', mode: 0o644 }] });
  const nested = await build('FROM busybox\nCOPY --chmod=600 <<A <<B /newdir/\na\nA\nb\nB\n');
  t.like(file(nested.root).actions[1], { action: 'copy', src: ['/B'], dest: '/newdir/', chmod: 0o600 });
});
