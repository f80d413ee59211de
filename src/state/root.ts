// Where tsbuild keeps its state, and the layout below it:
//   <root>/content/          an OCI image layout: blobs/sha256/<hex>, index.json (tags), oci-layout
//   <root>/snapshots/<id>/   fs/ (a layer's files, overlay upperdir format) and work/ (overlay workdir)
//   <root>/metadata.db       SQLite: tags, cache index, snapshots (WAL, shared by concurrent processes)
//   <root>/tmp/              scratch space on the same filesystem, so renames are atomic
//   <root>/logs/<key>.log    the full output of each RUN step (worker/exec/step-log.ts)
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface StatePaths {
  root: string;
  content: string;
  snapshots: string;
  db: string;
  tmp: string;
  logs: string;
}

export function resolveStateRoot(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  if (env.TSBUILD_ROOT) return resolve(env.TSBUILD_ROOT);
  if (process.getuid?.() === 0) return '/var/lib/tsbuild';
  const dataHome = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(dataHome, 'tsbuild');
}

export function statePaths(root: string): StatePaths {
  return {
    root,
    content: join(root, 'content'),
    snapshots: join(root, 'snapshots'),
    db: join(root, 'metadata.db'),
    tmp: join(root, 'tmp'),
    logs: join(root, 'logs'),
  };
}

/**
 * Hex digits naming a state root in names the machine shares (cgroups, network namespaces), so two
 * roots never touch each other's: from its real path, the path as given while it does not exist.
 */
export function rootTag(stateRoot: string, length: number): string {
  let real = stateRoot;
  try {
    real = realpathSync(stateRoot);
  } catch {
    // not created yet: the path as given names it
  }
  return createHash('sha256').update(real).digest('hex').slice(0, length);
}
