// The exec op's extra mounts as runtime mounts:
//   bind   — another snapshot through its own throwaway overlay view (so `rw` writes are discarded),
//            or a selection of a local context copied to scratch (its .dockerignore honoured, and
//            the user's files never written to);
//   cache  — a persistent directory per id (./cache-mounts.ts), seeded from `input` when new;
//   tmpfs  — a tmpfs of the given size;
//   secret — the value, from RunContext.secrets, written to a tmpfs in the bundle and bound
//            read-only as one file (default /run/secrets/<id>): never on disk, never in a layer;
//   ssh    — not supported yet.
// Mount targets the runtime creates in the rootfs are removed after the run (./mount-targets.ts).
import { execFile } from 'node:child_process';
import { chmod, chown, lstat, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { resolveInRoot } from '../../src/context/index.ts';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { assertNever, type ExecMount, type SecretMount } from '../../src/llb/index.ts';
import { copyAction } from '../file/copy.ts';
import { mountAt, unmount } from '../snapshot/mount.ts';
import { newSnapshotKey } from '../snapshot/snapshotter.ts';
import type { InputRef } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';
import type { SpecMount } from './spec.ts';

const run = promisify(execFile);

export interface OpMounts {
  specMounts: SpecMount[];
  /** Unmounts and removes every view made for the binds; safe to call after a failure. */
  release(): Promise<void>;
}

export interface OpMountsInput {
  mounts: readonly ExecMount[];
  inputs: readonly InputRef[];
  /** The exec's bundle dir: scratch space that goes away after the run. */
  bundle: string;
  secrets?: ReadonlyMap<string, Buffer>;
}

export async function prepareOpMounts(env: WorkerEnv, input: OpMountsInput): Promise<OpMounts> {
  const { mounts, inputs, bundle } = input;
  const specMounts: SpecMount[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const release = async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  let secretsDir: string | undefined;
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
          secretsDir ??= await mountSecretsTmpfs(join(bundle, 'secrets'), input.secrets!, cleanups);
          const file = join(secretsDir, String(i));
          await writeFile(file, value, { mode: 0o400 });
          await chown(file, m.uid, m.gid);
          await chmod(file, m.mode);
          specMounts.push({ destination: m.target, type: 'bind', source: file, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] });
          break;
        }
        case 'ssh':
          throw new TsbuildError(`ssh mounts are not supported yet (target ${m.target})`, { code: ErrorCodes.OPTION_INVALID, kind: 'unavailable' });
        default:
          assertNever(m);
      }
    }
  } catch (e) {
    await release();
    throw e;
  }
  return { specMounts, release };
}

function missingSecret(m: SecretMount): TsbuildError {
  return new TsbuildError(`secret "${m.id}" is required by a RUN --mount but was not given`, {
    code: ErrorCodes.OPTION_INVALID,
    kind: 'invalid',
    hint: `pass --secret id=${m.id},src=FILE (or drop required=true)`,
  });
}

/** A tmpfs for the secret files, so their values never touch a disk. */
async function mountSecretsTmpfs(dir: string, secrets: ReadonlyMap<string, Buffer>, cleanups: (() => Promise<void>)[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  let total = 0;
  for (const v of secrets.values()) total += v.length;
  // room for every value twice over (one file per mount), with a floor for the inodes
  const size = Math.max(64 * 1024, total * 2 + 4096 * secrets.size);
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
      action: 'copy', from: 0, src: [path], dest: '/data', copyDirContents: true, followSymlinks: true,
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
