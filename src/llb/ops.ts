// The op vocabulary: what the frontend asks for and the worker knows how to do. Every field takes
// part in the op's digest, so nothing here may describe *how it looks* (step names, Dockerfile
// ranges): that lives in VertexMeta beside the op.
//
// Inputs are referred to by index into the vertex's `inputs` array.

import type { ProxyEnv } from './proxy-env.ts';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

// ---------------------------------------------------------------- source
export interface ImageSource {
  kind: 'source';
  source: 'image';
  /** Normalised reference as the user meant it, e.g. `docker.io/library/busybox:latest`. */
  ref: string;
  /** The resolved image manifest digest (single-platform manifest), so the key pins the content. */
  digest: string;
  platform: Platform;
}

export interface LocalSource {
  kind: 'source';
  source: 'local';
  /** Named context: `context` for the main one, else the --build-context name. */
  name: string;
  /** .dockerignore-style patterns applied before anything is read or hashed. */
  excludePatterns: string[];
}

export interface HttpSource {
  kind: 'source';
  source: 'http';
  url: string;
  checksum?: string;
  filename?: string;
  chmod?: number;
}

export interface GitSource {
  kind: 'source';
  source: 'git';
  url: string;
  ref?: string;
  keepGitDir?: boolean;
}

export type SourceOp = ImageSource | LocalSource | HttpSource | GitSource;

// ---------------------------------------------------------------- exec
export type NetworkMode = 'sandbox' | 'none' | 'host';

/** The root filesystem: the snapshot of `input` (or an empty one when input is absent). Its changes are the op's output. */
export interface RootMount {
  type: 'root';
  input?: number;
}
export interface BindMount {
  type: 'bind';
  target: string;
  input?: number;
  /** Path inside the input to mount; '/' for all of it. */
  source: string;
  readonly: boolean;
}
export interface CacheMount {
  type: 'cache';
  target: string;
  id: string;
  sharing: 'shared' | 'private' | 'locked';
  input?: number;
  source?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}
export interface TmpfsMount {
  type: 'tmpfs';
  target: string;
  size?: number;
}
/** A file the caller supplies by id at run time (a secret, an SSH agent socket); never part of a digest's content. */
interface SuppliedFileMount {
  target: string;
  id: string;
  required: boolean;
  mode: number;
  uid: number;
  gid: number;
}
export interface SecretMount extends Omit<SuppliedFileMount, 'target'> {
  type: 'secret';
  /** Where the value is mounted as a file; absent when it goes only to `env` (`RUN --mount=type=secret,id=x,env=X`). */
  target?: string;
  /** The name of an environment variable of the command that gets the value. */
  env?: string;
}
export interface SshMount extends SuppliedFileMount {
  type: 'ssh';
}
export type ExecMount = RootMount | BindMount | CacheMount | TmpfsMount | SecretMount | SshMount;

export interface ExecOp {
  kind: 'exec';
  args: string[];
  /** `KEY=value` pairs, in order. */
  env: string[];
  cwd: string;
  /** As Docker's USER: `name`, `uid`, `name:group`, `uid:gid`; empty means root. Resolved against the rootfs at run time. */
  user: string;
  network: NetworkMode;
  /** Exactly one root mount, first. */
  mounts: ExecMount[];
  /** Extra /etc/hosts lines (`--add-host`). */
  extraHosts?: string[];
  /** RUN --security=insecure (entitlement security.insecure): run privileged. Absent: the sandbox. */
  security?: 'insecure';
  /** Proxy build args, set in both spellings when the command runs; not part of the digest (./proxy-env.ts). */
  proxyEnv?: ProxyEnv;
}

// ---------------------------------------------------------------- file
/** Owner as written (`--chown=app:staff`, `1000`, ...). Names are resolved from the destination's /etc/passwd and /etc/group. */
export interface ChownSpec {
  user: string;
  group?: string;
}

export interface CopyAction {
  action: 'copy';
  /** Input index the files come from. */
  from: number;
  /** Source paths inside `from`, absolute, may hold wildcards (`*`, `?`, `[...]`). */
  src: string[];
  /** Absolute destination in the base; a trailing '/' means "into this directory". */
  dest: string;
  chown?: ChownSpec;
  chmod?: number;
  /** --chmod in chmod(1) symbolic notation (`+x`, `u=rwX,go=rX`), applied to each copied entry's own mode; never with `chmod`. */
  chmodSymbolic?: string;
  /** COPY semantics: a directory source copies its contents, not itself. */
  copyDirContents: boolean;
  followSymlinks: boolean;
  /** Fail when a wildcard matches nothing (COPY does not, when at least one other source exists: set per Docker). */
  allowWildcardEmpty: boolean;
  /** ADD: auto-extract local tar archives. */
  extractArchives: boolean;
  /** COPY --exclude: patterns matched against paths relative to each copied source. */
  excludePatterns: string[];
  createDestPath: boolean;
  /** COPY --parents: each source keeps its path below the root, or below a `/./` pivot in it, under dest. */
  parents?: boolean;
}

export interface MkdirAction {
  action: 'mkdir';
  path: string;
  mode: number;
  makeParents: boolean;
  chown?: ChownSpec;
}

export interface MkfileAction {
  action: 'mkfile';
  path: string;
  mode: number;
  /** UTF-8 text content. */
  data: string;
  chown?: ChownSpec;
}

export interface RmAction {
  action: 'rm';
  path: string;
  allowNotFound: boolean;
  allowWildcard: boolean;
}

export type FileAction = CopyAction | MkdirAction | MkfileAction | RmAction;

export interface FileOp {
  kind: 'file';
  /** Input the actions apply to; absent means an empty (scratch) filesystem. */
  base?: number;
  actions: FileAction[];
}

// `merge` and `diff` (independent layers stacked or subtracted) come with COPY --link, as DESIGN.md
// says: nothing makes or runs them before then, so they are not in the vocabulary yet. Adding an op
// is one union member here plus one file in worker/ops/ (the table there fails to compile without it).
export type Op = SourceOp | ExecOp | FileOp;
export type OpKind = Op['kind'];

/** For exhaustive switches: `default: return assertNever(op)`. */
export function assertNever(x: never): never {
  throw new Error(`unexpected member: ${JSON.stringify(x)}`);
}
