// --build-context from an OCI layout: the normal case, and layouts crafted to escape or hang.
import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const root = tempDir('tsbuild-root-');
const work = tempDir('tsbuild-layout-');
test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => {
  removeDir(root);
  removeDir(work);
});

test('FROM a named context that is an OCI layout directory', async (t) => {
  const layout = join(work, 'base-layout');
  const base = contextDir({ Dockerfile: 'FROM busybox\nRUN echo from-layout > /origin.txt\n' });
  const ctx = contextDir({ Dockerfile: 'FROM base\nRUN cat /origin.txt > /seen.txt\n' });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '-t', 'base:v2', '-o', `type=oci,dest=${layout},tar=false`, base], { root });
    t.is(r.code, 0, r.stderr);
    const fresh = join(work, 'fresh-root');
    const out = join(work, 'out');
    const r2 = await runTsbuild(['build', '--progress', 'plain', '--build-context', `base=oci-layout://${layout}:v2`, '-o', `type=local,dest=${out}`, ctx], { root: fresh });
    t.is(r2.code, 0, r2.stderr);
    t.is(readFileSync(join(out, 'seen.txt'), 'utf8'), 'from-layout\n');
    const wrong = await runTsbuild(['build', '--progress', 'plain', '--build-context', `base=oci-layout://${layout}:nope`, ctx], { root: fresh });
    t.is(wrong.code, 1);
    t.regex(wrong.stderr, /no image tagged "nope"/);
    const arm = await runTsbuild(['build', '--progress', 'plain', '--platform', 'linux/arm64', '--build-context', `base=oci-layout://${layout}:v2`, ctx], { root: fresh });
    t.is(arm.code, 1);
    t.regex(arm.stderr, /building for linux\/arm64 is not supported yet: RUN steps execute on this machine, which is linux\/amd64/);
  } finally {
    removeDir(base);
    removeDir(ctx);
  }
});

function craftedLayout(name: string, manifests: object[], blobs: Record<string, string> = {}): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  for (const [hex, text] of Object.entries(blobs)) writeFileSync(join(dir, 'blobs', 'sha256', hex), text);
  return dir;
}

test('a layout whose digests point outside it is refused before any read', async (t) => {
  const dir = craftedLayout('escape', [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:../../../../../../etc/shadow', size: 10 }]);
  const ctx = contextDir({ Dockerfile: 'FROM base\n' });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '--build-context', `base=oci-layout://${dir}`, ctx], { root });
    t.is(r.code, 1);
    t.regex(r.stderr, /"sha256:\.\.\/\.\.\/.*" is not a sha256 digest/);
    t.notRegex(r.stderr, /shadow: /);
  } finally {
    removeDir(ctx);
  }
});

test('an index that lists itself ends with an error, not a hang', async (t) => {
  // an index blob cannot name its own digest, but two can name each other; and a wrong digest must not be trusted either
  const a = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${'0'.repeat(64)}`, size: 2 }] });
  const aHex = createHash('sha256').update(a).digest('hex');
  const dir = craftedLayout('loop', [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${aHex}`, size: a.length }], { [aHex]: a, ['0'.repeat(64)]: a });
  const ctx = contextDir({ Dockerfile: 'FROM base\n' });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '--build-context', `base=oci-layout://${dir}`, ctx], { root });
    t.is(r.code, 1);
    t.regex(r.stderr, /content has digest|nested more than|is longer than the 2 bytes its descriptor says/);
  } finally {
    removeDir(ctx);
  }
});
