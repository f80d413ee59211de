// The config file: defaults for flags, in TOML (parsed with smol-toml). The first that exists of
//   <state root>/tsbuild.toml
//   $XDG_CONFIG_HOME/tsbuild/tsbuild.toml   (~/.config/tsbuild/tsbuild.toml)
// is read; flags override it field by field. Today it holds one table:
//
//   [limits]                  # docker build's flags, without the dashes
//   memory = "2g"
//   memory-swap = "4g"
//   cpus = 1.5                # or cpu-quota / cpu-period
//   cpu-shares = 512
//   pids-limit = 4096
//   shm-size = "256m"
//   ulimits = ["nofile=1024:2048", "core=0"]
//
//   [gc]                      # the cache's automatic garbage collection after each build (docs/gc.md)
//   keep-storage = "20GB"     # default: 10% of the root's filesystem, at most 20 GiB
//   enabled = true
//
// and, before any table, the registry keys of Docker's daemon.json:
//   registry-mirrors = ["https://mirror.example.com"]   # tried first for Docker Hub images
//   insecure-registries = ["reg.lan:5000"]              # plain HTTP (loopback always is)
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, invalid } from '../errors/index.ts';
import { parseSize, type LimitFlags } from '../limits/index.ts';

export interface Config {
  /** The file read, or undefined when none exists. */
  path: string | undefined;
  limits: LimitFlags;
  /** The `[gc]` table; absent: the defaults (control/gc-policy.ts). */
  gc?: GcConfig;
  /** `registry-mirrors`: URLs tried, in order, before Docker Hub itself for docker.io images. */
  registryMirrors?: string[];
  /** `insecure-registries`: hosts (`host` or `host:port`) reached over plain HTTP. */
  insecureRegistries?: string[];
}

export interface GcConfig {
  /** Bytes the root may hold after a build before GC prunes it; default: 10% of its filesystem, at most 20 GiB. */
  keepStorage?: number;
  /** false: no GC after builds (`tsbuild prune` still works). */
  enabled?: boolean;
}

/** Where the config file may be, first match wins. */
export function configPaths(stateRoot: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const configHome = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return [join(stateRoot, 'tsbuild.toml'), join(configHome, 'tsbuild', 'tsbuild.toml')];
}

/** Reads the config file when one exists; a malformed file is an error naming its path and line. */
export async function loadConfig(stateRoot: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  for (const path of configPaths(stateRoot, env)) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
      throw invalid(ErrorCodes.CONFIG_INVALID, `cannot read the config file ${path}: ${(e as Error).message}`);
    }
    // smol-toml only when a file exists: a build without a config file never loads it
    const { parse, TomlError } = await import('smol-toml');
    let doc: Record<string, unknown>;
    try {
      doc = parse(text);
    } catch (e) {
      if (!(e instanceof TomlError)) throw e;
      const line = text.split('\n')[e.line - 1];
      throw invalid(ErrorCodes.CONFIG_INVALID, `${path}:${e.line}: ${e.message.split('\n')[0]}`, { location: { file: path, line: e.line, column: e.column, text: line } });
    }
    const { gc, 'registry-mirrors': mirrors, 'insecure-registries': insecure, ...rest } = doc;
    return {
      path,
      limits: readLimits(rest, path),
      ...(gc !== undefined && { gc: readGc(gc, path) }),
      ...(mirrors !== undefined && { registryMirrors: readMirrors(mirrors, path) }),
      ...(insecure !== undefined && { insecureRegistries: readStrings(insecure, path, 'insecure-registries', '["reg.lan:5000"]') }),
    };
  }
  return { path: undefined, limits: {} };
}

const limitKeys = {
  memory: 'memory',
  'memory-swap': 'memorySwap',
  cpus: 'cpus',
  'cpu-quota': 'cpuQuota',
  'cpu-period': 'cpuPeriod',
  'cpu-shares': 'cpuShares',
  'pids-limit': 'pidsLimit',
  'shm-size': 'shmSize',
} as const satisfies Record<string, keyof LimitFlags>;

function readLimits(doc: Record<string, unknown>, path: string): LimitFlags {
  for (const table of Object.keys(doc)) {
    if (table !== 'limits') throw invalid(ErrorCodes.CONFIG_INVALID, `${path}: unknown table or key "${table}"`, { hint: 'the config file has a [limits] and a [gc] table, and the keys registry-mirrors and insecure-registries' });
  }
  const t = doc.limits;
  if (t === undefined) return {};
  if (typeof t !== 'object' || t === null || Array.isArray(t)) throw invalid(ErrorCodes.CONFIG_INVALID, `${path}: "limits" must be a table ([limits])`);
  const out: LimitFlags = {};
  for (const [key, value] of Object.entries(t)) {
    if (key === 'ulimits') {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        throw invalid(ErrorCodes.CONFIG_INVALID, `${path}: limits.ulimits must be a list of strings such as ["nofile=1024:2048"]`);
      }
      out.ulimits = value;
      continue;
    }
    const field = (limitKeys as Record<string, keyof LimitFlags>)[key];
    if (field === undefined) {
      throw invalid(ErrorCodes.CONFIG_INVALID, `${path}: unknown key limits.${key}`, { hint: `known: ${[...Object.keys(limitKeys), 'ulimits'].join(', ')}` });
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'bigint') {
      throw invalid(ErrorCodes.CONFIG_INVALID, `${path}: limits.${key} must be a string or a number`);
    }
    (out as Record<string, string>)[field] = String(value);
  }
  return out;
}

function readGc(t: unknown, path: string): GcConfig {
  if (typeof t !== 'object' || t === null || Array.isArray(t)) throw invalid(ErrorCodes.CONFIG_INVALID, `${path}: "gc" must be a table ([gc])`);
  const out: GcConfig = {};
  for (const [key, value] of Object.entries(t)) {
    if (key === 'enabled') {
      if (typeof value !== 'boolean') throw invalid(ErrorCodes.CONFIG_INVALID, `${path}: gc.enabled must be true or false`);
      out.enabled = value;
    } else if (key === 'keep-storage') {
      if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) out.keepStorage = value;
      else if (typeof value === 'string') {
        try {
          out.keepStorage = parseSize(value, 'gc.keep-storage');
        } catch {
          throw invalid(ErrorCodes.CONFIG_INVALID, `${path}: gc.keep-storage "${value}" is not a size`, { hint: 'a size such as "20GB", "512MB" or a number of bytes' });
        }
      } else throw invalid(ErrorCodes.CONFIG_INVALID, `${path}: gc.keep-storage must be a size such as "20GB" or a number of bytes`);
    } else throw invalid(ErrorCodes.CONFIG_INVALID, `${path}: unknown key gc.${key}`, { hint: 'known: keep-storage, enabled' });
  }
  return out;
}

function readStrings(value: unknown, path: string, key: string, example: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) {
    throw invalid(ErrorCodes.CONFIG_INVALID, `${path}: ${key} must be a list of strings such as ${example}`);
  }
  return value as string[];
}

function readMirrors(value: unknown, path: string): string[] {
  const mirrors = readStrings(value, path, 'registry-mirrors', '["https://mirror.example.com"]');
  for (const m of mirrors) {
    let url: URL | undefined;
    try {
      url = new URL(m);
    } catch {
      // said below
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || (url.pathname !== '/' && url.pathname !== '')) {
      throw invalid(ErrorCodes.CONFIG_INVALID, `${path}: registry-mirrors: "${m}" is not a registry URL`, { hint: 'a mirror is an http(s) URL without a path, such as "https://mirror.example.com"' });
    }
  }
  return mirrors;
}
