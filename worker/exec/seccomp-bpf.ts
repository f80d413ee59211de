// Docker's seccomp profile compiled to BPF once, not on every RUN. crun turns the spec's
// linux.seccomp into a BPF program with libseccomp each time it starts a container (~15 ms of its
// ~35 ms here); crun 1.8 caches that program only when built with libgcrypt, and Debian's is not.
// Its annotation `run.oci.seccomp_bpf_data` (base64 of the program; crun(1) says PATH, its source
// reads the data) makes it load a ready program instead. The program is crun's own: crun `create`s
// a container with nothing but a mount namespace and the profile on an empty rootfs, and the
// seccomp.bpf it writes into that container's state dir is read before the container is deleted
// (it never runs: `create` stops before the exec). So the filter is byte for byte what crun would
// have compiled from the same profile.
//
// Kept in <root>/seccomp/<key>.bpf, the key a sha256 of the profile and of the crun and libseccomp
// files (an upgrade of either compiles again), and remembered per process. The file is the sha256
// of the program, then the program, written to disk before it is renamed in place: crun loads what
// the annotation holds instead of the profile, so a file a crash cut short (every RUN would fail)
// or one changed since (a RET ALLOW would run every step unfiltered) must never reach it; such a
// file is compiled again. Any failure leaves the step as before: crun compiles the profile itself.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pidsWhere } from '../proc-scan.ts';
import type { OciRuntime } from './runtime.ts';
import type { SeccompProfile } from './seccomp-profile.ts';

/** The annotation crun 1.8 reads the ready BPF program from (base64). */
export const seccompBpfAnnotation = 'run.oci.seccomp_bpf_data';

const compiled = new Map<string, Promise<string | undefined>>();

/**
 * The annotations that give `runtime` the profile as a ready program, or undefined when it takes
 * none (runc) or the program could not be made. `stateRoot` holds the kept programs; the container
 * that compiles it lives in `<stateRoot>/runc` (a step's may be on /dev/shm: ./runtime-state-dir.ts),
 * where start-up recovery deletes one a killed tsbuild left.
 */
export async function seccompAnnotations(runtime: OciRuntime, profile: SeccompProfile, stateRoot: string): Promise<Record<string, string> | undefined> {
  if (!runtime.takesSeccompBpf) return undefined;
  const key = cacheKey(runtime, profile);
  if (key === undefined) return undefined;
  const file = join(stateRoot, 'seccomp', `${key}.bpf`);
  let bpf = compiled.get(file);
  if (!bpf) {
    bpf = readKept(file) ?? compile(runtime, profile, stateRoot, file);
    compiled.set(file, bpf);
  }
  const data = await bpf;
  return data === undefined ? undefined : { [seccompBpfAnnotation]: data };
}

const digestBytes = 32;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();

/** The kept program as base64, or undefined when missing or not the program that was written (compile again). */
export function readKept(file: string): Promise<string | undefined> | undefined {
  try {
    const bytes = readFileSync(file);
    const program = bytes.subarray(digestBytes);
    // a BPF program is whole 8-byte instructions, and its digest must match: else a torn or changed file
    if (program.length === 0 || program.length % 8 !== 0 || !sha256(program).equals(bytes.subarray(0, digestBytes))) return undefined;
    return Promise.resolve(program.toString('base64'));
  } catch {
    return undefined;
  }
}

/** Writes `program` to `file` as readKept reads it: its digest first, on disk before the rename makes it visible. */
export function writeKept(file: string, program: Uint8Array, part: string): void {
  const fd = openSync(part, 'w', 0o600);
  try {
    writeFileSync(fd, Buffer.concat([sha256(program), program]));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(part, file);
}

async function compile(runtime: OciRuntime, profile: SeccompProfile, stateRoot: string, file: string): Promise<string | undefined> {
  const id = `tsbuild-seccomp-${randomBytes(6).toString('hex')}`;
  const stateDir = join(stateRoot, 'runc');
  const bundle = join(stateRoot, 'tmp', id);
  const spec = {
    ociVersion: '1.0.2',
    // never executed: `create` stops before the exec; crun only checks that it is executable
    process: { args: ['/none'], cwd: '/', user: { uid: 0, gid: 0 }, noNewPrivileges: true },
    root: { path: join(bundle, 'rootfs'), readonly: true },
    mounts: [],
    linux: { namespaces: [{ type: 'mount' }], seccomp: profile },
  };
  try {
    mkdirSync(join(bundle, 'rootfs', 'dev'), { recursive: true });
    writeFileSync(join(bundle, 'rootfs', 'none'), '');
    chmodSync(join(bundle, 'rootfs', 'none'), 0o755);
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const create = runtime.command(['--cgroup-manager=disabled', '--root', stateDir, 'create', '--bundle', bundle, id]);
    // its stdio 'ignore': the created container keeps crun's stdout and stderr open until deleted,
    // so waiting for them to close (execFile) would wait for the timeout
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(create.file, create.args, { stdio: 'ignore', timeout: 10_000 });
      child.on('error', reject);
      child.on('exit', (c) => resolve(c));
    });
    if (code !== 0) return undefined;
    const bytes = await readFile(join(stateDir, id, 'seccomp.bpf'));
    if (bytes.length === 0 || bytes.length % 8 !== 0) return undefined;
    mkdirSync(join(stateRoot, 'seccomp'), { recursive: true });
    writeKept(file, bytes, `${file}.${id}`);
    return bytes.toString('base64');
  } catch {
    return undefined;
  } finally {
    // `delete --force` does not kill a container made without cgroups: its process (waiting to be
    // started) is killed by the pid crun noted, then its state, which is all delete would remove, goes
    killCreated(join(stateDir, id));
    await rm(join(stateDir, id), { recursive: true, force: true });
    await rm(bundle, { recursive: true, force: true });
  }
}

/**
 * Kills what is left of compile containers whose runtime was killed while it created them: the
 * state may not be saved yet (killCreated has no pid, or no dir to find), but the init still waits
 * under the runtime's own command line (`crun ... --root <stateDir> create ... <id>`).
 */
export function killCreatingRuntimes(stateDir: string): void {
  const compiling = (args: readonly string[]) => {
    const rootAt = args.indexOf('--root');
    return /(^|\/)(crun|runc)$/.test(args[0] ?? '') && rootAt > 0 && args[rootAt + 1] === stateDir && args.includes('create') && isSeccompCompileContainer(args.at(-1) ?? '');
  };
  for (const pid of pidsWhere(compiling)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

/** Whether a container id in `<root>/runc` is one of ours compiling the program (recovery kills it with killCreated). */
export function isSeccompCompileContainer(id: string): boolean {
  return id.startsWith('tsbuild-seccomp-');
}

/**
 * Kills the process of a container crun created (and never started) from its state dir `state`:
 * by the pid crun noted, and only while that pid is still the process crun started (its start
 * time matches), so a pid reused after a reboot is left alone.
 */
export function killCreated(state: string): void {
  try {
    const status = JSON.parse(readFileSync(join(state, 'status'), 'utf8')) as { pid?: number; 'process-start-time'?: number };
    const pid = status.pid;
    if (typeof pid !== 'number' || pid <= 1) return;
    // /proc/<pid>/stat: the start time is field 22, counted after the parenthesised command name
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const startTime = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    if (startTime === status['process-start-time']) process.kill(pid, 'SIGKILL');
  } catch {
    // never created, or gone
  }
}

// the files' identities, read once per process: the same binaries serve every step
const identities = new Map<string, string | undefined>();

/** sha256 of the profile, the runtime's binary and libseccomp (path, size, mtime): what the program depends on. */
function cacheKey(runtime: OciRuntime, profile: SeccompProfile): string | undefined {
  let files = identities.get(runtime.name);
  if (!identities.has(runtime.name)) {
    const binary = onPath(runtime.name);
    files = binary === undefined ? undefined : [binary, ...libseccompCandidates].flatMap((f) => {
      try {
        return [fileIdentity(realpathSync(f))];
      } catch {
        return []; // not there: another layout
      }
    }).join('\0');
    identities.set(runtime.name, files);
  }
  if (files === undefined) return undefined;
  return createHash('sha256').update(JSON.stringify(profile)).update('\0').update(files).digest('hex');
}

const libseccompCandidates = ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'i386-linux-gnu']
  .flatMap((m) => [`/lib/${m}/libseccomp.so.2`, `/usr/lib/${m}/libseccomp.so.2`])
  .concat(['/lib64/libseccomp.so.2', '/usr/lib64/libseccomp.so.2', '/usr/lib/libseccomp.so.2']);

function fileIdentity(path: string): string {
  const st = statSync(path);
  return `${path}:${st.size}:${st.mtimeMs}:${st.ino}`;
}

function onPath(cmd: string): string | undefined {
  if (cmd.includes('/')) return cmd;
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    try {
      const p = realpathSync(join(dir || '.', cmd));
      if (statSync(p).isFile()) return p;
    } catch {
      // not in this dir
    }
  }
  return undefined;
}
