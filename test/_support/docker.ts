// Docker 20.10 as an independent judge, through shared/tools/oracle.sh (a private dockerd).
// Only this part of the setup can be missing, so tests that need it are skipped, saying why.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './tsbuild.ts';

const execFileAsync = promisify(execFile);
export const oracleScript = join(repoRoot, '..', 'shared', 'tools', 'oracle.sh');

let started: Promise<string | undefined> | undefined;

/** DOCKER_HOST of a running private dockerd, or undefined with the reason logged once. */
export function dockerHost(): Promise<string | undefined> {
  started ??= (async () => {
    if (!existsSync('/usr/sbin/dockerd') || !existsSync('/usr/bin/docker') || !existsSync(oracleScript)) return undefined;
    try {
      const { stdout } = await execFileAsync('bash', [oracleScript, 'start'], { timeout: 120_000 });
      return /DOCKER_HOST=(\S+)/.exec(stdout)?.[1];
    } catch {
      return undefined;
    }
  })();
  return started;
}

export async function docker(host: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('/usr/bin/docker', args, { env: { ...process.env, DOCKER_HOST: host }, timeout: 120_000 });
  return stdout;
}
