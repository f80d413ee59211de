// What every op implementation of the worker shares: the snapshotter, where scratch space is,
// the runtime chosen at open, and the stores.
import type { ContentStore } from '../src/content/index.ts';
import type { Database, StatePaths } from '../src/state/index.ts';
import type { CacheMounts } from './exec/cache-mounts.ts';
import type { NetworkPool } from './net/network-pool.ts';
import type { OciRuntimes } from './exec/runtime.ts';
import type { RuntimeStateDir } from './exec/runtime-state-dir.ts';
import type { SnapshotStore } from './snapshot/snapshot-store.ts';
import type { Snapshotter } from './snapshot/snapshotter.ts';

export interface WorkerEnv {
  paths: StatePaths;
  db: Database;
  content: ContentStore;
  snapshots: Snapshotter;
  /** Committed snapshots' diff dirs and records, the same whichever snapshotter made them. */
  snapshotStore: SnapshotStore;
  /** RUN --mount=type=cache directories and their sharing locks. */
  cacheMounts: CacheMounts;
  /** Ready network namespaces for `sandbox` steps (worker/net). */
  network: NetworkPool;
  /** Resolves the OCI runtimes on first use, then remembers them. */
  runtime(): Promise<OciRuntimes>;
  /** The runtime's state dir for this worker's steps (exec/runtime-state-dir.ts); optional for test worlds. */
  runtimeState?: RuntimeStateDir;
}
