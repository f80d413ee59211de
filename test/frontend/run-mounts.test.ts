// RUN --mount and --security: what reaches the exec op, and how mistakes are reported.
import test from 'ava';
import { parseMountSpec, parseBytes, splitCsv } from '../../frontend/convert/mount-spec.ts';
import { build, exec, rejects } from './_build.ts';

test('a cache mount defaults its id to the target and shares; from= becomes an input', async (t) => {
  const def = await build('FROM busybox AS deps\nRUN fetch\nFROM busybox\nWORKDIR /src\nRUN --mount=type=cache,target=/root/.cache --mount=type=cache,id=go,target=gocache,sharing=locked,from=deps,source=/pkg,mode=0700,uid=1000,gid=1000 make\n');
  const run = exec(def.root);
  t.deepEqual(run.mounts.slice(1), [
    { type: 'cache', target: '/root/.cache', id: '/root/.cache', sharing: 'shared', input: undefined, source: undefined, mode: undefined, uid: undefined, gid: undefined },
    { type: 'cache', target: '/src/gocache', id: 'go', sharing: 'locked', input: 1, source: '/pkg', mode: 0o700, uid: 1000, gid: 1000 },
  ]);
  t.is(def.root!.inputs.length, 2);
  t.like(def.root!.inputs[1].op, { kind: 'exec', args: ['/bin/sh', '-c', 'fetch'] });
});

test('bind mounts read the context by default, stages, named contexts and images with from=', async (t) => {
  const def = await build('FROM busybox AS b\nRUN x\nFROM busybox\nRUN --mount=target=/ctx --mount=type=bind,from=b,source=out,target=/b,rw --mount=type=bind,from=tools,target=/t --mount=from=alpine:3,target=/a true\n', {
    namedContexts: { tools: { type: 'local' } },
  });
  const run = exec(def.root);
  t.deepEqual(run.mounts.slice(1), [
    { type: 'bind', target: '/ctx', input: 1, source: '/', readonly: true },
    { type: 'bind', target: '/b', input: 2, source: '/out', readonly: false },
    { type: 'bind', target: '/t', input: 3, source: '/', readonly: true },
    { type: 'bind', target: '/a', input: 4, source: '/', readonly: true },
  ]);
  const inputs = def.root!.inputs.map((v) => (v.op.kind === 'source' ? `${v.op.source}:${v.op.source === 'local' ? v.op.name : v.op.source === 'image' ? v.op.ref : ''}` : v.op.kind));
  t.deepEqual(inputs, ['image:docker.io/library/busybox:latest', 'local:context', 'exec', 'local:tools', 'image:alpine:3']);
});

test('tmpfs, secret and ssh mounts take their defaults as BuildKit does', async (t) => {
  const def = await build('FROM busybox\nRUN --mount=type=tmpfs,target=/tmp,size=64m --mount=type=secret,id=npmrc --mount=type=secret,source=aws,target=/root/.aws/credentials,required,mode=0440,uid=1 --mount=type=ssh --mount=type=ssh,id=gh,required=true true\n');
  t.deepEqual(exec(def.root).mounts.slice(1), [
    { type: 'tmpfs', target: '/tmp', size: 64 * 1024 * 1024 },
    { type: 'secret', target: '/run/secrets/npmrc', id: 'npmrc', required: false, mode: 0o400, uid: 0, gid: 0 },
    { type: 'secret', target: '/root/.aws/credentials', id: 'aws', required: true, mode: 0o440, uid: 1, gid: 0 },
    { type: 'ssh', target: '/run/buildkit/ssh_agent.0', id: 'default', required: false, mode: 0o600, uid: 0, gid: 0 },
    { type: 'ssh', target: '/run/buildkit/ssh_agent.1', id: 'gh', required: true, mode: 0o600, uid: 0, gid: 0 },
  ]);
  // a secret named only by its target takes the target's base name as id
  t.like(exec((await build('FROM busybox\nRUN --mount=type=secret,target=/etc/token cat /etc/token\n')).root).mounts[1], { id: 'token', target: '/etc/token' });
});

test('mount values expand ARGs and ENV; a mount on scratch has no root input', async (t) => {
  const def = await build('FROM scratch\nARG C=/cache\nRUN --mount=type=cache,target=$C ["/x"]\n');
  t.deepEqual(exec(def.root).mounts, [{ type: 'root', input: undefined }, { type: 'cache', target: '/cache', id: '/cache', sharing: 'shared', input: undefined, source: undefined, mode: undefined, uid: undefined, gid: undefined }]);
});

test('the mount is part of the digest: another cache id is another vertex', async (t) => {
  const a = await build('FROM busybox\nRUN --mount=type=cache,target=/c,id=a make\n');
  const b = await build('FROM busybox\nRUN --mount=type=cache,target=/c,id=b make\n');
  t.not(a.root!.digest, b.root!.digest);
});

test('mount option mistakes name the option', async (t) => {
  const run = (mount: string) => `FROM busybox\nRUN --mount=${mount} true\n`;
  const e = await rejects(t, run('type=cahce,target=/c'), 'Dockerfile:2: RUN --mount=type=cahce,target=/c: unsupported mount type "cahce"');
  t.is(e.hint, 'did you mean cache?');
  t.is(e.location?.line, 2);
  t.is((await rejects(t, run('type=cache,targte=/c'), "Dockerfile:2: RUN --mount=type=cache,targte=/c: unexpected key 'targte' in 'targte=/c'")).hint, 'did you mean target?');
  await rejects(t, run('type=cache,target=/c,sharing=everyone'), /unsupported sharing value "everyone"$/);
  await rejects(t, run('type=bind,target=/c,size=1g'), /unexpected key 'size' for mount type 'bind'$/);
  await rejects(t, run('type=tmpfs,target=/c,size=lots'), /invalid value for size: lots$/);
  await rejects(t, run('type=bind,target=/c,mode=0644'), /mode not allowed for "bind" type mounts$/);
  await rejects(t, run('type=cache,target=/c,mode=999'), /invalid value 999 for mode$/);
  await rejects(t, run('type=cache,target=/c,uid=me'), /invalid value me for uid$/);
  await rejects(t, run('type=bind,target=/c,required'), /unexpected key 'required' for mount type 'bind'$/);
  await rejects(t, run('type=secret,id=a,ro=maybe'), /invalid value for ro: maybe$/);
  await rejects(t, run('type=secret,from=x,id=a'), /secret mount should not have a from$/);
  await rejects(t, run('type=secret'), /invalid secret mount. one of source, target required$/);
  await rejects(t, run('type=secret,id=a,source=b'), /both source and id can't be set$/);
  await rejects(t, run('type=ssh,source=x'), /ssh does not support source$/);
  await rejects(t, run('type=tmpfs,target=/t,sharing=locked'), /invalid cache sharing set for tmpfs mount$/);
  await rejects(t, run('type=bind,source=x'), 'Dockerfile:2: RUN --mount type=bind: target is required');
  await rejects(t, run('type=cache,target=/'), 'Dockerfile:2: RUN --mount type=cache: invalid mount target "/"');
  await rejects(t, run('type=bind,target=/x,from=$STAGE'), /'from' doesn't support variable expansion, define alias stage instead$/);
  await rejects(t, run('type=bind,target'), /invalid field 'target' must be a key=value pair$/);
});

test('RUN --security: sandbox is the default, anything but sandbox or insecure is refused clearly', async (t) => {
  t.is(exec((await build('FROM busybox\nRUN --security=sandbox true\n')).root).network, 'sandbox');
  // --security=insecure and its entitlement: test/frontend/entitlements.test.ts
  await rejects(t, 'FROM busybox\nRUN --security=lax true\n', 'Dockerfile:2: unsupported security mode: lax');
  t.is(exec((await build('FROM busybox\nRUN --network=none true\n')).root).network, 'none');
});

test('mount spec parsing: CSV quoting, sizes, read-only defaults', (t) => {
  t.deepEqual(splitCsv('type=bind,"target=/a,b",ro'), ['type=bind', 'target=/a,b', 'ro']);
  t.is(parseBytes('1g'), 1024 ** 3);
  t.is(parseBytes('512kb'), 512 * 1024);
  t.is(parseBytes('100'), 100);
  t.true(parseMountSpec('type=bind,target=/x').readonly);
  t.false(parseMountSpec('type=cache,target=/x').readonly);
  t.false(parseMountSpec('type=bind,target=/x,rw=true').readonly);
  t.true(parseMountSpec('type=secret,id=x,required').required);
  t.throws(() => splitCsv('"type=bind'), { message: /unterminated quote/ });
});

test('type=ssh sets SSH_AUTH_SOCK to the first agent for the command only, unless ENV set it', async (t) => {
  const def = await build('FROM busybox\nRUN --mount=type=secret,id=a,env=A --mount=type=ssh,id=gh --mount=type=ssh,target=/tmp/agent ssh git@example.com\nRUN true\n');
  const withSsh = exec(def.root!.inputs[0]);
  t.true(withSsh.env.includes('SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0'));
  t.false(exec(def.root).env.some((e) => e.startsWith('SSH_AUTH_SOCK=')), 'not in the next step');
  t.false((def.config.config.Env ?? []).some((e) => e.startsWith('SSH_AUTH_SOCK=')), 'not in the image config');
  const own = await build('FROM busybox\nENV SSH_AUTH_SOCK=/mine\nRUN --mount=type=ssh true\n');
  t.true(exec(own.root).env.includes('SSH_AUTH_SOCK=/mine'));
});

test('type=secret,env=NAME: the variable only without target, variable and file with it; env is for secrets', async (t) => {
  const def = await build('FROM busybox\nRUN --mount=type=secret,id=tok,env=TOKEN --mount=type=secret,id=npm,env=NPM,target=/root/.npmrc,required=true true\n');
  t.deepEqual(exec(def.root).mounts.slice(1), [
    { type: 'secret', id: 'tok', env: 'TOKEN', required: false, mode: 0o400, uid: 0, gid: 0 },
    { type: 'secret', id: 'npm', env: 'NPM', target: '/root/.npmrc', required: true, mode: 0o400, uid: 0, gid: 0 },
  ]);
  t.false(exec(def.root).env.some((e) => e.startsWith('TOKEN=')), 'the name is in the mount, no value in the op');
  const run = (mount: string) => `FROM busybox\nRUN --mount=${mount} true\n`;
  t.is((await rejects(t, run('type=cache,target=/c,env=X'), "Dockerfile:2: RUN --mount=type=cache,target=/c,env=X: unexpected key 'env' for mount type 'cache'")).hint, 'env applies to type=secret');
  await rejects(t, run('type=secret,id=a,env='), /invalid value "" for env$/);
  await rejects(t, run('type=secret,id=a,env=A=B'), /invalid value "A=B" for env$/);
  await rejects(t, run('type=secret,env=A'), /invalid secret mount. one of source, target required$/);
});
