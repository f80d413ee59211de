// The active snapshots and views of one snapshotter instance (they never outlive the process:
// recovery removes what a killed one left, see worker/recover.ts).
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import type { SnapshotInfo } from './snapshotter.ts';

export interface Active {
  key: string;
  parent: string | undefined;
  view: boolean;
  created: number;
  /** Everything of this active snapshot lives below this directory. */
  dir: string;
}

export function createActiveSnapshots() {
  const actives = new Map<string, Active>();
  return {
    add(a: Omit<Active, 'created'>): Active {
      if (actives.has(a.key)) throw new TsbuildError(`snapshot key ${a.key} is already in use`, { code: ErrorCodes.STATE_ERROR, kind: 'exists' });
      const full = { ...a, created: Date.now() };
      actives.set(a.key, full);
      return full;
    },
    get: (key: string) => actives.get(key),
    /** The active snapshot `key` that may be committed; STATE_ERROR otherwise. */
    committable(key: string): Active {
      const a = actives.get(key);
      if (!a) throw new TsbuildError(`snapshot ${key} is not an active snapshot`, { code: ErrorCodes.STATE_ERROR, kind: 'not-found' });
      if (a.view) throw new TsbuildError(`snapshot ${key} is a view and cannot be committed`, { code: ErrorCodes.STATE_ERROR, kind: 'precondition' });
      return a;
    },
    delete: (key: string) => actives.delete(key),
    infos: (): SnapshotInfo[] => [...actives.values()].map((a) => ({ name: a.key, parent: a.parent, kind: 'active', created: a.created })),
  };
}
