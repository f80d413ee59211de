// The snapshotter of a worker whose choice is still being made. On a new root `auto` mounts a small
// overlay to see whether overlayfs works here (choose-snapshotter.ts), and that first mount starts
// the syscall helper (a Perl process: 30-70 ms, more on a loaded machine). The worker does not wait
// for it when it opens: the build resolves its images, reads its context and unpacks its base
// layers meanwhile, and the first call that needs the snapshotter waits for the answer.
//
// What needs it: every call that makes or changes a snapshot (prepare, view, commit, importDiff,
// remove, usage) waits. Queries of committed snapshots (stat, exists, chain, walk) are answered
// from the store before the choice, as both snapshotters answer them: no active snapshot can
// exist yet, since making one waits. `name` and `activeDir` are asked only of an active snapshot,
// so after a prepare; asked earlier they throw (our bug, not the user's).
import { createActiveSnapshots, storeQueries } from './active-snapshots.ts';
import type { ChosenSnapshotter } from './choose-snapshotter.ts';
import { createUpperDirDiffer } from './differ.ts';
import type { SnapshotStore } from './snapshot-store.ts';
import type { Snapshotter, SnapshotterName } from './snapshotter.ts';

export function createPendingSnapshotter(choosing: Promise<ChosenSnapshotter>, make: (name: SnapshotterName) => Snapshotter, store: SnapshotStore): Snapshotter {
  let chosen: Snapshotter | undefined;
  const ready = choosing.then((c) => (chosen = make(c.name)));
  // a failed choice (its tmp dir cannot be made) is reported by the call that waits for it
  ready.catch(() => undefined);
  const committed = storeQueries(store, createActiveSnapshots());
  // both snapshotters write their diffs in overlay upper-dir form and tar them with this differ
  const differ = createUpperDirDiffer(store);
  const now = () => chosen ?? committed;
  const after = (what: string): Snapshotter => {
    if (!chosen) throw new Error(`snapshotter: ${what} asked before any snapshot was prepared`);
    return chosen;
  };
  return {
    get name() {
      return after('name').name;
    },
    get differ() {
      return chosen?.differ ?? differ;
    },
    prepare: async (key, parent) => (await ready).prepare(key, parent),
    view: async (key, parent, opts) => (await ready).view(key, parent, opts),
    activeDir: (key) => after('activeDir').activeDir(key),
    commit: async (name, key) => (await ready).commit(name, key),
    importDiff: async (name, parent, dir) => (await ready).importDiff(name, parent, dir),
    remove: async (key) => (await ready).remove(key),
    stat: (key) => now().stat(key),
    exists: (name) => now().exists(name),
    chain: (name) => now().chain(name),
    usage: async (key) => (await ready).usage(key),
    walk: () => now().walk(),
  };
}
