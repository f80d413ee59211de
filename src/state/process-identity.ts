// Which process owns a file it left: `<pid>-<start>`, the start time (clock ticks since boot,
// /proc/<pid>/stat field 22) telling a reused pid apart from the one that died. Files named with
// it (content/ingest temp files) can then be removed by anyone once their owner is gone.
import { readFileSync } from 'node:fs';

let mine: string | undefined;

/** This process's identity, `<pid>-<start>`; computed once. */
export function processIdentity(): string {
  return (mine ??= `${process.pid}-${startTime(process.pid) ?? 0}`);
}

/** Whether the process named by `<pid>-<start>` at the head of `name` still runs; false for other names. */
export function ownerAlive(name: string): boolean {
  const m = /^(\d+)-(\d+)-/.exec(name);
  if (!m) return false;
  const pid = Number(m[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid > 2 ** 22) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists, owned by someone else
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return m[2] === '0' || startTime(pid) === m[2];
}

/** A process's start time in clock ticks since boot (/proc/PID/stat field 22): with the pid, it names one process for good. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the fields after the command name, which is in parentheses and may hold spaces
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
