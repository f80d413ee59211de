// Processes found by their command line: what recovery uses for programs a killed tsbuild started
// but never recorded a pid for (a pasta serving a namespace, a runtime killed mid-create).
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of the processes whose argv (`/proc/<pid>/cmdline`) `match` accepts. */
export function pidsWhere(match: (argv: readonly string[]) => boolean): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (match(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean))) out.push(Number(pid));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
