// The exec op's extra mounts as runtime mounts:
//   bind   — another snapshot through its own throwaway overlay view (so `rw` writes are discarded),
//            or a selection of a local context copied to scratch (its .dockerignore honoured, and
//            the user's files never written to);
//   cache  — a persistent directory per id (./cache-mounts.ts), seeded from `input` when new;
//   tmpfs  — a tmpfs of the given size;
//   secret — the value, from RunContext.secrets, written to a tmpfs in the bundle and bound
//            read-only as one file (default /run/secrets/<id>): never on disk, never in a layer;
//            with `env` the value is (also) in that variable of the command, and the runtime's
//            config.json, which then holds it, is written to that tmpfs too (`privateBundle`);
//   ssh    — a socket in a private host dir that forwards to the agent RunContext.sshAgents
//            names for the id, answering only list and sign (./agent-forward.ts).
// Mount targets the runtime creates in the rootfs are removed after the run (./mount-targets.ts).
import { execFile } from 'node:child_process';
import { chmod, chown, lstat, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { resolveInRoot } from '../../src/context/index.ts';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { assertNever, type ExecMount, type SecretMount, type SshMount } from '../../src/llb/index.ts';
import { copyAction } from '../file/copy.ts';
import { mountAt, unmount } from '../snapshot/mount.ts';
import { newSnapshotKey } from '../snapshot/snapshotter.ts';
import type { LocalRead } from '../ops/op-definition.ts';
import type { InputRef } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';
import type { SpecMount } from './spec.ts';
import { forwardAgent } from './agent-forward.ts';

const run = promisify(execFile);

// A bind or a cache seed from a build context is a copy of the selection that follows a final
// link (inputDir below): the mounted path shows the link's target, as a bind of the host dir would.
const localCopyFollowsLinks = true;

/**
 * What the mounts read from their inputs, for the cache key: each bind's source, each cache seed's,
 * in mount order. A context shows its files with their own modes and owned by 0:0 (inputDir copies
 * them without keeping owners, as BuildKit's client sends them): mode is keyed, owner is not.
 */
export function mountReads(mounts: readonly ExecMount[]): LocalRead[] {
  const reads: LocalRead[] = [];
  const keyed = { owner: false, mode: true };
  for (const m of mounts) {
    if (m.type === 'bind') reads.push({ input: m.input, paths: [m.source], followSymlinks: localCopyFollowsLinks, ...keyed });
    else if (m.type === 'cache') reads.push({ input: m.input, paths: [m.source ?? '/'], followSymlinks: localCopyFollowsLinks, ...keyed });
  }
  return reads;
}

export interface OpMounts {
  specMounts: SpecMount[];
  /** `NAME=value` pairs for the command from secrets mounted with `env`; they go after the op's own env. */
  env: string[];
  /**
   * Set when `env` holds secret values: a directory on a tmpfs that is to be the runtime bundle
   * (config.json goes there, never to disk), with the rootfs given as an absolute path.
   */
  privateBundle?: string;
  /** Unmounts and removes every view made for the binds; safe to call after a failure. */
  release(): Promise<void>;
}

export interface OpMountsInput {
  mounts: readonly ExecMount[];
  inputs: readonly InputRef[];
  /** The exec's bundle dir: scratch space that goes away after the run. */
  bundle: string;
  secrets?: ReadonlyMap<string, Buffer>;
  /** Agent sockets on the host by ssh id (RunContext.sshAgents). */
  sshAgents?: ReadonlyMap<string, string>;
}

export async function prepareOpMounts(env: WorkerEnv, input: OpMountsInput): Promise<OpMounts> {
  const { mounts, inputs, bundle } = input;
  const specMounts: SpecMount[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const release = async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  let secretsDir: string | undefined;
  let socketsDir: string | undefined;
  const secretEnvs: string[] = [];
  try {
    for (const [i, m] of mounts.entries()) {
      switch (m.type) {
        case 'root':
          break;
        case 'bind': {
          const source = await inputDir(env, inputAt(inputs, m.input), m.source, join(bundle, `mnt-${i}`), cleanups);
          specMounts.push({ destination: m.target, type: 'bind', source, options: ['rbind', m.readonly ? 'ro' : 'rw'] });
          break;
        }
        case 'cache': {
          const lease = await env.cacheMounts.acquire(m);
          cleanups.push(lease.release);
          if (lease.created && m.input !== undefined) {
            const seed = await inputDir(env, inputAt(inputs, m.input), m.source ?? '/', join(bundle, `seed-${i}`), cleanups);
            await run('cp', ['-a', `${seed}/.`, lease.dir]);
          }
          specMounts.push({ destination: m.target, type: 'bind', source: lease.dir, options: ['rbind', 'rw'] });
          break;
        }
        case 'tmpfs':
          specMounts.push({ destination: m.target, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', ...(m.size ? [`size=${m.size}`] : [])] });
          break;
        case 'secret': {
          const value = input.secrets?.get(m.id);
          if (value === undefined) {
            if (m.required) throw missingSecret(m);
            break;
          }
          if (m.env !== undefined) secretEnvs.push(secretEnv(m, m.env, value));
          if (m.target === undefined) break;
          secretsDir ??= await mountSecretsTmpfs(join(bundle, 'secrets'), mounts, input.secrets!, cleanups);
          const file = join(secretsDir, String(i));
          await writeFile(file, value, { mode: 0o400 });
          await chown(file, m.uid, m.gid);
          await chmod(file, m.mode);
          specMounts.push({ destination: m.target, type: 'bind', source: file, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] });
          break;
        }
        case 'ssh': {
          const agent = input.sshAgents?.get(m.id);
          if (agent === undefined) {
            if (m.required) throw missingAgent(m);
            break;
          }
          socketsDir ??= await privateDir(bundle, mounts.length, cleanups);
          const socket = join(socketsDir, `${i}.sock`);
          cleanups.push(await forwardAgent({ agent, socket, mode: m.mode, uid: m.uid, gid: m.gid }));
          specMounts.push({ destination: m.target, type: 'bind', source: socket, options: ['rbind', 'nosuid', 'nodev', 'noexec'] });
          break;
        }
        default:
          assertNever(m);
      }
    }
  } catch (e) {
    await release();
    throw e;
  }
  if (secretEnvs.length === 0) return { specMounts, env: secretEnvs, release };
  try {
    secretsDir ??= await mountSecretsTmpfs(join(bundle, 'secrets'), mounts, input.secrets!, cleanups);
    const privateBundle = join(secretsDir, 'bundle');
    await mkdir(privateBundle, { mode: 0o700 });
    return { specMounts, env: secretEnvs, privateBundle, release };
  } catch (e) {
    await release();
    throw e;
  }
}

/** `NAME=value` for a secret mounted with env=NAME; a value the environment cannot carry is an error. */
function secretEnv(m: SecretMount, name: string, value: Buffer): string {
  if (value.includes(0)) {
    throw new TsbuildError(`secret "${m.id}" cannot go to the environment variable ${name}: it holds a NUL byte`, {
      code: ErrorCodes.OPTION_INVALID,
      kind: 'invalid',
      hint: `mount it as a file instead (drop env=${name})`,
    });
  }
  if (name.length + 1 + value.length > maxEnvString) {
    throw new TsbuildError(`secret "${m.id}" is too large for the environment variable ${name}: ${value.length} bytes, and the kernel takes at most 128 KiB per variable`, {
      code: ErrorCodes.OPTION_INVALID,
      kind: 'invalid',
      hint: `mount it as a file instead (drop env=${name})`,
    });
  }
  return `${name}=${value.toString('utf8')}`;
}

/** Linux's MAX_ARG_STRLEN: longer `NAME=value` strings make execve fail with E2BIG. */
const maxEnvString = 128 * 1024 - 1;

function missingAgent(m: SshMount): TsbuildError {
  return new TsbuildError(`ssh agent "${m.id}" is required by a RUN --mount=type=ssh but was not given`, {
    code: ErrorCodes.OPTION_INVALID,
    kind: 'invalid',
    hint: m.id === 'default' ? 'pass --ssh default (the agent at $SSH_AUTH_SOCK), or drop required=true' : `pass --ssh ${m.id}=SOCKET_OR_KEYFILE, or drop required=true`,
  });
}

/**
 * A new directory only root can enter, for the forwarding sockets: in the bundle, which start-up
 * recovery clears after a crash, unless a socket path there would pass the 107 bytes a socket
 * address holds (a deep state root); then under the system temp dir.
 */
async function privateDir(bundle: string, sockets: number, cleanups: (() => Promise<void>)[]): Promise<string> {
  const inBundle = join(bundle, 'ssh');
  const dir = Buffer.byteLength(join(inBundle, `${sockets}.sock`)) <= maxSocketPath ? inBundle : await mkdtemp(join(tmpdir(), 'tsbuild-ssh-'));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** sizeof(sockaddr_un.sun_path) on Linux, less the terminating NUL. */
const maxSocketPath = 107;

function missingSecret(m: SecretMount): TsbuildError {
  return new TsbuildError(`secret "${m.id}" is required by a RUN --mount but was not given`, {
    code: ErrorCodes.OPTION_INVALID,
    kind: 'invalid',
    hint: `pass --secret id=${m.id},src=FILE (or drop required=true)`,
  });
}

/** A tmpfs for the secret files (and a config.json holding secret env), so their values never touch a disk. */
async function mountSecretsTmpfs(dir: string, mounts: readonly ExecMount[], secrets: ReadonlyMap<string, Buffer>, cleanups: (() => Promise<void>)[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  // a page per file, each file's value, and for config.json its own size (the seccomp profile is
  // tens of KiB) plus each env value as JSON may escape it (\u0000 for one byte: six times), twice:
  // crun keeps a copy of config.json in its state dir, here too (docs/runtime.md)
  let size = 1024 * 1024;
  for (const m of mounts) {
    const value = m.type === 'secret' ? secrets.get(m.id) : undefined;
    if (m.type !== 'secret' || value === undefined) continue;
    if (m.target !== undefined) size += 4096 + value.length;
    if (m.env !== undefined) size += 2 * 6 * Math.min(value.length, maxEnvString);
  }
  await mountAt({ type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=0700', `size=${size}`] }, dir);
  cleanups.push(() => unmount(dir));
  return dir;
}

function inputAt(inputs: readonly InputRef[], index: number | undefined): InputRef | undefined {
  if (index === undefined) return undefined;
  const input = inputs[index];
  if (!input) throw new TsbuildError(`mount refers to input ${index}, but only ${inputs.length} exist`, { code: ErrorCodes.INTERNAL, kind: 'internal' });
  return input;
}

/** A host path showing `path` of the input, writable, whose changes are thrown away with the cleanups. */
async function inputDir(env: WorkerEnv, input: InputRef | undefined, path: string, scratch: string, cleanups: (() => Promise<void>)[]): Promise<string> {
  await mkdir(scratch, { recursive: true });
  if (input?.type === 'local') {
    // a copy of the selection, .dockerignore applied: a bind of the host dir would show excluded
    // files and let `rw` write into the user's context
    await copyAction(scratch, {
      action: 'copy', from: 0, src: [path], dest: '/data', copyDirContents: true, followSymlinks: localCopyFollowsLinks,
      allowWildcardEmpty: false, extractArchives: false, excludePatterns: [], createDestPath: true,
    }, { root: input.dir, excludePatterns: input.excludePatterns, name: 'the build context', keepOwners: false });
    // the copy makes /data 0755; a bound subdirectory shows its own mode, as in BuildKit's local snapshot
    const data = join(scratch, 'data');
    const src = resolveInRoot(input.dir, path);
    const s = src === resolveInRoot(input.dir, '/') ? undefined : await lstat(src);
    if (s?.isDirectory()) await chmod(data, s.mode & 0o7777);
    return data;
  }
  const viewKey = newSnapshotKey();
  cleanups.push(() => env.snapshots.remove(viewKey));
  const view = await env.snapshots.view(viewKey, input?.id);
  await mountAt(view[0], scratch);
  cleanups.push(() => unmount(scratch));
  return resolveInRoot(scratch, path);
}
