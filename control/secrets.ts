// `--secret` values, read when the build starts and held only in memory: they reach a RUN through
// a tmpfs mount and are never part of a layer, a cache key or a log.
import { readFile } from 'node:fs/promises';
import { ErrorCodes, invalid } from '../src/errors/index.ts';
import type { SecretSpec } from './options.ts';

export async function readSecrets(specs: readonly SecretSpec[], env: NodeJS.ProcessEnv = process.env): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const s of specs) {
    if ('env' in s) {
      const value = env[s.env];
      if (value === undefined) throw invalid(ErrorCodes.OPTION_INVALID, `--secret id=${s.id}: the environment variable ${s.env} is not set`);
      out.set(s.id, Buffer.from(value));
    } else {
      try {
        out.set(s.id, await readFile(s.file));
      } catch {
        throw invalid(ErrorCodes.OPTION_INVALID, `--secret id=${s.id}: cannot read ${s.file}`);
      }
    }
  }
  return out;
}
