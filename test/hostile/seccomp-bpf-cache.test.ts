// The compiled seccomp program kept in <root>/seccomp/*.bpf is what crun loads instead of the
// profile (worker/exec/seccomp-bpf.ts). A file a crash cut short, or one changed since it was
// written, must be compiled again: never loaded, so no step runs unfiltered and no RUN fails for it.
import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

// unshare(2) of a user namespace needs no capability: only the seccomp profile refuses it
const dockerfile = 'FROM busybox\nRUN if unshare -U -r true; then echo UNFILTERED; exit 1; fi; echo filtered\n';
// one classic BPF instruction: BPF_RET|BPF_K, SECCOMP_RET_ALLOW (allows every call)
const retAllow = Buffer.from([0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]);

async function build(root: string, ctx: string) {
  return runTsbuild(['build', '--progress', 'plain', '--no-cache', ctx], { root });
}

test('a kept seccomp program that was replaced or cut short is compiled again, never loaded', async (t) => {
  const root = tempDir();
  const ctx = contextDir({ Dockerfile: dockerfile });
  t.teardown(() => {
    removeDir(root);
    removeDir(ctx);
  });
  await buildBusybox(root);
  const first = await build(root, ctx);
  t.is(first.code, 0, first.stderr);
  const dir = join(root, 'seccomp');
  const files = readdirSync(dir).filter((f) => f.endsWith('.bpf'));
  t.is(files.length, 1);
  const file = join(dir, files[0]);
  const good = readFileSync(file);

  const damaged: Record<string, Buffer> = {
    'an allow-all program': retAllow,
    'the file cut at an instruction boundary': good.subarray(0, 32 + 8 * 100),
    'the file cut to its first instruction': good.subarray(0, 8),
    'the program with its first instruction replaced': Buffer.concat([good.subarray(0, 32), retAllow, good.subarray(40)]),
  };
  for (const [what, bytes] of Object.entries(damaged)) {
    writeFileSync(file, bytes);
    const r = await build(root, ctx);
    t.is(r.code, 0, `${what}: ${r.stderr}`);
    t.regex(r.stderr, /^#\d+ [\d.]+ filtered$/m, what);
    t.notRegex(r.stderr, /^#\d+ [\d.]+ UNFILTERED$/m, what);
    t.deepEqual(readFileSync(file), good, `${what}: written again`);
  }
});
