// `tsbuild du` and `tsbuild prune` as a user runs them: the table and totals, the confirmation a
// script cannot give, flag errors, and a prune killed with SIGKILL at any moment leaving a store the
// next build uses.
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir, tsbuildBin } from '../_support/tsbuild.ts';

test('du lists records and totals; prune asks, refuses without a terminal, and prints what it freed', async (t) => {
  const root = tempDir('tsbuild-root-');
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN head -c 300000 /dev/urandom > /blob\n' });
  try {
    await buildBusybox(root);
    t.is((await runTsbuild(['build', '-q', ctx], { root })).code, 0);
    const du = await runTsbuild(['du'], { root });
    t.is(du.code, 0, du.stderr);
    t.regex(du.stdout, /^ID +RECLAIMABLE +SHARED +SIZE +LAST ACCESSED +DESCRIPTION$/m);
    t.regex(du.stdout, /^[0-9a-f]{25} +true +false +3\d\dkB +(Less than a second|\d+ seconds?|About a minute|\d+ minutes) ago +\[2\/2\] RUN head -c 300000 \/dev\/urandom > \/blob$/m);
    t.regex(du.stdout, /^Total: +\d/m);
    const verbose = await runTsbuild(['du', '--verbose'], { root });
    t.regex(verbose.stdout, /^Type: +regular$/m);
    t.regex(verbose.stdout, /^Description: +layer of busybox:latest$/m);

    const asked = await runTsbuild(['prune'], { root });
    t.is(asked.code, 1);
    t.regex(asked.stderr, /not asking for confirmation: stdin is not a terminal/);
    t.regex(asked.stderr, /pass -f \(--force\)/);
    t.notRegex(asked.stderr, /\n\s+at /, 'no stack trace');

    const badFilter = await runTsbuild(['prune', '-f', '--filter', 'until=soon'], { root });
    t.is(badFilter.code, 1);
    t.regex(badFilter.stderr, /--filter until=soon: "soon" is not a duration/);
    const unknown = await runTsbuild(['prune', '-f', '--filter', 'type=regular'], { root });
    t.regex(unknown.stderr, /unknown filter "type"/);
    t.regex((await runTsbuild(['prune', '-f', '--keep-storage', 'big'], { root })).stderr, /invalid --keep-storage "big"/);

    const kept = await runTsbuild(['prune', '-f', '--keep-storage', '1TB'], { root });
    t.is(kept.stdout, 'Total reclaimed space: 0B\n');
    const pruned = await runTsbuild(['prune', '-f'], { root });
    t.is(pruned.code, 0, pruned.stderr);
    t.regex(pruned.stdout, /^Deleted build cache objects:\n/);
    t.regex(pruned.stdout, /^Total reclaimed space: (6\d\d|[7-9]\d\d)kB$/m);
    t.notRegex((await runTsbuild(['du'], { root })).stdout, /RUN head -c 300000/);
  } finally {
    for (const d of [root, ctx]) removeDir(d);
  }
});

test('a prune killed with SIGKILL at any moment leaves a store the next build uses', async (t) => {
  const root = tempDir('tsbuild-root-');
  // many snapshots of many files: removing them takes a while, so kills land midway
  const steps = Array.from({ length: 12 }, (_, i) => `RUN mkdir -p /d${i} && for f in $(seq 1 300); do echo ${i}-$f > /d${i}/$f; done\n`).join('');
  const ctx = contextDir({ Dockerfile: `FROM busybox\n${steps}RUN cat /d11/300 > /last\n` });
  const out = tempDir('tsbuild-out-');
  try {
    await buildBusybox(root);
    // each kill lands once the prune has removed a given number of snapshot dirs (it removes them one
    // by one), so kills land midway whether the machine is quiet or loaded: no clock is read
    const snapshotDirs = () => readdirSync(join(root, 'snapshots')).length;
    let killed = 0;
    for (const delay of [1, 2, 4, 6, 8]) {
      const built = await runTsbuild(['build', '-q', ctx], { root });
      t.is(built.code, 0, built.stderr);
      const before = snapshotDirs();
      const child = spawn(process.execPath, [tsbuildBin, '--root', root, 'prune', '-f', '--all'], { stdio: 'ignore' });
      let ended = false;
      const exited = new Promise((resolve) => child.on('exit', (_code, signal) => ((ended = true), resolve(signal))));
      while (!ended && before - snapshotDirs() < delay) await new Promise((r) => setTimeout(r, 2));
      child.kill('SIGKILL');
      if ((await exited) === 'SIGKILL') killed++;
      const after = await runTsbuild(['build', '--progress', 'plain', '-o', `type=local,dest=${join(out, String(delay))}`, ctx], { root });
      t.is(after.code, 0, `after a kill at ${delay} ms: ${after.stderr}`);
      t.is(readFileSync(join(out, String(delay), 'last'), 'utf8'), '11-300\n');
      t.is(readFileSync(join(out, String(delay), 'd3', '17'), 'utf8'), '3-17\n');
    }
    t.true(killed >= 3, `only ${killed} prunes were killed before they finished`);
    // and a whole prune still finds everything consistent
    const final = await runTsbuild(['prune', '-f', '--all'], { root });
    t.is(final.code, 0, final.stderr);
  } finally {
    for (const d of [root, ctx, out]) removeDir(d);
  }
});

test('a prune from another process leaves a running build alone, its cache mount included', async (t) => {
  const root = tempDir('tsbuild-root-');
  // the long RUN waits until the test opens its gate (/c/open), after the prune: the prune happens
  // while it runs however slow the machine (a `sleep 4` could end first under load)
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo first > /first\nRUN --mount=type=cache,target=/c echo kept > /c/x && until [ -e /c/open ]; do sleep 0.05; done && cat /c/x > /second\n' });
  const out = tempDir('tsbuild-out-');
  try {
    await buildBusybox(root);
    const building = runTsbuild(['build', '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx], { root });
    // the long RUN has its cache mount once the directory exists
    const mounts = join(root, 'cache-mounts');
    let buildEnded = false;
    void building.finally(() => (buildEnded = true));
    while (!(existsSync(mounts) && readdirSync(mounts).length > 0)) {
      if (buildEnded) throw new Error(`the build ended before its cache mount was made: ${(await building).stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    let pruned;
    try {
      pruned = await runTsbuild(['prune', '-f', '--all'], { root });
    } finally {
      for (const m of readdirSync(mounts)) writeFileSync(join(mounts, m, 'open'), '');
    }
    t.is(pruned.code, 0, pruned.stderr);
    t.regex(pruned.stdout, /^Cache mounts kept: 1 other tsbuild process uses this root$/m);
    const built = await building;
    t.is(built.code, 0, built.stderr);
    t.is(readFileSync(join(out, 'first'), 'utf8'), 'first\n');
    t.is(readFileSync(join(out, 'second'), 'utf8'), 'kept\n');
    // what it held was kept: the same build again runs nothing
    const again = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
    t.regex(again.stderr, /\(0 steps ran, 3 cached\)/);
  } finally {
    for (const d of [root, ctx, out]) removeDir(d);
  }
});

test('on a terminal prune asks first: "n" keeps everything, "y" prunes', async (t) => {
  const root = tempDir('tsbuild-root-');
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN head -c 300000 /dev/urandom > /blob\n' });
  try {
    await buildBusybox(root);
    t.is((await runTsbuild(['build', '-q', ctx], { root })).code, 0);
    // script(1) gives the command a terminal and types the answer into it
    const answer = (text: string) =>
      execFileSync('script', ['-qec', `${process.execPath} ${tsbuildBin} --root ${root} prune`, '/dev/null'], { input: `${text}\n`, encoding: 'utf8' });
    const no = answer('n');
    t.regex(no, /WARNING! This will remove all dangling build cache\. Are you sure you want to continue\? \[y\/N\]/);
    t.notRegex(no, /Total reclaimed space/);
    t.regex((await runTsbuild(['du'], { root })).stdout, /RUN head -c 300000/);
    t.regex(answer('y'), /Total reclaimed space: [1-9]/);
    t.notRegex((await runTsbuild(['du'], { root })).stdout, /RUN head -c 300000/);
  } finally {
    for (const d of [root, ctx]) removeDir(d);
  }
});
