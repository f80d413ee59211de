// Which OCI runtime to use. crun is faster but refuses hybrid cgroup v1/v2 hosts ("cgroups in
// hybrid mode not supported"), so it is chosen only where the layout is pure v2 or pure v1.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ErrorCodes, unavailable } from '../../src/errors/index.ts';
import { detectCgroups } from './cgroups.ts';

const run = promisify(execFile);

async function works(binary: string): Promise<boolean> {
  try {
    await run(binary, ['--version']);
    return true;
  } catch {
    return false;
  }
}

function hybridCgroups(): boolean {
  return detectCgroups().mode === 'hybrid';
}

/** The runtime binary: `preferred` when given (and runnable), else crun where it works, else runc. */
export async function probeRuntime(preferred?: string): Promise<string> {
  if (preferred) {
    if (await works(preferred)) return preferred;
    throw unavailable(ErrorCodes.RUNTIME_UNAVAILABLE, `OCI runtime "${preferred}" cannot be run`, { hint: 'install runc, or pass another runtime' });
  }
  if (!hybridCgroups() && (await works('crun'))) return 'crun';
  if (await works('runc')) return 'runc';
  throw unavailable(ErrorCodes.RUNTIME_UNAVAILABLE, 'no OCI runtime found: neither crun nor runc is installed', { hint: 'install runc (apt-get install runc)' });
}
