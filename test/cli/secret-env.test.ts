// RUN --mount=type=secret,env=NAME end to end: the value reaches the command, and no byte of it is
// anywhere tsbuild writes: every file of the state root (blobs decompressed), the OCI output, the
// image config and history, and the log.
import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const root = tempDir('tsbuild-root-');
test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => removeDir(root));

const secret = 'env-secret-Zq81-xkcd936';

/** Every file below `dir` whose bytes, or whose gunzipped bytes, hold `text`. */
function filesHolding(dir: string, text: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const bytes = readFileSync(p);
        if (bytes.includes(text)) hits.push(p);
        else if (bytes[0] === 0x1f && bytes[1] === 0x8b && gunzipSync(bytes).includes(text)) hits.push(`${p} (gunzipped)`);
      }
    }
  };
  walk(dir);
  return hits;
}

test('a secret in env= reaches the command and no output byte', async (t) => {
  const ctx = contextDir({
    Dockerfile: [
      'FROM busybox',
      // the command names only parts of the value: the whole of it must come from the secret
      `RUN --mount=type=secret,id=token,env=API_TOKEN,required=true test "\${#API_TOKEN}" -eq ${secret.length} && test "\${API_TOKEN%-xkcd936}" = env-secret-Zq81`,
      'RUN --mount=type=secret,id=token,env=BOTH,target=/run/secrets/both sh -c \'test "$BOTH" = "$(cat /run/secrets/both)"\' && echo both > /both',
      '',
    ].join('\n'),
  });
  const file = join(ctx, '..', `secret-env-${process.pid}.txt`);
  writeFileSync(file, secret);
  const oci = tempDir('tsbuild-oci-');
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '--secret', `id=token,src=${file}`, '-t', 'with-env-secret', '-o', `type=oci,dest=${oci},tar=false`, ctx], { root });
    t.is(r.code, 0, r.stderr);
    t.false((r.stdout + r.stderr).includes(secret), 'not in the log');
    t.deepEqual(filesHolding(root, secret), [], 'not in any file of the state root');
    t.deepEqual(filesHolding(oci, secret), [], 'not in the OCI output (layers, config, history)');
    const index = JSON.parse(readFileSync(join(oci, 'index.json'), 'utf8'));
    const blob = (d: string) => JSON.parse(readFileSync(join(oci, 'blobs', 'sha256', d.slice('sha256:'.length)), 'utf8'));
    const config = blob(blob(index.manifests[0].digest).config.digest);
    t.false((config.config.Env as string[]).some((e) => e.startsWith('API_TOKEN') || e.startsWith('BOTH')), 'not in the image env');

    // the value is not part of the key: another value still hits the cache
    writeFileSync(file, 'another-value-of-the-same-length!!'.slice(0, secret.length));
    const again = await runTsbuild(['build', '--progress', 'plain', '--secret', `id=token,src=${file}`, ctx], { root });
    t.regex(again.stderr, /RUN --mount=type=secret,id=token,env=API_TOKEN.*\n#\d+ CACHED/);

    const missing = await runTsbuild(['build', '--progress', 'plain', '--no-cache', ctx], { root });
    t.is(missing.code, 1);
    t.regex(missing.stderr, /Dockerfile:2: .*secret "token" is required by a RUN --mount but was not given/);
  } finally {
    removeDir(ctx);
    removeDir(file);
    removeDir(oci);
  }
});
