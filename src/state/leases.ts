// Leases: what a running build (or anything else) holds, so GC never removes what is in use. A
// lease names resources (a snapshot, a blob, a cache key) and lives until released or expired. Tags
// hold their image's manifest through the `tags` table itself (no lease): GC walks a held manifest
// to its config and layers. A held snapshot holds its parents (GC removes a chain from the top).
//
// A build takes one lease, adds what it creates or uses as it goes, and releases it at the end. A
// killed process cannot release: its lease is dropped once it expires or its owner process is gone
// (worker/recover.ts, at open). The expiry is a bound for processes that never die (a hung build):
// it is far beyond any build's length.
//
//   const lease = openLeases(db).create();
//   lease.add('snapshot', id);
//   …
//   lease.release();
//   openLeases(db).held();   // what GC must keep
import { randomBytes } from 'node:crypto';
import { transaction, transientWrite, type Database } from './db.ts';
import { ownerAlive, processIdentity } from './process-identity.ts';

export type LeaseResource = 'snapshot' | 'blob' | 'cache';

export interface Lease {
  readonly id: string;
  /** Holds `id` of `type` until the lease ends. Idempotent: a resource this lease already holds costs no write. */
  add(type: LeaseResource, id: string): void;
  /** Holds them all, written in one transaction (a build's cache hits: one commit, not one each). */
  addAll(resources: Iterable<readonly [LeaseResource, string]>): void;
  /** Ends the lease and drops what it held. Idempotent. */
  release(): void;
}

/** Everything held now, by type: what GC must keep. */
export interface Held {
  snapshots: Set<string>;
  /** Leased blobs and the manifests tags name (a manifest holds its config and layers). */
  blobs: Set<string>;
  cacheKeys: Set<string>;
}

export interface Leases {
  /**
   * A new lease owned by this process. `ttlMs`: how long it lasts unless released (default 24 h;
   * `null`: until released, for a lease nothing kills, e.g. a pin the user made).
   */
  create(opts?: { ttlMs?: number | null; owned?: boolean }): Lease;
  /** Whether a live lease (or, for a blob, a tag) holds the resource. */
  isHeld(type: LeaseResource, id: string): boolean;
  held(): Held;
  /** Drops leases that expired or whose owner process is gone; returns how many. */
  dropStale(now?: number): number;
}

// A day: far longer than any build, short enough that a hung process does not pin the store for long.
const defaultTtlMs = 24 * 60 * 60 * 1000;

export function openLeases(db: Database): Leases {
  const insert = db.prepare('INSERT INTO leases (id, owner, created, expires) VALUES (?, ?, ?, ?)');
  const addResource = db.prepare('INSERT OR IGNORE INTO lease_resources (lease, type, id) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM leases WHERE id = ?)');
  const remove = db.prepare('DELETE FROM leases WHERE id = ?');
  // live: not expired (the owner check is recovery's: a lease of a dead process is dropped there)
  const live = '(l.expires IS NULL OR l.expires > ?)';
  const heldOne = db.prepare(`SELECT 1 FROM lease_resources r JOIN leases l ON l.id = r.lease WHERE r.type = ? AND r.id = ? AND ${live} LIMIT 1`);
  // a dangling image (`<none>@` rows: an untagged build) holds nothing: a prune removes it first (control/prune.ts)
  const tagged = db.prepare("SELECT 1 FROM tags WHERE digest = ? AND name NOT LIKE '<none>@%' LIMIT 1");
  const heldAll = db.prepare(`SELECT DISTINCT r.type, r.id FROM lease_resources r JOIN leases l ON l.id = r.lease WHERE ${live}`);
  const all = db.prepare('SELECT id, owner, expires FROM leases');
  return {
    create(opts = {}) {
      const id = randomBytes(12).toString('hex');
      const now = Date.now();
      const ttl = opts.ttlMs === undefined ? defaultTtlMs : opts.ttlMs;
      // a lease's rows are transient (db.ts leaveOpenAtExit): they end with their build or process
      transientWrite(db, () => insert.run(id, opts.owned === false ? null : processIdentity(), now, ttl === null ? null : now + ttl));
      let released = false;
      // what this lease has committed: the solver and the exporter add a hit's snapshot and blobs
      // more than once, and each write is a commit. Inside a caller's transaction nothing is
      // remembered: a rollback would take it back.
      const added = new Set<string>();
      const keyOf = (type: LeaseResource, resource: string) => `${type}\0${resource}`;
      return {
        id,
        add(type, resource) {
          if (released || added.has(keyOf(type, resource))) return;
          transientWrite(db, () => addResource.run(id, type, resource, id));
          if (!db.isTransaction) added.add(keyOf(type, resource));
        },
        addAll(resources) {
          if (released) return;
          const todo = new Map<string, readonly [LeaseResource, string]>();
          for (const r of resources) if (!added.has(keyOf(...r))) todo.set(keyOf(...r), r);
          if (todo.size === 0) return;
          const write = () => {
            for (const [type, resource] of todo.values()) addResource.run(id, type, resource, id);
          };
          if (db.isTransaction) return transientWrite(db, write);
          transientWrite(db, () => transaction(db, write));
          for (const k of todo.keys()) added.add(k);
        },
        release() {
          if (released) return;
          released = true;
          transientWrite(db, () => remove.run(id));
        },
      };
    },
    isHeld(type, id) {
      if (heldOne.get(type, id, Date.now()) !== undefined) return true;
      return type === 'blob' && tagged.get(id) !== undefined;
    },
    held() {
      const out: Held = { snapshots: new Set(), blobs: new Set(), cacheKeys: new Set() };
      for (const r of heldAll.all(Date.now()) as { type: LeaseResource; id: string }[]) {
        (r.type === 'snapshot' ? out.snapshots : r.type === 'blob' ? out.blobs : out.cacheKeys).add(r.id);
      }
      for (const r of db.prepare("SELECT digest FROM tags WHERE name NOT LIKE '<none>@%'").all() as { digest: string }[]) out.blobs.add(r.digest);
      return out;
    },
    dropStale(now = Date.now()) {
      let dropped = 0;
      for (const l of all.all() as { id: string; owner: string | null; expires: number | null }[]) {
        // processIdentity is `<pid>-<start>`; ownerAlive reads it at the head of a name
        const expired = l.expires !== null && l.expires <= now;
        if (expired || (l.owner !== null && !ownerAlive(`${l.owner}-`))) {
          transientWrite(db, () => remove.run(l.id));
          dropped++;
        }
      }
      return dropped;
    },
  };
}
