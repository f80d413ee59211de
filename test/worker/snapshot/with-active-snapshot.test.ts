// The lifecycle helper on every snapshotter: a step that succeeds is committed, one that fails or is
// cancelled leaves no active snapshot, no mount and nothing in the snapshotter's tmp dir.
import test from 'ava';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { withMounts } from '../../../worker/snapshot/mount.ts';
import { withActiveSnapshot, withView } from '../../../worker/snapshot/with-active-snapshot.ts';
import { removalsSettled } from '../../../worker/snapshot/background-removal.ts';
import { kinds, makeBase, withFixture, type Fixture } from './_snapshotters.ts';

/** A base unpacked from an image (the copying snapshotter has no tree of it yet: it builds one in tmp). */
async function unpackedBase({ s, root }: Fixture): Promise<string> {
  const dir = join(root, 'unpacked');
  mkdirSync(join(dir, 'fs'), { recursive: true });
  makeBase(join(dir, 'fs'));
  const name = 'c'.repeat(64);
  await s.importDiff(name, undefined, dir);
  return name;
}

/**
 * What a failed or cancelled step must leave: only the committed snapshots, nothing mounted, an
 * empty tmp (once the background removals ended: a view's dir leaves its place at once and is
 * removed off the step's path, worker/snapshot/background-removal.ts).
 */
async function assertClean(t: import('ava').ExecutionContext, f: Fixture, committed: string[]): Promise<void> {
  await removalsSettled();
  t.deepEqual(f.s.walk().map((i) => `${i.kind} ${i.name}`).sort(), committed.map((n) => `committed ${n}`).sort(), 'no active snapshot');
  t.deepEqual(f.mountsUnder(), [], 'nothing mounted');
  t.deepEqual(readdirSync(f.tmp), [], 'nothing left in tmp');
  t.deepEqual(readdirSync(join(f.root, 'snapshots')).filter((n) => !n.startsWith('.')).sort(), [...committed].sort(), 'no snapshot dir but the committed ones');
}

for (const kind of kinds) {
  test(`${kind}: withActiveSnapshot commits what the step wrote, under the key it returns`, (t) =>
    withFixture(kind, async (f) => {
      const base = await unpackedBase(f);
      const dir = await f.mountDir();
      let seen: string | undefined;
      const name = await withActiveSnapshot(f.s, base, (key, mounts) => {
        seen = key;
        t.like(f.s.stat(key), { kind: 'active', parent: base });
        return withMounts(mounts, dir, async (r) => writeFileSync(join(r, 'made'), 'by the step'));
      });
      t.is(seen, name);
      t.like(f.s.stat(name), { kind: 'committed', parent: base });
      t.is(await f.look(name, (r) => readFileSync(join(r, 'made'), 'utf8')), 'by the step');
      t.deepEqual((await f.layer(name)).map((e) => e.name), ['made']);
    }));

  test(`${kind}: a step that fails leaves nothing behind, and its own error is what the caller sees`, (t) =>
    withFixture(kind, async (f) => {
      const base = await unpackedBase(f);
      const dir = await f.mountDir();
      const failing = withActiveSnapshot(f.s, base, (_key, mounts) =>
        withMounts(mounts, dir, async (r) => {
          writeFileSync(join(r, 'half'), 'h');
          throw new Error('process "make" did not complete successfully: exit code: 2');
        }),
      );
      await t.throwsAsync(failing, { message: /exit code: 2/ });
      await assertClean(t, f, [base]);
    }));

  test(`${kind}: an abort in the middle of a step leaves no active snapshot, no mount and no dir in tmp`, (t) =>
    withFixture(kind, async (f) => {
      const base = await unpackedBase(f);
      // the step notices the abort and stops
      const noticing = new AbortController();
      const stopped = withActiveSnapshot(f.s, base, async (_key, mounts) =>
        withMounts(mounts, await f.mountDir(), async (r) => {
          writeFileSync(join(r, 'half'), 'h');
          noticing.abort(new Error('the build was cancelled'));
          noticing.signal.throwIfAborted();
        }), { signal: noticing.signal });
      await t.throwsAsync(stopped, { message: 'the build was cancelled' });
      await assertClean(t, f, [base]);
      // the step does not notice and finishes: its snapshot is still not committed
      const unnoticed = new AbortController();
      let key: string | undefined;
      const finished = withActiveSnapshot(f.s, base, async (k, mounts) => {
        key = k;
        await withMounts(mounts, await f.mountDir(), async (r) => {
          writeFileSync(join(r, 'whole'), 'w');
          unnoticed.abort();
          await sleep(10);
        });
      }, { signal: unnoticed.signal });
      await t.throwsAsync(finished, { code: 'CANCELLED', message: 'the step was cancelled' });
      t.is(f.s.stat(key!), undefined);
      await assertClean(t, f, [base]);
      // aborted before it starts: nothing is prepared
      await t.throwsAsync(withActiveSnapshot(f.s, base, async () => t.fail('must not run'), { signal: unnoticed.signal }), { code: 'CANCELLED' });
      await assertClean(t, f, [base]);
    }));

  test(`${kind}: withView returns what the step found and always removes the view`, (t) =>
    withFixture(kind, async (f) => {
      const base = await unpackedBase(f);
      const dir = await f.mountDir();
      const found = await withView(f.s, base, { readonly: true }, (_key, mounts) => withMounts(mounts, dir, async (r) => readFileSync(join(r, 'etc/keep'), 'utf8')));
      t.is(found, 'keep');
      await assertClean(t, f, [base]);
      const aborted = new AbortController();
      const looking = withView(f.s, base, {}, (_key, mounts) =>
        withMounts(mounts, dir, async (r) => {
          writeFileSync(join(r, 'scribble'), 's');
          aborted.abort(new Error('export cancelled'));
          aborted.signal.throwIfAborted();
        }),
      );
      await t.throwsAsync(looking, { message: 'export cancelled' });
      await assertClean(t, f, [base]);
      t.deepEqual(await f.look(base, (r) => readdirSync(r).includes('scribble')), false, 'a view changes nothing');
    }));
}
