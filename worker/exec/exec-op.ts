// The exec op: a new snapshot on the root input, its overlay mounted as the container's rootfs,
// the command run by the OCI runtime, and the upper dir committed as the result.
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { withProxyEnv, type ExecMount, type ExecOp } from '../../src/llb/index.ts';
import { mountAt, unmount } from '../snapshot/mount.ts';
import type { InputRef, RunContext } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';
import { resolveInRoot } from '../../src/context/index.ts';
import { runContainer } from './executor.ts';
import { recordTargets, removeCreatedTargets } from './mount-targets.ts';
import { createRuntimeSpec, systemMounts } from './spec.ts';
import { resolveUser } from './user.ts';
import { prepareOpMounts } from './op-mounts.ts';
import { detectCgroups, readCgroupEvents, removeRunCgroup, runCgroupPath } from './cgroups.ts';
import { fitLimits, limitFailure, limitHint } from './resources.ts';

const hostname = 'buildkitsandbox';

export function snapshotInput(inputs: readonly InputRef[], index: number | undefined): string | undefined {
  if (index === undefined) return undefined;
  const input = inputs[index];
  if (!input) throw new TsbuildError(`op refers to input ${index}, but only ${inputs.length} exist`, { code: ErrorCodes.INTERNAL, kind: 'internal' });
  if (input.type !== 'snapshot') throw new TsbuildError(`input ${index} must be a snapshot here, not a ${input.type} directory`, { code: ErrorCodes.INTERNAL, kind: 'internal' });
  return input.id;
}

export async function execOp(env: WorkerEnv, op: ExecOp, inputs: readonly InputRef[], ctx: RunContext): Promise<string> {
  const root = op.mounts.find((m): m is Extract<ExecMount, { type: 'root' }> => m.type === 'root');
  const parent = snapshotInput(inputs, root?.input);
  const runtime = await env.runtime();
  const key = env.snapshots.newKey();
  const bundle = join(env.paths.tmp, `run-${key}`);
  const rootfs = join(bundle, 'rootfs');
  let mounted = false;
  let committed = false;
  const releases: (() => Promise<void>)[] = [];
  try {
    const mounts = await env.snapshots.prepare(key, parent);
    await mkdir(rootfs, { recursive: true });
    await mountAt(mounts[0], rootfs);
    mounted = true;

    const files = await writeEtcFiles(bundle, op.extraHosts ?? []);
    const opMounts = await prepareOpMounts(env, { mounts: op.mounts, inputs, bundle, secrets: ctx.secrets });
    releases.push(opMounts.release);
    const targets = [...systemMounts(files), ...opMounts.specMounts].map((m) => m.destination);
    const before = recordTargets(rootfs, targets);

    const cgroups = detectCgroups();
    const limits = fitLimits(ctx.limits ?? {}, cgroups);
    const cgroupsPath = runCgroupPath(env.paths.root, key);
    const user = resolveUser(rootfs, op.user);
    mkdirSync(resolveInRoot(rootfs, op.cwd || '/'), { recursive: true });
    const spec = createRuntimeSpec({
      args: op.args, env: withProxyEnv(op.env, op.proxyEnv), cwd: op.cwd || '/', user, network: op.network, hostname,
      ...files, cgroupsPath, extraMounts: opMounts.specMounts, limits,
    });
    const result = await runContainer({
      runtime, stateDir: join(env.paths.root, 'runc'), bundle, id: `tsbuild-${key}`, spec, ctx,
      readEvents: () => readCgroupEvents(cgroups, cgroupsPath),
    }).finally(() => removeRunCgroup(cgroups, cgroupsPath));

    await unmount(rootfs);
    mounted = false;
    await removeCreatedTargets(env.snapshots.fsDir(key), before);
    if (result.aborted || ctx.signal.aborted) throw new TsbuildError('the command was cancelled', { code: ErrorCodes.CANCELLED, kind: 'cancelled' });
    const stoppedBy = result.exitCode !== 0 ? limitFailure(result.events, limits) : undefined;
    if (stoppedBy !== undefined) {
      throw new TsbuildError(`process "${op.args.join(' ')}" did not complete successfully: ${stoppedBy}`, {
        code: ErrorCodes.RUN_LIMIT_REACHED, kind: 'invalid', details: result.lastLines, hint: limitHint(result.events!),
      });
    }
    if (result.exitCode !== 0) {
      throw new TsbuildError(`process "${op.args.join(' ')}" did not complete successfully: exit code: ${result.exitCode}`, {
        code: ErrorCodes.RUN_FAILED, kind: 'invalid', details: result.lastLines,
      });
    }
    env.snapshots.commit(key, parent);
    committed = true;
    return key;
  } finally {
    if (mounted) await unmount(rootfs);
    for (const release of releases) await release();
    await rm(bundle, { recursive: true, force: true });
    if (!committed) await env.snapshots.remove(key);
  }
}

/** /etc/hosts and /etc/resolv.conf for the container, as files in the bundle. */
async function writeEtcFiles(bundle: string, extraHosts: readonly string[]): Promise<{ hostsPath: string; resolvConfPath: string }> {
  const hostsPath = join(bundle, 'hosts');
  const resolvConfPath = join(bundle, 'resolv.conf');
  const hosts = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `127.0.0.1\t${hostname}`, ...extraHosts.map((h) => h.replace(/^([^:]+):(.*)$/, '$2\t$1'))];
  await writeFile(hostsPath, hosts.join('\n') + '\n');
  let resolv = '';
  try {
    if (statSync('/etc/resolv.conf').isFile()) resolv = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    // no resolver on the host: the container gets an empty one
  }
  await writeFile(resolvConfPath, resolv);
  return { hostsPath, resolvConfPath };
}
