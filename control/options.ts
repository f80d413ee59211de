// Flags and config become BuildOptions (all optional); resolveBuildOptions fills every default
// and freezes it, and everything downstream takes the resolved type. Strings such as
// `type=oci,dest=x.tar` are parsed here, once: nothing below sees `k=v` text.
import { existsSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { ErrorCodes, TsbuildError, invalid } from '../src/errors/index.ts';
import { parsePlatformText, type NetworkMode, type Platform } from '../src/llb/index.ts';
import type { Entitlement } from '../frontend/index.ts';
import type { ProgressMode } from '../src/progress/index.ts';
import type { OutputSpec } from '../exporter/index.ts';
import { normalizeReference, parseReference } from '../src/registry/reference.ts';
import { parseSourceDateEpoch } from './created-times.ts';
import type { ResourceLimits } from '../src/limits/index.ts';
import type { CacheExportSpec, CacheImportSpec } from './cache-spec.ts';

export type BuildContextSpec =
  | { type: 'local'; dir: string }
  | { type: 'image'; ref: string }
  /** `tag` undefined: the layout's only image, or the one tagged latest. */
  | { type: 'oci-layout'; dir: string; tag?: string };

/** Where a `--secret` value comes from; the value itself is read only when the build starts. */
export type SecretSpec = { id: string; file: string } | { id: string; env: string };

/** `--ssh ID[=PATH[,PATH...]]`: an agent socket, or private key files served by an agent tsbuild starts. */
export interface SshSpec {
  id: string;
  /** Absolute; empty for `--ssh default`, which then takes $SSH_AUTH_SOCK. */
  paths: string[];
}

export interface BuildOptions {
  context: string;
  file?: string;
  /** How messages name the Dockerfile when its path says nothing to the user (one read from stdin). */
  dockerfileName?: string;
  /** --cache-from, in order (control/cache-spec.ts). */
  cacheFrom?: readonly CacheImportSpec[];
  /** --cache-to. */
  cacheTo?: readonly CacheExportSpec[];
  tags?: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  noCacheFilter?: string[];
  /** `--pull`: ask the registry for every base image, even one whose tag is in the local store. */
  pull?: boolean;
  progress?: ProgressMode;
  outputs?: OutputSpec[];
  push?: boolean;
  /** `--load`: the image goes into the local Docker daemon (as `--output type=docker`, as buildx). */
  load?: boolean;
  buildContexts?: Record<string, BuildContextSpec>;
  platform?: string;
  maxParallelism?: number;
  insecureRegistries?: string[];
  /** `registry-mirrors` of the config file: origins tried before Docker Hub for docker.io images. */
  registryMirrors?: string[];
  /** SOURCE_DATE_EPOCH from the environment (a `--build-arg SOURCE_DATE_EPOCH=` wins): image times, see control/created-times.ts. */
  sourceDateEpoch?: string;
  secrets?: SecretSpec[];
  /** Resource limits for every RUN, parsed (src/limits parseLimits) from flags over the config file. */
  limits?: ResourceLimits;
  ssh?: SshSpec[];
  /** `--network`: every RUN's mode unless it names its own. */
  network?: NetworkMode;
  /** `--allow`: entitlements steps may use. */
  allow?: Entitlement[];
  /** `--add-host name:ip`, checked by parseAddHost. */
  addHosts?: string[];
  /** `--explain`: every step's progress says why it ran or why it was a hit. */
  explain?: boolean;
  /** `--label KEY=VALUE`: labels of the image, over the Dockerfile's (control/build-labels.ts). */
  labels?: Record<string, string>;
}

export interface ResolvedBuildOptions {
  readonly contextDir: string;
  /** The Dockerfile on disk, and as messages name it (relative to the working directory when inside it). */
  readonly dockerfilePath: string;
  readonly dockerfileName: string;
  readonly tags: readonly string[];
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly target: string | undefined;
  readonly noCache: boolean;
  readonly noCacheFilter: readonly string[];
  readonly pull: boolean;
  readonly progress: ProgressMode;
  readonly outputs: readonly OutputSpec[];
  readonly buildContexts: Readonly<Record<string, BuildContextSpec>>;
  readonly platform: Platform;
  /** Steps at once; unbounded (Infinity) unless --max-parallelism caps it and everything else (solver/parallelism.ts). */
  readonly maxParallelism: number;
  readonly insecureRegistries: readonly string[];
  readonly registryMirrors: readonly string[];
  /** Seconds since 1970, or undefined: the image's `created` times (control/created-times.ts). */
  readonly sourceDateEpoch: number | undefined;
  readonly secrets: readonly SecretSpec[];
  readonly limits: ResourceLimits;
  readonly ssh: readonly SshSpec[];
  readonly network: NetworkMode;
  readonly entitlements: readonly Entitlement[];
  readonly extraHosts: readonly string[];
  readonly explain: boolean;
  readonly cacheFrom: readonly CacheImportSpec[];
  readonly cacheTo: readonly CacheExportSpec[];
  readonly labels: Readonly<Record<string, string>>;
  /** What the options say about themselves (a `name=` that -t overrides, OCI types for zstd), shown as the build's warnings. */
  readonly warnings: readonly string[];
}

export function resolveBuildOptions(o: BuildOptions, cwd = process.cwd()): ResolvedBuildOptions {
  const contextDir = resolve(cwd, o.context);
  if (!existsSync(contextDir) || !statSync(contextDir).isDirectory()) {
    throw new TsbuildError(`build context "${o.context}" is not a directory`, { code: ErrorCodes.CONTEXT_NOT_FOUND, kind: 'not-found' });
  }
  const dockerfilePath = o.file ? resolve(cwd, o.file) : join(contextDir, 'Dockerfile');
  if (!existsSync(dockerfilePath)) {
    throw new TsbuildError(`no Dockerfile at ${o.file ?? join(o.context, 'Dockerfile')}`, {
      code: ErrorCodes.DOCKERFILE_NOT_FOUND,
      kind: 'not-found',
      hint: o.file ? undefined : 'name another one with -f FILE',
    });
  }
  // as BuildKit names it: relative to the context when inside it (`Dockerfile`), else as given
  const dockerfileName = o.dockerfileName ?? (dockerfilePath.startsWith(`${contextDir}/`)
    ? dockerfilePath.slice(contextDir.length + 1)
    : dockerfilePath.startsWith(`${cwd}/`)
      ? dockerfilePath.slice(cwd.length + 1)
      : dockerfilePath);
  const tags = o.tags ?? [];
  // a bad name fails now, not after the build has run
  for (const t of tags) {
    const ref = parseReference(t);
    if (ref.digest !== undefined) throw invalid(ErrorCodes.REFERENCE_INVALID, `invalid tag "${t}": a tag cannot name a digest`);
  }
  const entitlements = [...new Set(o.allow ?? [])];
  if (o.network === 'host' && !entitlements.includes('network.host')) {
    throw new TsbuildError('--network host needs the entitlement network.host, which this build does not allow', {
      code: ErrorCodes.ENTITLEMENT_DENIED, kind: 'denied', hint: 'if you trust this Dockerfile, add --allow network.host',
    });
  }
  const outputs: OutputSpec[] = [...(o.outputs ?? [])];
  if (o.load && !outputs.some((x) => x.type === 'docker' && x.dest === undefined)) outputs.push({ type: 'docker', names: [] });
  // as buildx, --push beside other outputs is one more output (type=registry), not ignored
  if (o.push && outputs.length > 0 && !outputs.some((x) => x.type === 'image' && x.push)) outputs.push({ type: 'image', names: [], push: true });
  if (outputs.length === 0) outputs.push({ type: 'image', names: tags, push: o.push ?? false });
  // as docker buildx: -t names the image in every output that carries names, over its own name=
  const warnings: string[] = [];
  for (const out of outputs) {
    if (out.type !== 'image' && out.type !== 'oci' && out.type !== 'docker') continue;
    const same = (a: readonly string[], b: readonly string[]) => a.map(normalizeReference).join(',') === b.map(normalizeReference).join(',');
    if (tags.length > 0 && out.names.length > 0 && !same(out.names, tags)) {
      warnings.push(`--output type=${out.type}: name=${out.names.join(',')} is replaced by the -t names (${tags.join(', ')}), as docker buildx does; drop -t to use name=`);
    }
    if (tags.length > 0 || out.names.length === 0) out.names = [...tags];
  }
  // Docker's media types have no zstd layer: such an output gets OCI's, as BuildKit turns
  // oci-mediatypes on for zstd (skopeo and checking registries refuse a schema 2 manifest of zstd layers)
  for (const [i, out] of outputs.entries()) {
    if (!('ociMediaTypes' in out) || out.ociMediaTypes !== false || out.compression?.compression !== 'zstd') continue;
    warnings.push(`--output type=${out.type}: compression=zstd has no Docker media type, so this output uses OCI media types (oci-mediatypes=true)`);
    outputs[i] = { ...out, ociMediaTypes: true };
  }
  return Object.freeze({
    contextDir,
    dockerfilePath,
    dockerfileName,
    tags: Object.freeze([...tags]),
    buildArgs: Object.freeze({ ...(o.buildArgs ?? {}) }),
    target: o.target,
    noCache: o.noCache ?? false,
    noCacheFilter: Object.freeze([...(o.noCacheFilter ?? [])]),
    pull: o.pull ?? false,
    progress: o.progress ?? 'auto',
    outputs: Object.freeze(outputs),
    buildContexts: Object.freeze({ ...(o.buildContexts ?? {}) }),
    platform: o.platform === undefined ? hostPlatform : parseBuildPlatform(o.platform),
    // as BuildKit: steps unbounded, CPU-heavy work bounded apart (solver/parallelism.ts)
    maxParallelism: o.maxParallelism ?? Number.POSITIVE_INFINITY,
    insecureRegistries: Object.freeze([...(o.insecureRegistries ?? [])]),
    registryMirrors: Object.freeze([...(o.registryMirrors ?? [])]),
    secrets: Object.freeze([...(o.secrets ?? [])]),
    limits: Object.freeze({ ...(o.limits ?? {}) }),
    ssh: Object.freeze([...(o.ssh ?? [])]),
    network: o.network ?? 'sandbox',
    entitlements: Object.freeze(entitlements),
    extraHosts: Object.freeze([...(o.addHosts ?? [])]),
    explain: o.explain ?? false,
    cacheFrom: Object.freeze([...(o.cacheFrom ?? [])]),
    cacheTo: Object.freeze([...(o.cacheTo ?? [])]),
    sourceDateEpoch: parseSourceDateEpoch(o.buildArgs?.SOURCE_DATE_EPOCH ?? o.sourceDateEpoch),
    labels: Object.freeze({ ...(o.labels ?? {}) }),
    warnings: Object.freeze(warnings),
  });
}

/** The machine's own platform, which RUN steps execute on. */
export const hostPlatform: Platform = { os: 'linux', architecture: ({ x64: 'amd64', arm64: 'arm64', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[process.arch] ?? process.arch };

const platformName = (p: Platform) => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

/**
 * `--platform`: one or a comma-separated list, each normalised as buildx does (linux/x86_64 →
 * linux/amd64, linux/aarch64 → linux/arm64, arm64/v8 → arm64). Several different ones are
 * refused: multi-platform builds are not supported yet.
 */
export function parsePlatform(text: string, host: Platform = hostPlatform): Platform {
  const list = text.split(',').map((x) => x.trim()).filter(Boolean);
  if (list.length === 0) throw invalid(ErrorCodes.OPTION_INVALID, `invalid --platform "${text}": expected os/arch[/variant], e.g. linux/amd64`);
  const parsed = list.map((one) => {
    if (!one.includes('/')) throw invalid(ErrorCodes.OPTION_INVALID, `invalid platform "${one}": expected os/arch[/variant], e.g. linux/amd64`);
    const p = parsePlatformText(one, host);
    if ('error' in p) throw invalid(ErrorCodes.OPTION_INVALID, `invalid platform: ${p.error}`, { hint: 'e.g. linux/amd64, linux/arm64, linux/arm/v7' });
    return p.variant ? p : { os: p.os, architecture: p.architecture };
  });
  const unique = [...new Map(parsed.map((p) => [platformName(p), p])).values()];
  if (unique.length > 1) {
    throw new TsbuildError(`building several platforms at once (${unique.map(platformName).join(', ')}) is not supported yet`, {
      code: ErrorCodes.OPTION_INVALID, kind: 'invalid', hint: `build one platform per command; this machine runs ${platformName(host)}`,
    });
  }
  return unique[0];
}

/** `tsbuild build --platform`: as parsePlatform, and the host's own, since RUN steps execute here. */
export function parseBuildPlatform(text: string, host: Platform = hostPlatform): Platform {
  const p = parsePlatform(text, host);
  if (platformName(p) !== platformName(host)) {
    throw new TsbuildError(`building for ${platformName(p)} is not supported yet: RUN steps execute on this machine, which is ${platformName(host)}`, {
      code: ErrorCodes.OPTION_INVALID, kind: 'invalid', hint: `leave out --platform, or use --platform ${platformName(host)}`,
    });
  }
  return p;
}

export { parseOutputSpec } from './parse-output.ts';

/** `name=path`, `name=docker-image://ref`, `name=oci-layout://dir[:tag]`. */
export function parseBuildContext(text: string, cwd = process.cwd()): [string, BuildContextSpec] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw invalid(ErrorCodes.OPTION_INVALID, `invalid --build-context "${text}": expected name=value`);
  const name = text.slice(0, eq);
  const value = text.slice(eq + 1);
  if (value.startsWith('docker-image://')) return [name, { type: 'image', ref: value.slice('docker-image://'.length) }];
  if (value.startsWith('oci-layout://')) {
    const rest = value.slice('oci-layout://'.length);
    const at = rest.lastIndexOf(':');
    if (at > 0 && !rest.slice(at).includes('/')) return [name, { type: 'oci-layout', dir: resolve(cwd, rest.slice(0, at)), tag: rest.slice(at + 1) }];
    return [name, { type: 'oci-layout', dir: resolve(cwd, rest) }];
  }
  if (/^[a-z]+:\/\//.test(value)) throw invalid(ErrorCodes.OPTION_INVALID, `--build-context ${name}: unsupported source "${value}"`);
  const dir = resolve(cwd, value);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw invalid(ErrorCodes.CONTEXT_NOT_FOUND, `--build-context ${name}: "${value}" is not a directory`);
  return [name, { type: 'local', dir }];
}

/** `KEY=value` → [KEY, value]; a bare `KEY` takes the value from the environment, as docker does. */
export function parseBuildArg(text: string, env: NodeJS.ProcessEnv = process.env): [string, string] | undefined {
  const eq = text.indexOf('=');
  if (eq === 0) throw invalid(ErrorCodes.OPTION_INVALID, `invalid --build-arg "${text}": the name is empty`);
  if (eq < 0) return env[text] === undefined ? undefined : [text, env[text]!];
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** `id=x,src=FILE` | `id=x,env=VAR` | `id=x` (the variable x, else the file x), as docker buildx reads --secret. */
export function parseSecret(text: string, cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): SecretSpec {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw invalid(ErrorCodes.OPTION_INVALID, `invalid --secret "${text}": "${part}" is not key=value`, { hint: 'e.g. --secret id=npmrc,src=$HOME/.npmrc' });
    fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const id = fields.get('id');
  if (!id) throw invalid(ErrorCodes.OPTION_INVALID, `invalid --secret "${text}": id= is required`);
  const src = fields.get('src') ?? fields.get('source');
  const type = fields.get('type');
  if (type !== undefined && type !== 'file' && type !== 'env') throw invalid(ErrorCodes.OPTION_INVALID, `invalid --secret "${text}": type must be file or env`);
  if (fields.has('env') || type === 'env') return { id, env: fields.get('env') ?? src ?? id };
  if (src) return { id, file: resolve(cwd, src) };
  return env[id] !== undefined ? { id, env: id } : { id, file: resolve(cwd, id) };
}

/**
 * `default`, `default=$SSH_AUTH_SOCK`, `gh=~/.ssh/id_ed25519,~/.ssh/id_rsa`: as docker buildx reads
 * --ssh. Whether a path is a socket or a key is decided when the build starts.
 */
export function parseSsh(text: string, cwd = process.cwd()): SshSpec {
  const eq = text.indexOf('=');
  const id = eq < 0 ? text : text.slice(0, eq);
  if (!/^[A-Za-z0-9_.-]+$/.test(id)) {
    throw invalid(ErrorCodes.OPTION_INVALID, `invalid --ssh "${text}": "${id}" is not an id`, { hint: 'e.g. --ssh default or --ssh github=$HOME/.ssh/id_ed25519' });
  }
  const paths = eq < 0 ? [] : text.slice(eq + 1).split(',').filter((p) => p !== '').map((p) => resolve(cwd, p));
  return { id, paths };
}

/** `--network default|none|host` (`sandbox` also accepted, as BuildKit names default). */
export function parseNetworkMode(text: string): NetworkMode {
  if (text === 'default' || text === 'sandbox') return 'sandbox';
  if (text === 'none' || text === 'host') return text;
  throw invalid(ErrorCodes.OPTION_INVALID, `unknown --network mode "${text}"`, { hint: 'one of default, none, host' });
}

/** `--allow network.host` | `--allow security.insecure`. */
export function parseEntitlement(text: string): Entitlement {
  if (text === 'network.host' || text === 'security.insecure') return text;
  throw invalid(ErrorCodes.OPTION_INVALID, `unknown --allow entitlement "${text}"`, { hint: 'one of network.host, security.insecure' });
}

/** `--add-host name:ip` (or `name=ip`), as docker: the name must be non-empty and the address an IPv4 or IPv6 address. */
export function parseAddHost(text: string): string {
  const m = text.match(/^([^:=\s]+)[:=](.+)$/);
  const ip = m?.[2].replace(/^\[(.*)\]$/, '$1');
  if (!m || !ip || isIP(ip) === 0) throw invalid(ErrorCodes.OPTION_INVALID, `invalid --add-host "${text}": expected name:ip`, { hint: 'e.g. --add-host registry.local:10.0.0.5' });
  return `${m[1]}:${ip}`;
}
