// --secret: the value reaches RUN --mount=type=secret and nothing else: no layer, no cache key, no log.
import test from 'ava';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const root = tempDir('tsbuild-root-');
test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => removeDir(root));

const secret = 'hunter2-very-secret-value';

function storeHolds(text: string): string[] {
  const hits: string[] = [];
  const blobs = join(root, 'content', 'blobs', 'sha256');
  for (const name of readdirSync(blobs)) {
    let bytes = readFileSync(join(blobs, name));
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
    if (bytes.includes(text)) hits.push(name);
  }
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && statSync(p).size < 1 << 20 && readFileSync(p).includes(text)) hits.push(p);
    }
  };
  walk(join(root, 'snapshots'));
  if (readFileSync(join(root, 'metadata.db')).includes(text)) hits.push('metadata.db');
  return hits;
}

test('a secret is readable in its RUN and lands in no layer, key or log', async (t) => {
  const ctx = contextDir({
    Dockerfile: `FROM busybox\nRUN --mount=type=secret,id=token,required=true test "$(wc -c < /run/secrets/token)" -eq ${secret.length} && grep -q hunter2 /run/secrets/token\n`,
  });
  const file = join(ctx, '..', `secret-${process.pid}.txt`);
  writeFileSync(file, secret);
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '--secret', `id=token,src=${file}`, '-t', 'with-secret', ctx], { root });
    t.is(r.code, 0, r.stderr);
    t.false(r.stderr.includes(secret), 'not in the log');
    t.deepEqual(storeHolds(secret), [], 'not in any blob, snapshot or the metadata db');

    // the value is not part of the key: another value still hits the cache
    writeFileSync(file, 'another-value');
    const again = await runTsbuild(['build', '--progress', 'plain', '--secret', `id=token,src=${file}`, ctx], { root });
    t.regex(again.stderr, /RUN --mount=type=secret.*\n#\d+ CACHED/);

    const missing = await runTsbuild(['build', '--progress', 'plain', '--no-cache', ctx], { root });
    t.is(missing.code, 1);
    t.regex(missing.stderr, /secret "token" is required/);
  } finally {
    removeDir(ctx);
    removeDir(file);
  }
});

test('a bad --secret is one clear line', async (t) => {
  const r = await runTsbuild(['build', '--secret', 'src=/nowhere', '.'], { root });
  t.is(r.code, 1);
  t.regex(r.stderr, /^ERROR: invalid --secret "src=\/nowhere": id= is required/m);
});
