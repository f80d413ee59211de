// The exec op: a new snapshot on the root input, its overlay mounted as the container's rootfs,
// the command run by the OCI runtime, and the upper dir committed as the result.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { withProxyEnv, type ExecMount, type ExecOp } from '../../src/llb/index.ts';
import { mountAt, unmount, type Mount } from '../snapshot/mount.ts';
import { withActiveSnapshot } from '../snapshot/with-active-snapshot.ts';
import { createTrash, removeLater } from '../snapshot/background-removal.ts';
import type { InputRef, RunContext } from '../types.ts';
import { snapshotInput } from '../snapshot-input.ts';
import type { WorkerEnv } from '../worker-env.ts';
import { resolveInRoot } from '../../src/context/index.ts';
import { runContainer } from './executor.ts';
import { makeRuntimeFifos } from './runtime-process.ts';
import { runtimesRunning } from '../running-runtimes.ts';
import { dirsShowingLower, placeBindTargets, placeOpTargets, recordTargets, removeCreatedTargets } from './mount-targets.ts';
import { createRuntimeSpec } from './spec.ts';
import { resolveUser } from '../rootfs/users.ts';
import { checkTableMounts } from './table-mounts.ts';
import { prepareOpMounts } from './op-mounts.ts';
import { hostCgroups, readCgroupEvents, removeRunCgroup, runCgroupPath } from './cgroups.ts';
import { fitLimits, limitFailure, limitHint } from './resources.ts';
import { writeEtcFiles } from '../net/etc-files.ts';
import { heldCapabilities } from './capabilities.ts';
import type { NetworkLease } from '../net/network-pool.ts';
import type { OciRuntimes } from './runtime.ts';
import { seccompAnnotations } from './seccomp-bpf.ts';

const hostname = 'buildkitsandbox';

export async function execOp(env: WorkerEnv, op: ExecOp, inputs: readonly InputRef[], ctx: RunContext): Promise<string> {
  const root = op.mounts.find((m): m is Extract<ExecMount, { type: 'root' }> => m.type === 'root');
  const parent = snapshotInput(inputs, root?.input);
  const runtime = await env.runtime();
  return withActiveSnapshot(env.snapshots, parent, (key, mounts) => runInSnapshot(env, op, inputs, ctx, { runtime, key, mounts }), { signal: ctx.signal });
}

/** Runs the command on the active snapshot `key` (mounted from `mounts`), leaving it unmounted and ready to commit. */
async function runInSnapshot(env: WorkerEnv, op: ExecOp, inputs: readonly InputRef[], ctx: RunContext, snap: { runtime: OciRuntimes; key: string; mounts: Mount[] }): Promise<void> {
  const { runtime, key, mounts } = snap;
  const bundle = join(env.paths.tmp, `run-${key}`);
  const rootfs = join(bundle, 'rootfs');
  let mounted = false;
  const releases: (() => Promise<void>)[] = [];
  let network: NetworkLease | undefined;
  // asked for now, waited for only when the spec needs its path: a namespace still being set up
  // (pasta takes ~35 ms) overlaps the mount and the spec instead of coming before them
  const leasing = op.network === 'sandbox' ? env.network.acquire() : undefined;
  leasing?.catch(() => undefined);
  const privileged = op.security === 'insecure';
  try {
    mkdirSync(rootfs, { recursive: true });
    // asked for with the mount: the helper answers both from one read of its pipe
    const fifos = makeRuntimeFifos(bundle);
    await mountAt(mounts[0], rootfs);
    mounted = true;

    const files = await writeEtcFiles(bundle, { hostname, extraHosts: op.extraHosts ?? [], network: op.network });
    const opMounts = await prepareOpMounts(env, { mounts: op.mounts, inputs, bundle, secrets: ctx.secrets, sshAgents: ctx.sshAgents });
    releases.push(opMounts.release);
    const extraMounts = placeOpTargets(rootfs, opMounts.specMounts);

    const cgroups = hostCgroups();
    const limits = fitLimits(ctx.limits ?? {}, cgroups);
    const cgroupsPath = runCgroupPath(env.paths.root, key);
    const user = resolveUser(rootfs, op.user);
    mkdirSync(resolveInRoot(rootfs, op.cwd || '/'), { recursive: true });
    network = await leasing;
    const spec = createRuntimeSpec({
      args: op.args, env: withEnv(withProxyEnv(op.env, op.proxyEnv), opMounts.env), cwd: op.cwd || '/', user, network: op.network, hostname,
      ...files, cgroupsPath, extraMounts, limits,
      netnsPath: network?.path, privileged, privilegedCapabilities: privileged ? heldCapabilities() : undefined,
    });
    // /etc/hosts and /etc/resolv.conf where the image's links lead (never into /proc, /sys, /dev)
    spec.mounts = placeBindTargets(rootfs, spec.mounts, [files.hostsPath, files.resolvConfPath]);
    checkTableMounts(rootfs, opMounts.specMounts);
    const before = recordTargets(rootfs, spec.mounts.map((m) => m.destination));
    // secret values in the env: config.json goes to a tmpfs, the rootfs named by its absolute path
    if (opMounts.privateBundle) spec.root.path = rootfs;
    // only a limit of ours makes an OOM kill or a refused fork worth naming; without one the
    // runtime need not keep the container for us to read its cgroup
    const namesLimits = limits.memory !== undefined || limits.pidsLimit !== undefined;
    const oci = namesLimits ? runtime.keeping : runtime.run;
    // a runtime that copies config.json (secret values in the env) keeps its state on that tmpfs too
    spec.annotations = await seccompAnnotations(oci, spec.linux.seccomp, env.paths.root);
    const stateDir = opMounts.privateBundle && oci.copiesSpec ? join(opMounts.privateBundle, 'runtime-state') : (env.runtimeState?.path() ?? join(env.paths.root, 'runc'));
    const result = await runContainer({
      runtime: oci, stateDir, bundle: opMounts.privateBundle ?? bundle, id: `tsbuild-${key}`, spec, ctx,
      readEvents: namesLimits ? () => readCgroupEvents(cgroups, cgroupsPath) : undefined,
      log: { dir: env.paths.logs, name: key }, fifos,
    }).finally(() => removeRunCgroup(cgroups, cgroupsPath));

    const written = env.snapshots.activeDir(key);
    const showsLower = written.form === 'diff' ? dirsShowingLower(rootfs, written.dir, before) : undefined;
    // its sync in a child of the helper while other steps run: their requests need not queue behind it
    await unmount(rootfs, { inChild: runtimesRunning() > 0 });
    mounted = false;
    const trash = createTrash(env.paths.tmp);
    await removeCreatedTargets(written.dir, before, written.form, showsLower, trash);
    trash.empty();
    if (result.aborted || ctx.signal.aborted) throw new TsbuildError('the command was cancelled', { code: ErrorCodes.CANCELLED, kind: 'cancelled' });
    const notes = result.logPath ? [{ message: `the full output is in ${result.logPath}` }] : [];
    const stoppedBy = result.exitCode !== 0 ? limitFailure(result.events, limits) : undefined;
    if (stoppedBy !== undefined) {
      throw new TsbuildError(`process "${op.args.join(' ')}" did not complete successfully: ${stoppedBy}`, {
        code: ErrorCodes.RUN_LIMIT_REACHED, kind: 'invalid', details: result.lastLines, hint: limitHint(result.events!), notes,
      });
    }
    if (result.exitCode !== 0) {
      throw new TsbuildError(`process "${op.args.join(' ')}" did not complete successfully: exit code: ${result.exitCode}`, {
        code: ErrorCodes.RUN_FAILED, kind: 'invalid', details: result.lastLines, notes,
      });
    }
  } finally {
    // a privileged step could have changed its namespace (CAP_NET_ADMIN): never hand it on; one
    // leased but not yet taken (an earlier failure) goes back unused
    if (network) await network.release({ reuse: !privileged });
    else await leasing?.then((l) => l.release({ reuse: true }), () => undefined);
    if (mounted) await unmount(rootfs);
    for (const release of releases) await release();
    // in the background: freeing blocks can wait on the disk (./../snapshot/background-removal.ts)
    removeLater(bundle);
  }
}

/** `env` with each `NAME=value` of `extra` set, replacing an earlier NAME. */
export function withEnv(env: readonly string[], extra: readonly string[]): string[] {
  if (extra.length === 0) return [...env];
  const names = new Set(extra.map((e) => e.slice(0, e.indexOf('='))));
  return [...env.filter((e) => !names.has(e.slice(0, e.indexOf('=')))), ...extra];
}
