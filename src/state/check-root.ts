// The state root must be a directory we can write, checked before anything is created in it:
// `--root /etc/passwd` or a path under /proc would otherwise fail deep inside mkdir or SQLite.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, TsbuildError } from '../errors/index.ts';

export function checkStateRoot(root: string): void {
  let probe = root;
  while (!existsSync(probe)) {
    const up = dirname(probe);
    if (up === probe) break;
    probe = up;
  }
  const fail = (why: string) =>
    new TsbuildError(`state root ${root}: ${why}`, { code: ErrorCodes.STATE_ERROR, kind: 'precondition', hint: 'pass --root DIR (or set TSBUILD_ROOT) to a writable directory' });
  if (!statSync(probe).isDirectory()) throw fail(`${probe} is not a directory`);
  if (probe === '/proc' || probe.startsWith('/proc/') || probe === '/sys' || probe.startsWith('/sys/')) throw fail('a kernel filesystem cannot hold state');
  try {
    accessSync(probe, constants.W_OK);
  } catch {
    throw fail(`${probe} is not writable`);
  }
}
