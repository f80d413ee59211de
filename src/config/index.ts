// The config file: defaults for flags, in TOML (parsed with smol-toml, checked against the JSON
// Schema in src/config/schema.ts with Ajv). The file read is the first of
//   --config FILE, then $TSBUILD_CONFIG          (must exist when given)
//   <state root>/tsbuild.toml
//   $XDG_CONFIG_HOME/tsbuild/tsbuild.toml        (~/.config/tsbuild/tsbuild.toml)
// that exists; flags override it key by key. `tsbuild config` prints the effective values and
// where each came from; docs/config.md lists every key.
//
//   [limits]                  # docker build's flags, without the dashes
//   memory = "2g"
//   cpus = 1.5
//   ulimits = ["nofile=1024:2048", "core=0"]
//
//   [gc]                      # the cache's automatic garbage collection after each build (docs/gc.md)
//   keep-storage = "20GB"     # default: 10% of the root's filesystem, at most 20 GiB
//
//   [build]
//   network = "none"          # RUN steps' default network
//   max-parallelism = 4
//
// and, before any table, the registry keys of Docker's daemon.json:
//   registry-mirrors = ["https://mirror.example.com"]   # tried first for Docker Hub images
//   insecure-registries = ["reg.lan:5000"]              # plain HTTP (loopback always is)
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCodes, invalid } from '../errors/index.ts';
import { parseSize, type LimitFlags } from '../limits/index.ts';

export interface Config {
  /** The file read, or undefined when none exists. */
  path: string | undefined;
  limits: LimitFlags;
  /** The `[gc]` table; absent: the defaults (control/gc-policy.ts). */
  gc?: GcConfig;
  /** The `[build]` table: defaults of build flags. */
  build?: BuildConfig;
  /** Every key the file set, as `table.key`, with its value and line (for `tsbuild config`). */
  settings?: readonly ConfigSetting[];
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

export interface BuildConfig {
  /** `--network`'s default: the mode as written (parsed by the build options). */
  network?: string;
  maxParallelism?: number;
  /** The OCI runtime: `auto` (default), `crun` or `runc`. */
  runtime?: 'auto' | 'crun' | 'runc';
}

export interface ConfigSetting {
  key: string;
  value: unknown;
  line: number | undefined;
}

export interface ConfigSource {
  /** `--config FILE`: read this file and no other; it must exist. */
  file?: string;
}

/** Where the config file may be, first match wins. */
export function configPaths(stateRoot: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const configHome = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return [join(stateRoot, 'tsbuild.toml'), join(configHome, 'tsbuild', 'tsbuild.toml')];
}

let commandLineFile: string | undefined;

/** `tsbuild --config FILE`: every config read of this process reads FILE (it must exist). */
export function useConfigFile(file: string): void {
  commandLineFile = resolve(file);
}

/** The file named by `--config` or `$TSBUILD_CONFIG`, which must exist, if either is given. */
function explicitPath(source: ConfigSource, env: NodeJS.ProcessEnv): { path: string; from: string } | undefined {
  const file = source.file ?? commandLineFile;
  if (file) return { path: resolve(file), from: '--config' };
  if (env.TSBUILD_CONFIG) return { path: resolve(env.TSBUILD_CONFIG), from: '$TSBUILD_CONFIG' };
  return undefined;
}

/** Reads the config file when one exists; a malformed file is an error naming its path and line. */
export async function loadConfig(stateRoot: string, env: NodeJS.ProcessEnv = process.env, source: ConfigSource = {}): Promise<Config> {
  const explicit = explicitPath(source, env);
  for (const path of explicit ? [explicit.path] : configPaths(stateRoot, env)) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (explicit && (code === 'ENOENT' || code === 'ENOTDIR')) {
        throw invalid(ErrorCodes.CONFIG_INVALID, `the config file ${path} (from ${explicit.from}) does not exist`, { hint: `create it, or leave out ${explicit.from} to use ${configPaths(stateRoot, env).join(' or ')}` });
      }
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw invalid(ErrorCodes.CONFIG_INVALID, `cannot read the config file ${path}: ${(e as Error).message}`);
    }
    return readConfigText(path, text);
  }
  return { path: undefined, limits: {} };
}

/** Parses and checks one config file's text. */
export async function readConfigText(path: string, text: string): Promise<Config> {
  // smol-toml and Ajv only when a file exists: a build without a config file never loads them
  const { parse, TomlError } = await import('smol-toml');
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (e) {
    if (!(e instanceof TomlError)) throw e;
    const line = text.split('\n')[e.line - 1];
    throw invalid(ErrorCodes.CONFIG_INVALID, `${path}:${e.line}: ${e.message.split('\n')[0]}`, { location: { file: path, line: e.line, column: e.column, text: line } });
  }
  const { validateConfig, keyLine } = await import('./validate.ts');
  validateConfig(doc, path, text);
  const settings: ConfigSetting[] = [];
  for (const [table, keys] of Object.entries(doc)) {
    // a top-level key (registry-mirrors) is its own setting; a table's keys are `table.key`
    if (Array.isArray(keys) || typeof keys !== 'object' || keys === null) settings.push({ key: table, value: keys, line: keyLine(text, [table]) });
    else for (const [key, value] of Object.entries(keys as Record<string, unknown>)) settings.push({ key: `${table}.${key}`, value, line: keyLine(text, [table, key]) });
  }
  const lineOf = (table: string, key: string) => settings.find((s) => s.key === `${table}.${key}`)?.line;
  const at = (table: string, key: string) => `${path}${lineOf(table, key) ? `:${lineOf(table, key)}` : ''}`;
  const { gc, build, 'registry-mirrors': mirrors, 'insecure-registries': insecure } = doc as { gc?: Record<string, unknown>; build?: Record<string, unknown>; 'registry-mirrors'?: unknown; 'insecure-registries'?: unknown };
  return {
    path,
    limits: readLimits(doc.limits as Record<string, unknown> | undefined),
    ...(gc !== undefined && { gc: readGc(gc, at) }),
    ...(build !== undefined && { build: readBuild(build) }),
    ...(mirrors !== undefined && { registryMirrors: readMirrors(mirrors, path) }),
    ...(insecure !== undefined && { insecureRegistries: readStrings(insecure, path, 'insecure-registries', '["reg.lan:5000"]') }),
    settings,
  };
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

// the schema has checked keys and types; the values are parsed with the flags' (cli/commands/build-limits.ts)
function readLimits(t: Record<string, unknown> | undefined): LimitFlags {
  const out: LimitFlags = {};
  for (const [key, value] of Object.entries(t ?? {})) {
    if (key === 'ulimits') out.ulimits = value as string[];
    else (out as Record<string, string>)[limitKeys[key as keyof typeof limitKeys]] = String(value);
  }
  return out;
}

function readGc(t: Record<string, unknown>, at: (table: string, key: string) => string): GcConfig {
  const out: GcConfig = {};
  if (t.enabled !== undefined) out.enabled = t.enabled as boolean;
  const keep = t['keep-storage'];
  if (typeof keep === 'number') {
    if (!(Number.isSafeInteger(keep) && keep >= 0)) throw invalid(ErrorCodes.CONFIG_INVALID, `${at('gc', 'keep-storage')}: gc.keep-storage must be a size such as "20GB" or a number of bytes`);
    out.keepStorage = keep;
  } else if (typeof keep === 'string') {
    try {
      out.keepStorage = parseSize(keep, 'gc.keep-storage');
    } catch {
      throw invalid(ErrorCodes.CONFIG_INVALID, `${at('gc', 'keep-storage')}: gc.keep-storage "${keep}" is not a size`, { hint: 'a size such as "20GB", "512MB" or a number of bytes' });
    }
  }
  return out;
}

function readBuild(t: Record<string, unknown>): BuildConfig {
  return {
    ...(t.network !== undefined && { network: t.network as string }),
    ...(t['max-parallelism'] !== undefined && { maxParallelism: t['max-parallelism'] as number }),
    ...(t.runtime !== undefined && { runtime: t.runtime as 'auto' | 'crun' | 'runc' }),
  };
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
