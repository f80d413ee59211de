// Runs several commands at once and waits for all of them, synchronously (the bench's timer is
// synchronous): one bash that starts each in the background and waits for each. A command that
// fails fails the whole, with its output.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './measure.ts';

export interface Command {
  cmd: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function runAtOnce(commands: readonly Command[]): void {
  const logs = mkdtempSync(join(tmpdir(), 'tsbuild-bench-at-once-'));
  try {
    const lines = commands.map((c, i) => {
      const env = Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${quote(v ?? '')}`);
      return `${env.length ? `env ${env.join(' ')} ` : ''}${[c.cmd, ...c.args].map(quote).join(' ')} >${quote(join(logs, `${i}.log`))} 2>&1 & pids[${i}]=$!`;
    });
    const script = `${lines.join('\n')}\nfailed=\nfor i in "\${!pids[@]}"; do wait "\${pids[$i]}" || failed="$failed $i"; done\n[ -z "$failed" ] || { echo "failed:$failed"; exit 1; }\n`;
    try {
      run('bash', ['-c', script]);
    } catch (e) {
      const which = /failed:([\d ]+)/.exec((e as Error).message)?.[1].trim().split(' ').map(Number) ?? [];
      const tails = which.map((i) => `${[commands[i].cmd, ...commands[i].args].join(' ')}:\n${readFileSync(join(logs, `${i}.log`), 'utf8').trim().split('\n').slice(-15).join('\n')}`);
      throw new Error(tails.length ? tails.join('\n') : (e as Error).message);
    }
  } finally {
    rmSync(logs, { recursive: true, force: true });
  }
}
