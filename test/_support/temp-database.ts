// A metadata database in a temp dir of its own, closed and removed when the test ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database } from '../../src/state/index.ts';

export function openTempDatabase(t: { teardown(fn: () => void): void }): Database {
  const dbDir = mkdtempSync(join(tmpdir(), 'tsbuild-db-'));
  const db = openDatabase(join(dbDir, 'meta.db'));
  t.teardown(() => {
    db.close();
    rmSync(dbDir, { recursive: true });
  });
  return db;
}
