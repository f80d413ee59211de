// COPY and ADD flags and sources: --parents, --exclude, --link, remote URLs, git repositories,
// --checksum, and the mistakes BuildKit refuses.
import test from 'ava';
import type { CopyAction } from '../../src/llb/index.ts';
import { parseGitRef, httpFilename } from '../../frontend/convert/remote-source.ts';
import { build, file, rejects } from './_build.ts';

const SUM = 'sha256:' + 'a'.repeat(64);

test('ADD of a URL copies the one downloaded file, pinned by --checksum', async (t) => {
  const def = await build(`FROM busybox\nADD --checksum=${SUM} --chmod=755 https://example.com/dl/tool.tar.gz /usr/local/bin/\n`);
  const op = file(def.root);
  t.like(def.root!.inputs[1].op, { kind: 'source', source: 'http', url: 'https://example.com/dl/tool.tar.gz', checksum: SUM, filename: 'tool.tar.gz' });
  t.like(op.actions[0], { action: 'copy', from: 1, src: ['/tool.tar.gz'], dest: '/usr/local/bin/', chmod: 0o755, extractArchives: false, createDestPath: true });
  t.is(def.config.history!.at(-1)!.created_by, 'ADD --chmod=755 https://example.com/dl/tool.tar.gz /usr/local/bin/ # buildkit');
  // a URL without a file name gets BuildKit's placeholder
  t.is(httpFilename('https://example.com/'), '__unnamed__');
});

test('ADD of a git repository copies its checkout; ref, subdir and --keep-git-dir', async (t) => {
  const def = await build('FROM busybox\nADD --keep-git-dir https://github.com/moby/buildkit.git#v0.12.0:docs /src\nADD git@github.com:me/app.git /app\n');
  const [first, second] = [def.root!.inputs[0], def.root!];
  t.like(first.inputs[1].op, { kind: 'source', source: 'git', url: 'https://github.com/moby/buildkit.git', ref: 'v0.12.0', keepGitDir: true });
  t.like(file(first).actions[0], { src: ['/docs'], dest: '/src', copyDirContents: true, extractArchives: false });
  t.like(second.inputs[1].op, { kind: 'source', source: 'git', url: 'git@github.com:me/app.git', ref: undefined });
  t.like(file(second).actions[0], { src: ['/'] });
  t.deepEqual(parseGitRef('https://example.com/a.tar.gz'), undefined);
  t.deepEqual(parseGitRef('ssh://git@host/repo#main'), { remote: 'ssh://git@host/repo', ref: 'main', subdir: undefined });
});

test('ADD mixes local and remote sources in one layer', async (t) => {
  const def = await build('FROM busybox\nADD a.tar https://example.com/b.txt /dst/\n');
  const actions = file(def.root).actions as CopyAction[];
  t.deepEqual(actions.map((a) => [a.src, a.extractArchives]), [[['/a.tar'], true], [['/b.txt'], false]]);
  t.like(def.root!.inputs[actions[1].from].op, { source: 'http' });
});

test('COPY --parents keeps the /./ pivot; --exclude and --link are accepted', async (t) => {
  const def = await build('FROM busybox\nCOPY --parents --link --exclude=*.md src/./app/x.go docs/a.txt /out/\n');
  t.like(file(def.root).actions[0], { src: ['/src/./app/x.go', '/docs/a.txt'], parents: true, excludePatterns: ['*.md'] });
  t.is(def.config.history!.at(-1)!.created_by, 'COPY --parents src/./app/x.go docs/a.txt /out/ # buildkit');
});

test('COPY --from may name a later stage, as in BuildKit', async (t) => {
  const def = await build('FROM busybox AS final\nCOPY --from=tools /t /t\nFROM busybox AS tools\nRUN make\n', { target: 'final' });
  t.like(def.root!.inputs[1].op, { kind: 'exec', args: ['/bin/sh', '-c', 'make'] });
});

test('remote sources and checksums: the mistakes BuildKit refuses', async (t) => {
  await rejects(t, 'FROM busybox\nCOPY https://example.com/x /x\n', 'Dockerfile:2:6: source can\'t be a URL for COPY: https://example.com/x');
  await rejects(t, 'FROM busybox\nCOPY https://h/r.git /x\n', "Dockerfile:2:6: source can't be a git ref for COPY: https://h/r.git");
  const local = await rejects(t, `FROM busybox\nADD --checksum=${SUM} app.tar /x\n`, 'Dockerfile:2: checksum requires HTTP(S) or Git sources, not "app.tar"');
  t.truthy(local.hint);
  await rejects(t, `FROM busybox\nADD --checksum=${SUM} https://h/a https://h/b /x/\n`, "Dockerfile:2: checksum can't be specified for multiple sources");
  await rejects(t, 'FROM busybox\nADD --checksum=md5:abc https://h/a /x\n', 'Dockerfile:2:16: invalid checksum digest format: md5:abc');
  const copySum = await rejects(t, `FROM busybox\nCOPY --checksum=${SUM} a /x\n`, 'Dockerfile:2:6: COPY: unknown flag: --checksum');
  t.is(copySum.hint, '--checksum is a flag of ADD');
  t.is((await rejects(t, 'FROM busybox\nADD --from=x a /x\n', 'Dockerfile:2:5: ADD: unknown flag: --from')).hint, '--from is a flag of COPY');
});

test('--chmod and --chown values are checked', async (t) => {
  const e = await rejects(t, 'FROM busybox\nCOPY --chmod=10000 a /a\n', 'Dockerfile:2:6: invalid chmod parameter: 10000');
  t.is(e.hint, 'use an octal mode between 0 and 07777 (0755) or chmod symbolic notation (+x, u=rwX,go=rX)');
  await rejects(t, 'FROM busybox\nCOPY --chmod=u+z a /a\n', 'Dockerfile:2:6: invalid chmod parameter: u+z');
  const chown = await rejects(t, 'FROM busybox\nCOPY --chown=a:b:c a /a\n', 'Dockerfile:2: invalid --chown value: "a:b:c"');
  t.is(chown.hint, 'use USER, UID, USER:GROUP or UID:GID');
  await rejects(t, 'FROM busybox\nCOPY --chown=app: a /a\n', 'Dockerfile:2: invalid --chown value: "app:"');
  // an empty value (an unset ARG) means no chown; `:GROUP` keeps the user root
  t.is((file((await build('FROM busybox\nARG U\nCOPY --chown=$U a /a\n')).root).actions[0] as CopyAction).chown, undefined);
  t.deepEqual((file((await build('FROM busybox\nCOPY --chown=:staff a /a\n')).root).actions[0] as CopyAction).chown, { user: '', group: 'staff' });
});

test('COPY --from does not expand variables, as in BuildKit', async (t) => {
  const e = await rejects(t, 'FROM busybox AS a\nFROM busybox\nARG S=a\nCOPY --from=$S /x /x\n', 'Dockerfile:4: variable expansion is not supported for --from');
  t.regex(e.hint!, /FROM \$\{IMG\} AS src/);
});

test('--chmod takes chmod(1) symbolic notation as the reference (Dockerfile 1.14) does, kept as text for the copy', async (t) => {
  const def = await build('FROM busybox\nCOPY --chmod=u=rwX,go=rX a /a\nCOPY --chmod=0640 b /b\n');
  const [first] = file(def.root!.inputs[0]).actions as CopyAction[];
  t.is(first.chmodSymbolic, 'u=rwX,go=rX');
  t.is(first.chmod, undefined);
  const [second] = file(def.root).actions as CopyAction[];
  t.is(second.chmod, 0o640);
  t.is(second.chmodSymbolic, undefined);
  t.is(def.config.history!.at(-2)!.created_by, 'COPY --chmod=u=rwX,go=rX a /a # buildkit');
  const e = await rejects(t, 'FROM busybox\nCOPY --chmod=u+z a /a\n', 'Dockerfile:2:6: invalid chmod parameter: u+z');
  t.regex(e.hint ?? '', /symbolic notation/);
});
