// Issue 7 item 5: a blob damaged on disk is never exported or pushed. Each output fails naming the
// blob and what to do, and leaves nothing behind: no archive, no half-written temp file, no tag in
// the registry. Doing what the hint says repairs the store.
import test from 'ava';
import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startRegistry, type TestRegistry } from '../_support/registry.ts';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const execFileAsync = promisify(execFile);

let root: string;
let ctx: string;
let registry: TestRegistry;
let damaged: { digest: string; path: string };

test.before(async () => {
  root = tempDir();
  await buildBusybox(root);
  ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo hi > /hi.txt\n' });
  const first = await runTsbuild(['build', '--progress', 'plain', '-t', 'app', ctx], { root });
  if (first.code !== 0) throw new Error(first.stderr);
  // the largest blob is the layer holding busybox itself; 16 bytes overwritten in its middle keep its size
  const blobs = join(root, 'content', 'blobs', 'sha256');
  const largest = readdirSync(blobs)
    .map((name) => ({ name, size: statSync(join(blobs, name)).size }))
    .sort((a, b) => b.size - a.size)[0];
  damaged = { digest: `sha256:${largest.name}`, path: join(blobs, largest.name) };
  const fd = openSync(damaged.path, 'r+');
  writeSync(fd, Buffer.alloc(16, 0x41), 0, 16, Math.floor(largest.size / 2));
  closeSync(fd);
  registry = await startRegistry();
});

test.after.always(async () => {
  await registry?.stop();
  removeDir(root);
  removeDir(ctx);
});

const noStack = /^\s+at /m;

function assertDamageReported(t: import('ava').ExecutionContext, r: { code: number; stderr: string }): void {
  t.is(r.code, 1, r.stderr);
  t.true(r.stderr.includes(`ERROR: the content store is damaged: blob ${damaged.digest} holds content with digest sha256:`), r.stderr);
  t.true(r.stderr.includes(`hint: remove ${damaged.path} and build again`), r.stderr);
  t.notRegex(r.stderr, noStack);
}

for (const [type, output] of [
  ['oci', 'type=oci,dest=DEST'],
  ['docker', 'type=docker,dest=DEST'],
  ['oci directory', 'type=oci,tar=false,dest=DEST'],
] as const) {
  test.serial(`-o ${type} with a damaged layer blob fails naming it and leaves no output`, async (t) => {
    const out = tempDir('tsbuild-out-');
    try {
      const dest = join(out, 'x.tar');
      const r = await runTsbuild(['build', '--progress', 'plain', '-o', output.replace('DEST', dest), ctx], { root });
      assertDamageReported(t, r);
      t.false(existsSync(dest), 'no archive');
      t.deepEqual(readdirSync(out), [], 'no temp file left beside it');
    } finally {
      removeDir(out);
    }
  });
}

test.serial('--push with a damaged layer blob fails naming it, and the registry gets neither the blob nor the tag', async (t) => {
  const name = `${registry.host}/team/damaged:1`;
  const r = await runTsbuild(['build', '--progress', 'plain', '--push', '-t', name, ctx], { root });
  assertDamageReported(t, r);
  const base = `http://${registry.host}/v2/team/damaged`;
  t.is((await fetch(`${base}/manifests/1`, { method: 'HEAD' })).status, 404, 'no tag');
  t.is((await fetch(`${base}/blobs/${damaged.digest}`, { method: 'HEAD' })).status, 404, 'no blob under the damaged digest');
});

// last: it repairs the store the others rely on being damaged
test.serial('doing what the hint says repairs the store: the rebuilt archive is accepted by skopeo', async (t) => {
  const out = tempDir('tsbuild-out-');
  try {
    await rm(damaged.path);
    const dest = join(out, 'x.tar');
    const r = await runTsbuild(['build', '--progress', 'plain', '-o', `type=oci,dest=${dest}`, ctx], { root });
    t.is(r.code, 0, r.stderr);
    // skopeo checks every blob against its digest while copying
    await execFileAsync('skopeo', ['copy', '-q', `oci-archive:${dest}`, `dir:${join(out, 'copy')}`]);
    t.true(existsSync(join(out, 'copy', 'manifest.json')));
  } finally {
    removeDir(out);
  }
});
