// Docker builds images with up to 127 layers; so does tsbuild (issue 7 item 8: a 125-step
// Dockerfile failed at the 107th step with "snapshot chain too deep").
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxBinDir, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

test('a Dockerfile of 127 COPY and RUN steps builds, and FROM that 127-layer image a RUN sees every layer', async (t) => {
  const root = tempDir();
  const files: Record<string, string> = {};
  const steps = ['FROM scratch', 'COPY --from=busybox-bin busybox /bin/busybox'];
  for (let i = 1; i < 127; i++) {
    if (i % 25 === 0) steps.push(`RUN ["/bin/busybox", "sh", "-c", "echo ${i} > /r${i}"]`);
    else {
      files[`f${i}`] = String(i);
      steps.push(`COPY f${i} /c/`);
    }
  }
  const deep = contextDir({ ...files, Dockerfile: steps.join('\n') + '\n' });
  const user = contextDir({ Dockerfile: 'FROM deep\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox ls /c | /bin/busybox wc -l > /count && /bin/busybox cat /r25 /r125 /c/f126 > /seen"]\n' });
  const out = tempDir('tsbuild-out-');
  try {
    const built = await runTsbuild(['build', '--progress', 'plain', '--build-context', `busybox-bin=${busyboxBinDir}`, '-t', 'deep', deep], { root });
    t.is(built.code, 0, built.stderr);
    const from = await runTsbuild(['build', '--progress', 'plain', '-o', `type=local,dest=${out}`, user], { root });
    t.is(from.code, 0, from.stderr);
    t.is(readFileSync(join(out, 'count'), 'utf8').trim(), '121');
    t.is(readFileSync(join(out, 'seen'), 'utf8'), '25\n125\n126');
    t.true(readdirSync(join(out, 'c')).includes('f1'));
  } finally {
    for (const d of [root, deep, user, out]) removeDir(d);
  }
});
