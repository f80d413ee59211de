// A build holds what it makes and uses in a lease while it runs (so GC, issue 9, leaves it alone),
// releases it at the end, and the lease of a build killed with -9 is dropped by the next build.
import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir, tsbuildBin } from '../_support/tsbuild.ts';

const root = tempDir('tsbuild-root-');
test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => removeDir(root));

type Held = { lease: string; type: string; id: string };
function held(): Held[] {
  const db = new DatabaseSync(join(root, 'metadata.db'), { timeout: 5000 });
  try {
    return db.prepare('SELECT r.lease, r.type, r.id FROM lease_resources r JOIN leases l ON l.id = r.lease').all() as unknown as Held[];
  } finally {
    db.close();
  }
}

async function until<T>(what: string, get: () => T | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.serial('a running build holds its cache hits and the snapshots it made; nothing is held once it ends', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo a > /a\nRUN sleep 3\n' });
  try {
    t.is((await runTsbuild(['build', '--progress', 'plain', ctx], { root })).code, 0);
    const ctx2 = contextDir({ Dockerfile: 'FROM busybox\nRUN echo a > /a\nRUN sleep 3 && echo b > /b\n' });
    try {
      const build = runTsbuild(['build', '--progress', 'plain', ctx2], { root });
      // while `sleep 3` runs: the hit below it is held (its key and snapshot), by one lease
      const during = await until('the build to hold a snapshot', () => {
        const h = held();
        return h.some((r) => r.type === 'snapshot') && h.some((r) => r.type === 'cache') ? h : undefined;
      });
      t.is(new Set(during.map((r) => r.lease)).size, 1);
      const r = await build;
      t.is(r.code, 0, r.stderr);
      t.deepEqual(held(), [], 'released at the end');
    } finally {
      removeDir(ctx2);
    }
  } finally {
    removeDir(ctx);
  }
});

test.serial('the lease of a build killed with -9 is dropped when the next build opens the root', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo killed > /k\nRUN sleep 30\n' });
  try {
    const child = spawn(process.execPath, [tsbuildBin, '--root', root, 'build', '--progress', 'plain', ctx], { stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    const lease = await until('the build to hold a snapshot', () => held().find((r) => r.type === 'snapshot')?.lease);
    child.kill('SIGKILL');
    await exited;
    t.true(held().some((r) => r.lease === lease), 'a killed build cannot release');
    const other = contextDir({ Dockerfile: 'FROM busybox\nRUN true\n' });
    try {
      const next = await runTsbuild(['build', '--progress', 'plain', other], { root });
      t.is(next.code, 0, next.stderr);
    } finally {
      removeDir(other);
    }
    t.false(held().some((r) => r.lease === lease), 'dropped at recovery');
  } finally {
    removeDir(ctx);
  }
});
