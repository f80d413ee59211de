// `tsbuild config`: the effective configuration, one row per key the config file can set, with
// its value and where that came from (the file and line, or the built-in default). Rows come
// from the schema the file is validated against, so a new key shows up here by being declared.
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { configPaths, loadConfig } from '../src/config/index.ts';
import { configSchema, type KeySchema } from '../src/config/schema.ts';
import { defaultKeepStorage } from './gc-policy.ts';

export interface ConfigRow {
  /** `table.key`. */
  key: string;
  /** The value set in the file, or undefined when the default applies. */
  value: unknown;
  /** `FILE:LINE` when the file set it, else `default`. */
  source: string;
  /** The default in words (what applies without the key). */
  defaultText: string;
  description: string;
}

export interface ConfigReport {
  /** The file read, if any. */
  path: string | undefined;
  /** Where a file was looked for, in order (`--config` / `$TSBUILD_CONFIG` alone when given). */
  searched: string[];
  rows: ConfigRow[];
}

export async function describeConfig(root: string, env: NodeJS.ProcessEnv = process.env): Promise<ConfigReport> {
  const config = await loadConfig(root, env);
  const searched = config.path && !configPaths(root, env).includes(config.path) ? [config.path] : configPaths(root, env);
  const rows: ConfigRow[] = [];
  for (const [table, t] of Object.entries(configSchema.properties)) {
    // top-level keys (registry-mirrors) are rows of their own, listed as the table `(top)`
    const keys: [string, KeySchema][] = 'properties' in t ? Object.entries(t.properties as Record<string, KeySchema>) : [['', t as KeySchema]];
    for (const [key, schema] of keys) {
      const name = key ? `${table}.${key}` : table;
      const set = config.settings?.find((s) => s.key === name);
      rows.push({
        key: name,
        value: set?.value,
        source: set ? `${config.path}${set.line ? `:${set.line}` : ''}` : 'default',
        defaultText: table === 'gc' && key === 'keep-storage' ? `${schema.defaultText}: ${keepStorageHere(root)} here` : schema.defaultText,
        description: schema.description,
      });
    }
  }
  return { path: config.path, searched, rows };
}

function keepStorageHere(root: string): string {
  let dir = root;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const bytes = defaultKeepStorage(dir);
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}
