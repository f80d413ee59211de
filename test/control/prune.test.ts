// du and prune on a real state root: what tags and running builds use stays, the rest goes, least
// recently used first; the next build works and reuses what was kept; du adds up to `du -sb`.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { BuildResult } from '../../control/index.ts';
import { build, duSb, rootConfig, withBusyboxRoot, withEngine } from '../_support/engine.ts';
import { contextDir } from '../_support/tsbuild.ts';

/** A context whose image adds `bytes` random bytes in a layer of its own (its id is `name`). */
function project(name: string, bytes: number, extra = ''): string {
  return contextDir({ Dockerfile: `FROM busybox\nRUN head -c ${bytes} /dev/urandom > /${name} && echo ${name} > /${name}.txt\n${extra}` });
}


test('prune keeps what tags and a running build use and frees the rest; the next builds reuse what was kept', async (t) => {
  const tagged = project('tagged', 200_000, 'RUN echo more > /more\n');
  const loose = project('loose', 300_000);
  // its last step runs until the test lets it end (a file in its cache mount): prune happens while
  // it runs however slow the machine is (a `sleep 3` ended before prune under double load)
  const running = project('running', 1000, 'RUN --mount=type=cache,id=gate,target=/gate echo waiting at the gate; until [ -e /gate/open ]; do sleep 0.05; done; echo slept > /slept\n');
  await withBusyboxRoot([tagged, loose, running], async (root) => {
    const openGate = () => {
      for (const dir of readdirSync(join(root, 'cache-mounts'))) writeFileSync(join(root, 'cache-mounts', dir, 'open'), '');
    };
    await withEngine(root, async (engine) => {
      t.is((await build(engine, tagged, ['app'])).ran, 3);
      t.is((await build(engine, loose)).ran, 1);
      // the first RUN of `running` is recorded before prune; only the running build's lease holds it
      let waiting!: () => void;
      const atGate = new Promise<void>((resolve) => (waiting = resolve));
      let finished = false;
      const inFlight = build(engine, running, [], {
        emit: (e) => {
          if (e.type === 'vertex.log' && e.data.includes('waiting at the gate')) waiting();
        },
      }).finally(() => (finished = true));
      let before, pruned;
      try {
        await Promise.race([atGate, inFlight.then(() => Promise.reject(new Error('the build ended without reaching its gate')))]);
        before = await engine.du();
        pruned = await engine.prune({});
        t.false(finished, 'the build was still running during prune');
      } finally {
        openGate();
      }
      t.true(pruned.freed >= 300_000, `freed ${pruned.freed}`);
      t.true(pruned.removed.some((r) => r.kind === 'snapshot'));
      t.is((await inFlight).ran, 2, 'the running build finished');
      const after = await engine.du();
      // the metadata database's write-ahead log grows with every write (the dangling image records of
      // untagged builds among them) until a checkpoint: what was freed is measured without it
      const files = (r: typeof before) => r.total - r.other.database;
      t.true(files(after) <= files(before) - 300_000, `${before.total} → ${after.total} (database ${before.other.database} → ${after.other.database})`);

      // the tagged image's steps and the running build's are still cached; the loose one ran again
      t.deepEqual(pick(await build(engine, tagged, ['app'])), { ran: 0, cached: 3 });
      t.deepEqual(pick(await build(engine, running)), { ran: 0, cached: 3 });
      t.deepEqual(pick(await build(engine, loose)), { ran: 1, cached: 1 });
      t.true((await engine.images()).some((i) => i.repository === 'app'));
    });
  });
});

test('prune --all also frees the tagged images\' build cache but never the images: they still export and rebuild', async (t) => {
  const tagged = project('tagged', 200_000);
  await withBusyboxRoot([tagged], async (root) => {
    await withEngine(root, async (engine) => {
      const first = await build(engine, tagged, ['app']);
      const pruned = await engine.prune({ all: true });
      t.true(pruned.freed >= 200_000, `freed ${pruned.freed}`);
      // every blob of the image is still there: a registry-ready image, not a cache
      const manifest = join(root, 'content', 'blobs', 'sha256', first.digest.slice(7));
      t.true(existsSync(manifest));
      const image = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${join(root, 'content')}:app:latest`], { encoding: 'utf8' })) as { Layers: string[] };
      for (const l of image.Layers) t.true(existsSync(join(root, 'content', 'blobs', 'sha256', l.slice(7))), l);
      // busybox is rebuilt from its kept blobs; the RUN runs again and makes the same file list
      const again = await build(engine, tagged, ['app']);
      t.is(again.ran, 2);
      t.true((await engine.du()).records.some((r) => r.kind === 'snapshot' && r.description.includes('app')));
    });
  });
});

test('--keep-storage first removes snapshots whose layers are kept as blobs (every step stays a hit), then entries', async (t) => {
  const older = project('older', 400_000);
  const newer = project('newer', 400_000);
  await withBusyboxRoot([older, newer], async (root) => {
    await withEngine(root, async (engine) => {
      await build(engine, older);
      await build(engine, newer);
      const total = (await engine.du()).total;
      const gentle = await engine.prune({ keepStorage: total - 200_000 });
      t.true(gentle.total <= total - 200_000, `${gentle.total} > ${total - 200_000}`);
      t.true(gentle.removed.some((r) => r.kind === 'snapshot'));
      t.false(gentle.removed.some((r) => r.kind === 'cache' || r.kind === 'blob'), 'no entry and no blob went');
      // both are still all cached: what lost its snapshot is unpacked from its blobs
      t.deepEqual(pick(await build(engine, newer)), { ran: 0, cached: 2 });
      t.deepEqual(pick(await build(engine, older)), { ran: 0, cached: 2 });
      // a limit nothing but removing entries can reach: the untagged results go, busybox stays
      const strict = await engine.prune({ keepStorage: 1 });
      t.true(strict.removed.some((r) => r.kind === 'cache'));
      t.deepEqual(pick(await build(engine, newer)), { ran: 1, cached: 1 });
      // a limit above what the root holds frees nothing
      t.is((await engine.prune({ keepStorage: total * 10 })).freed, 0);
    });
  });
});

test('--filter until= keeps what was used more recently', async (t) => {
  const stale = project('stale', 300_000);
  const fresh = project('fresh', 300_000);
  await withBusyboxRoot([stale, fresh], async (root) => {
    await withEngine(root, async (engine) => {
      await build(engine, stale);
      // everything so far was last used two hours ago
      const db = new DatabaseSync(join(root, 'metadata.db'), { timeout: 30_000 });
      db.prepare('UPDATE cache SET last_used = last_used - ?').run(2 * 3600_000);
      db.close();
      await build(engine, fresh);
      t.is((await engine.prune({ until: 3 * 3600_000 })).freed, 0, 'nothing is three hours old');
      const pruned = await engine.prune({ until: 3600_000 });
      t.true(pruned.freed >= 300_000, `freed ${pruned.freed}`);
      t.deepEqual(pick(await build(engine, fresh)), { ran: 0, cached: 2 });
      t.is((await build(engine, stale)).ran, 1);
    });
  });
});

test('du counts everything the root holds: its total is du -sb\'s within 5%', async (t) => {
  const ctx = project('counted', 500_000, 'RUN --mount=type=cache,target=/cache head -c 100000 /dev/urandom > /cache/c\n');
  await withBusyboxRoot([ctx], async (root) => {
    writeFileSync(join(root, 'tsbuild.toml'), '[gc]\nenabled = false\n');
    await withEngine(root, async (engine) => {
      await build(engine, ctx, ['counted']);
      const report = await engine.du();
      const measured = duSb(root);
      t.true(Math.abs(report.total - measured) <= measured * 0.05, `du says ${report.total}, du -sb ${measured}`);
      const parts = report.records.reduce((n, r) => n + r.size, 0) + Object.values(report.other).reduce((n, v) => n + v, 0);
      t.is(parts, report.total, 'records and the rest add up to the total');
      t.true(report.other.database > 0);
      t.true(report.records.some((r) => r.kind === 'cache-mount' && r.size >= 100_000));
      t.true(report.records.some((r) => r.kind === 'blob' && r.inUse && r.description.includes('counted')));
    }, rootConfig);
  });
});

test('the GC policy prunes after a build once the root holds more than [gc] keep-storage', async (t) => {
  const first = project('first', 400_000);
  const second = project('second', 400_000);
  await withBusyboxRoot([first, second], async (root) => {
    const total = await withEngine(root, async (engine) => {
      await build(engine, first);
      return (await engine.du()).total;
    });
    // room for one more result of ~400 kB but not two
    writeFileSync(join(root, 'tsbuild.toml'), `[gc]\nkeep-storage = ${total + 300_000}\n`);
    await withEngine(root, async (gc) => {
      const warnings: string[] = [];
      await build(gc, second, [], { emit: (e) => e.type === 'build.warning' && warnings.push(e.message) });
      t.true(warnings.some((w) => /^cache GC: freed/.test(w)), warnings.join('\n'));
      t.true((await gc.du()).total <= total + 300_000);
      // and both are still hits (a snapshot that went is unpacked from its blobs)
      t.deepEqual(pick(await build(gc, second)), { ran: 0, cached: 2 });
      t.deepEqual(pick(await build(gc, first)), { ran: 0, cached: 2 });
    }, rootConfig);
  });
});

function pick(r: BuildResult): { ran: number; cached: number } {
  return { ran: r.ran, cached: r.cached };
}

test('the GC policy sees what builds add even when the filesystem freed more meanwhile (other programs deleting)', async (t) => {
  const ctx = project('grown', 600_000);
  await withBusyboxRoot([ctx], async (root) => {
    const total = await withEngine(root, async (engine) => (await engine.du()).total);
    writeFileSync(join(root, 'tsbuild.toml'), `[gc]\nkeep-storage = ${total + 300_000}\n`);
    // a fresh measure of the root, taken when its filesystem held 1 TB more than it does now: the
    // filesystem alone says the root shrank since
    const fsUsed = (() => {
      const s = statfsSync(root);
      return (s.blocks - s.bfree) * s.bsize;
    })();
    writeFileSync(join(root, 'gc-usage.json'), JSON.stringify({ total, fsUsed: fsUsed + 1024 ** 4, at: Date.now() - 1000 }));
    await withEngine(root, async (gc) => {
      const warnings: string[] = [];
      await build(gc, ctx, [], { emit: (e) => e.type === 'build.warning' && warnings.push(e.message) });
      t.true(warnings.some((w) => /^cache GC: freed/.test(w)), `the build's own ~600 kB snapshot counts: ${warnings.join('\n')}`);
    }, rootConfig);
  });
});

test('the GC policy walks a build\'s snapshots once and carries them forward: a later build that passes the limit with them has the root walked again', async (t) => {
  const first = project('first', 600_000);
  const second = project('second', 600_000);
  await withBusyboxRoot([first, second], async (root) => {
    const total = await withEngine(root, async (engine) => (await engine.du()).total);
    const fsUsed = () => {
      const s = statfsSync(root);
      return (s.blocks - s.bfree) * s.bsize;
    };
    const measureFile = join(root, 'gc-usage.json');
    const measured = Date.now() - 1000;
    // the filesystem's own figure left out (1 TB fuller then): only the snapshots counted count
    writeFileSync(measureFile, JSON.stringify({ total, fsUsed: fsUsed() + 1024 ** 4, at: measured }));
    writeFileSync(join(root, 'tsbuild.toml'), `[gc]\nkeep-storage = ${total + 100_000_000}\n`);
    await withEngine(root, (roomy) => build(roomy, first), rootConfig);
    const carried = JSON.parse(readFileSync(measureFile, 'utf8')) as { total: number; fsUsed: number; at: number; walked: number };
    t.is(carried.walked, measured, 'the walk\'s age is kept');
    t.true(carried.at > measured);
    t.true(carried.total >= total + 600_000, `the first build's snapshot is in the estimate: ${carried.total - total}`);

    // the second build's ~600 kB pass the limit only on top of the first's, carried forward (the
    // first also unpacked busybox: from `total` alone the estimate would stay far below): the root
    // is walked again, and the measure is that walk's
    writeFileSync(measureFile, JSON.stringify({ ...carried, fsUsed: fsUsed() + 1024 ** 4 }));
    writeFileSync(join(root, 'tsbuild.toml'), `[gc]\nkeep-storage = ${carried.total + 500_000}\n`);
    await withEngine(root, (tight) => build(tight, second), rootConfig);
    const walked = JSON.parse(readFileSync(measureFile, 'utf8')) as { total: number; at: number; walked?: number };
    t.is(walked.walked, undefined, `measured anew: ${JSON.stringify(walked)}`);
    t.true(walked.at > carried.at);
  });
});
