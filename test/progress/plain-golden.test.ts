// `--progress plain` line for line as buildx writes it, for a fixed build: a fresh build, then the
// same build again (every step CACHED). Times, image ids and the log lines' seconds are normalised;
// everything else (numbering, the internal steps, the export's sub-steps, the warnings summary,
// blank lines) must match test/progress/golden/plain-build.txt. To accept a deliberate change:
// UPDATE_GOLDEN=1 node node_modules/ava/entrypoints/cli.mjs test/progress/plain-golden.test.ts
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, repoRoot, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const golden = join(repoRoot, 'test', 'progress', 'golden', 'plain-build.txt');

/** What varies from run to run: step and status times, the log lines' seconds, digests. */
export function normalise(text: string): string {
  return text
    .replace(/^(#\d+ DONE) \d+\.\ds$/gm, '$1 X.Xs')
    .replace(/^(#\d+ .*?)(?: \d+\.\ds)? done$/gm, '$1 done')
    .replace(/^(#\d+) \d+\.\d{3} /gm, '$1 X.XXX ')
    .replace(/sha256:[0-9a-f]{64}/g, 'sha256:<digest>')
    .replace(/sha256:[0-9a-f]{12}\b/g, 'sha256:<id>')
    .replace(/^(Built .*\)) [\d.]+[kMG]?B in \d+\.\ds$/gm, '$1 <size> in X.Xs');
}

test('plain output of a fixed build, then of the same build all cached, matches the golden file', async (t) => {
  const root = tempDir('tsbuild-plain-golden-');
  const ctx = contextDir({
    Dockerfile: 'FROM busybox\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt && echo built > /built\nCMD cat /hello.txt\n',
    'hello.txt': 'hello\n',
    '.dockerignore': 'Dockerfile\n',
  });
  const made = Date.now();
  try {
    await buildBusybox(root);
    // files changed in the last 2 s are read again by every build (src/context/file-digest-cache.ts):
    // older ones are read once, so the second build's "transferring context" is the same every run
    await new Promise((r) => setTimeout(r, Math.max(0, 2100 - (Date.now() - made))));
    const args = ['build', '--progress', 'plain', '--build-arg', 'UNUSED=1', '-t', 'golden', ctx];
    const first = await runTsbuild(args, { root });
    t.is(first.code, 0, first.stderr);
    const again = await runTsbuild(args, { root });
    t.is(again.code, 0, again.stderr);
    const text = `${normalise(first.stderr)}=== the same build again ===\n${normalise(again.stderr)}`;
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, text);
    t.is(text, readFileSync(golden, 'utf8'));
  } finally {
    removeDir(root);
    removeDir(ctx);
  }
});
