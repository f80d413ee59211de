// `tsbuild diff A B` as a user runs it: the same build written as an OCI tarball, a docker
// archive and a stored image compares the same; a changed file, mode and label show as -/+ lines
// with exit 1; a hostile or missing input is exit 2 with a clear message and writes nothing.
import test from 'ava';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const root = tempDir('tsbuild-diff-root-');
const out = tempDir('tsbuild-diff-out-');
test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => {
  removeDir(root);
  removeDir(out);
});

const build = async (files: Record<string, string>, args: string[]) => {
  const ctx = contextDir(files);
  try {
    const r = await runTsbuild(['build', '--progress', 'quiet', ...args, ctx], { root });
    if (r.code !== 0) throw new Error(r.stderr);
  } finally {
    removeDir(ctx);
  }
};

test.serial('one build as an OCI tarball, a docker archive, an OCI layout and a stored image: the same; a changed file and label: exit 1 with the lines', async (t) => {
  const v1 = { Dockerfile: 'FROM busybox\nLABEL v=1\nCOPY app.txt /app/\nRUN chmod 600 /app/app.txt && ln -s app.txt /app/link\n', 'app.txt': 'one\n' };
  await build(v1, ['-t', 'app:1']);
  await build(v1, ['-o', `type=oci,dest=${join(out, 'a.tar')}`, '-o', `type=docker,dest=${join(out, 'a.docker.tar')}`, '-o', `type=oci,dest=${join(out, 'a.oci')},tar=false`]);
  for (const [x, y] of [[join(out, 'a.tar'), join(out, 'a.docker.tar')], ['app:1', join(out, 'a.oci')]]) {
    const r = await runTsbuild(['diff', x, y], { root });
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /^the same: every file and the config$/m);
  }
  await build({ ...v1, Dockerfile: v1.Dockerfile.replace('v=1', 'v=2'), 'app.txt': 'two\n' }, ['-t', 'app:2']);
  const r = await runTsbuild(['diff', 'app:1', 'app:2'], { root });
  t.is(r.code, 1, r.stderr);
  t.regex(r.stdout, /^files: 1 changed, 0 only in app:1, 0 only in app:2$/m);
  t.regex(r.stdout, /^- \/app\/app\.txt\tfile\t0600\t0\t0\t4\tsha256:[0-9a-f]{64}$/m);
  t.regex(r.stdout, /^\+ \/app\/app\.txt\tfile\t0600\t0\t0\t4\tsha256:[0-9a-f]{64}$/m);
  t.regex(r.stdout, /^- +"v": "1"$/m);
  t.regex(r.stdout, /^\+ +"v": "2"$/m);
  // a change inside a field follows the field's line, so a reader sees which one it is in
  t.regex(r.stdout, /^config:\n {4}"Labels": \{\n- {5}"v": "1"\n\+ {5}"v": "2"\n$/m);
  const json = JSON.parse((await runTsbuild(['diff', '--format', 'json', 'app:1', 'app:2'], { root })).stdout) as { identical: boolean; changed: { a: string }[] };
  t.false(json.identical);
  t.deepEqual(json.changed.map((c) => c.a.split('\t')[0]), ['/app/app.txt']);
});

test.serial('a missing image, a hostile tarball and a non-image: exit 2, the cause named, nothing written outside', async (t) => {
  const missing = await runTsbuild(['diff', 'nope:1', 'app:1'], { root });
  t.is(missing.code, 2);
  t.regex(missing.stderr, /no image nope:1 in the local store, and no file or directory of that name/);
  t.notRegex(missing.stderr, /\n\s+at /);

  const tarball = async (name: string, entries: [string, string][]) => {
    const p = pack();
    for (const [n, body] of entries) p.entry({ name: n }, body);
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    writeFileSync(join(out, name), Buffer.concat(chunks));
    return join(out, name);
  };
  const evil = await tarball('evil.tar', [['../../../tmp/tsbuild-diff-escaped', 'x'], ['index.json', '{}']]);
  const r = await runTsbuild(['diff', evil, 'app:1'], { root });
  t.is(r.code, 2);
  t.regex(r.stderr, /evil\.tar as an image: entry "\.\.\/\.\.\/\.\.\/tmp\/tsbuild-diff-escaped" leads outside the archive/);
  t.notRegex(r.stderr, /\n\s+at /);
  t.false(existsSync('/tmp/tsbuild-diff-escaped'));

  const broken = await runTsbuild(['diff', await tarball('broken.tar', [['index.json', '{not json']]), 'app:1'], { root });
  t.is(broken.code, 2);
  t.regex(broken.stderr, /broken\.tar as an image: index\.json: .*is not JSON/);

  writeFileSync(join(out, 'plain.txt'), 'hello');
  const notImage = await runTsbuild(['diff', join(out, 'plain.txt'), 'app:1'], { root });
  t.is(notImage.code, 2);
  t.regex(notImage.stderr, /plain\.txt as an image: it is not a readable tar archive/);
});
