// The prune plan as data: what goes, in what order, and what a lease, a tag or a kept child holds.
import test from 'ava';
import { planPrune, type PruneSelection } from '../../control/prune-plan.ts';
import type { StoreGraph } from '../../control/store-graph.ts';
import type { StoreUsage } from '../../control/store-usage.ts';

const now = 1_000_000_000;
const hour = 3600_000;

/** Snapshots `name: parent`, each with one layer blob `blob-<name>`, 100 bytes each; entries key → top snapshot. */
function store(spec: { snapshots: Record<string, string | undefined>; entries: [key: string, top: string, lastUsed: number][]; created?: number }) {
  const snapshots = new Map(Object.entries(spec.snapshots).map(([name, parent]) => [name, { name, parent, created: spec.created ?? now - 2 * hour }]));
  const chain = (name: string): string[] => [name, ...(snapshots.get(name)?.parent ? chain(snapshots.get(name)!.parent!) : [])];
  const graph: StoreGraph = {
    entries: spec.entries.map(([key, snapshot, lastUsed]) => ({ key, snapshot, created: lastUsed, lastUsed, description: undefined })),
    snapshots,
    chain,
    layers: (name) => [`blob-${name}`],
    ownLayers: (name) => [`blob-${name}`],
    held: { snapshots: new Set(), blobs: new Set(), cacheKeys: new Set() },
    tagged: new Map(),
  };
  const group = (size: number) => ({ size, modified: spec.created ?? now - 2 * hour });
  const usage: StoreUsage = {
    total: 200 * snapshots.size + 1000,
    snapshots: new Map([...snapshots.keys()].map((n) => [n, group(100)])),
    blobs: new Map([...snapshots.keys()].map((n) => [`blob-${n}`, group(100)])),
    cacheMounts: new Map([['m', group(50)]]),
    logs: new Map(),
    other: { database: 1000, logs: 0, tmp: 0, other: 0 },
  };
  return { graph, usage };
}

const sel = (s: Partial<PruneSelection> = {}): PruneSelection => ({ all: false, cacheMountsFree: true, ...s });
const grace = 10 * 60_000;

test('everything unheld goes, children before parents, with their blobs', (t) => {
  const { graph, usage } = store({ snapshots: { base: undefined, mid: 'base', top: 'mid' }, entries: [['k-top', 'top', now - hour], ['k-base', 'base', now - hour]] });
  const plan = planPrune(graph, usage, sel(), now, grace);
  t.deepEqual(plan.entries, ['k-top', 'k-base']);
  t.deepEqual(plan.snapshots, ['top', 'mid', 'base']);
  t.deepEqual(plan.blobs.sort(), ['blob-base', 'blob-mid', 'blob-top']);
  t.is(plan.freed, 600);
  t.deepEqual(plan.cacheMounts, [], 'cache mounts only with --all');
  t.deepEqual(planPrune(graph, usage, sel({ all: true }), now, grace).cacheMounts, ['m']);
  t.deepEqual(planPrune(graph, usage, sel({ all: true, cacheMountsFree: false }), now, grace).cacheMounts, []);
});

test('a leased snapshot keeps its chain; a leased key keeps its entry; a tagged layer keeps its entry unless --all', (t) => {
  const { graph, usage } = store({ snapshots: { base: undefined, a: 'base', b: 'base' }, entries: [['k-a', 'a', now - hour], ['k-b', 'b', now - hour]] });
  graph.held.snapshots.add('a').add('base');
  graph.held.blobs.add('blob-a').add('blob-base');
  const plan = planPrune(graph, usage, sel(), now, grace);
  t.deepEqual(plan.entries, ['k-a', 'k-b'], 'entries go; what the lease holds stays');
  t.deepEqual(plan.snapshots, ['b']);
  t.deepEqual(plan.blobs, ['blob-b']);

  const tagged = store({ snapshots: { base: undefined, a: 'base' }, entries: [['k-a', 'a', now - hour]] });
  tagged.graph.tagged.set('blob-a', ['app:latest']);
  tagged.graph.held.blobs.add('blob-a');
  t.deepEqual(planPrune(tagged.graph, tagged.usage, sel(), now, grace).entries, []);
  const all = planPrune(tagged.graph, tagged.usage, sel({ all: true }), now, grace);
  t.deepEqual(all.entries, ['k-a']);
  t.deepEqual(all.snapshots, ['a', 'base']);
  t.deepEqual(all.blobs, ['blob-base'], 'the tagged blob stays');

  const leasedKey = store({ snapshots: { a: undefined }, entries: [['k-a', 'a', now - hour]] });
  leasedKey.graph.held.cacheKeys.add('k-a');
  t.deepEqual(planPrune(leasedKey.graph, leasedKey.usage, sel(), now, grace).entries, []);
});

test('under --keep-storage, snapshots kept as blobs go first (their entries stay hits), then entries, least recently used first', (t) => {
  const { graph, usage } = store({ snapshots: { old: undefined, mid: undefined, recent: undefined }, entries: [['k-old', 'old', now - 3 * hour], ['k-mid', 'mid', now - 2 * hour], ['k-recent', 'recent', now - 60_000]] });
  // 1600 bytes held, 1450 allowed: two snapshots of 100 go, every entry stays
  const gentle = planPrune(graph, usage, sel({ keepStorage: 1450 }), now, grace);
  t.deepEqual(gentle.snapshots, ['old', 'mid']);
  t.deepEqual(gentle.entries, []);
  t.deepEqual(gentle.blobs, []);
  // 1200 allowed: all three snapshots, then the oldest entry with its blob
  const deeper = planPrune(graph, usage, sel({ keepStorage: 1200 }), now, grace);
  t.deepEqual(deeper.snapshots.sort(), ['mid', 'old', 'recent']);
  t.deepEqual(deeper.entries, ['k-old']);
  t.deepEqual(deeper.blobs, ['blob-old']);
  t.deepEqual(planPrune(graph, usage, sel({ keepStorage: 1600 }), now, grace).snapshots, []);

  // without blobs to unpack from, entries go least recently used first
  usage.blobs.clear();
  usage.total = 1300;
  t.deepEqual(planPrune(graph, usage, sel({ keepStorage: 1100 }), now, grace).entries, ['k-old', 'k-mid']);
  t.deepEqual(planPrune(graph, usage, sel({ until: 90 * 60_000 }), now, grace).entries, ['k-old', 'k-mid']);
});

test('under --keep-storage a parent goes only after its children, and never one whose chain lacks a blob', (t) => {
  const { graph, usage } = store({ snapshots: { base: undefined, top: 'base', other: undefined }, entries: [['k-top', 'top', now - 3 * hour], ['k-other', 'other', now - hour]] });
  usage.blobs.delete('blob-other');
  usage.total -= 100;
  const plan = planPrune(graph, usage, sel({ keepStorage: 1100 }), now, grace);
  t.deepEqual(plan.snapshots, ['top', 'base']);
  // then entries, least recently used first: top's, with the blobs only it used
  t.deepEqual(plan.entries, ['k-top']);
  t.deepEqual(plan.blobs.sort(), ['blob-base', 'blob-top']);
});

test('an unreferenced snapshot goes once older than the grace period, and never from under a kept child', (t) => {
  const young = store({ snapshots: { orphan: undefined }, entries: [], created: now - 60_000 });
  t.deepEqual(planPrune(young.graph, young.usage, sel(), now, grace).snapshots, []);
  const old = store({ snapshots: { orphan: undefined }, entries: [] });
  t.deepEqual(planPrune(old.graph, old.usage, sel(), now, grace).snapshots, ['orphan']);
  // a child another process just committed (young, no entry yet) keeps its old parent
  const { graph, usage } = store({ snapshots: { parent: undefined, child: 'parent' }, entries: [] });
  graph.snapshots.get('child')!.created = now - 1000;
  const plan = planPrune(graph, usage, sel(), now, grace);
  t.deepEqual(plan.snapshots, []);
  t.is(plan.freed, 200, 'only the two old unreferenced blobs');
});
