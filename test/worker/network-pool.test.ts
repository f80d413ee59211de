// The pool of ready network namespaces (worker/net/network-pool.ts): reuse, destruction, close.
// A recording stand-in for pasta here; test/cli/network.test.ts runs the real one.
import test from 'ava';
import { createNetworkPool } from '../../worker/net/network-pool.ts';
import type { NetworkSandbox } from '../../worker/net/pasta.ts';

function recorder() {
  const created: string[] = [];
  const destroyed: string[] = [];
  const create = async (name: string): Promise<NetworkSandbox> => {
    created.push(name);
    return { name, path: `/run/netns/${name}`, destroy: async () => void destroyed.push(name) };
  };
  return { created, destroyed, create };
}

test('a released namespace is reused by the next step; names carry the prefix', async (t) => {
  const r = recorder();
  const pool = createNetworkPool({ prefix: 'tsb-test-', tmpDir: '/tmp', create: r.create });
  const a = await pool.acquire();
  await a.release({ reuse: true });
  const b = await pool.acquire();
  t.is(b.path, a.path);
  t.is(r.created.length, 1);
  t.regex(r.created[0], /^tsb-test-[0-9a-f]{8}$/);
  await b.release({ reuse: true });
  await pool.close();
  t.deepEqual(r.destroyed, r.created);
});

test('parallel steps get different namespaces; a privileged one is destroyed, not reused', async (t) => {
  const r = recorder();
  const pool = createNetworkPool({ prefix: 'p-', tmpDir: '/tmp', create: r.create });
  const [a, b] = await Promise.all([pool.acquire(), pool.acquire()]);
  t.not(a.path, b.path);
  await a.release({ reuse: false });
  t.deepEqual(r.destroyed, [a.path.slice('/run/netns/'.length)]);
  await a.release({ reuse: false });
  t.is(r.destroyed.length, 1, 'release is idempotent');
  await pool.close();
  t.is(r.destroyed.length, 2, 'close destroys what is still leased');
  await t.throwsAsync(pool.acquire(), { message: /closed/ });
});

test('warm starts one in the background; acquire takes it; a failed warm-up surfaces at acquire', async (t) => {
  const r = recorder();
  const pool = createNetworkPool({ prefix: 'w-', tmpDir: '/tmp', create: r.create });
  pool.warm();
  pool.warm();
  t.is(r.created.length, 1);
  await pool.acquire();
  t.is(r.created.length, 1);
  await pool.close();

  const failing = createNetworkPool({ prefix: 'f-', tmpDir: '/tmp', create: async () => { throw new Error('pasta missing'); } });
  failing.warm();
  await t.throwsAsync(failing.acquire(), { message: 'pasta missing' });
  await failing.close();
});

test('warm(n) readies n namespaces for n steps starting at once, at most maxIdle, none twice', async (t) => {
  const r = recorder();
  const pool = createNetworkPool({ prefix: 'n-', tmpDir: '/tmp', maxIdle: 3, create: r.create });
  pool.warm(4);
  t.is(r.created.length, 3, 'capped at maxIdle');
  pool.warm(2);
  t.is(r.created.length, 3, 'enough are coming already');
  const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
  t.is(r.created.length, 3, 'each step took a warmed one');
  t.is(new Set(leases.map((l) => l.path)).size, 3);
  for (const l of leases) await l.release({ reuse: true });
  pool.warm(3);
  t.is(r.created.length, 3, 'idle ones count as ready');
  await pool.close();
  t.deepEqual([...r.destroyed].sort(), [...r.created].sort());
});

test('idle namespaces beyond maxIdle are destroyed on release', async (t) => {
  const r = recorder();
  const pool = createNetworkPool({ prefix: 'm-', tmpDir: '/tmp', maxIdle: 1, create: r.create });
  const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
  for (const l of leases) await l.release({ reuse: true });
  t.is(r.destroyed.length, 2);
  await pool.close();
  t.is(r.destroyed.length, 3);
});

test('drain destroys the idle namespaces at once, none while one is leased, and close waits for those destroys', async (t) => {
  const destroyed: string[] = [];
  let finish!: () => void;
  const slow = new Promise<void>((resolve) => (finish = resolve));
  const create = async (name: string): Promise<NetworkSandbox> => ({
    name, path: `/run/netns/${name}`,
    destroy: async () => {
      await slow;
      destroyed.push(name);
    },
  });
  const pool = createNetworkPool({ prefix: 'd-', tmpDir: '/tmp', create });
  const [a, b] = await Promise.all([pool.acquire(), pool.acquire()]);
  await a.release({ reuse: true });
  pool.drain();
  await b.release({ reuse: true });
  // b was leased at the drain: both were kept for reuse
  const c = await pool.acquire();
  t.true([a.path, b.path].includes(c.path));
  await c.release({ reuse: true });
  pool.drain();
  // both destroys are under way; a new step gets a new namespace
  const d = await pool.acquire();
  t.false([a.path, b.path].includes(d.path));
  await d.release({ reuse: true });
  let closed = false;
  const closing = pool.close().then(() => (closed = true));
  await new Promise((r) => setImmediate(r));
  t.false(closed, 'close waits for the drained namespaces');
  finish();
  await closing;
  t.is(destroyed.length, 3);
});
