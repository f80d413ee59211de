// Shared by the frontend tests: converts a Dockerfile with a fake image resolver (every image is
// a busybox-like config), so tests read like the Dockerfile they are about.
import type { ExecutionContext } from 'ava';
import { createBuildDefinition, type FrontendOptions, type ImageResolver, type ResolvedImage } from '../../frontend/index.ts';
import { isTsbuildError, type TsbuildError } from '../../src/errors/index.ts';
import type { ExecOp, FileOp, Vertex } from '../../src/llb/index.ts';

export const baseConfig = {
  os: 'linux',
  architecture: 'amd64',
  config: { Env: ['PATH=/bin:/usr/bin'], Cmd: ['sh'], WorkingDir: '/' },
  rootfs: { type: 'layers' as const, diff_ids: ['sha256:' + '1'.repeat(64)] },
  history: [{ created_by: 'ADD rootfs.tar /' }],
};

/** An image resolver that gives every image `config` (a short name becomes docker.io/library/NAME:latest). */
export function resolveAs(config: ResolvedImage['config']): ImageResolver {
  return async (ref) => ({ ref: /[/:]/.test(ref) ? ref : `docker.io/library/${ref}:latest`, digest: 'sha256:' + 'b'.repeat(64), config: structuredClone(config) });
}

export function build(dockerfile: string, opts: Partial<FrontendOptions> = {}) {
  return createBuildDefinition({
    dockerfile,
    dockerfilePath: 'Dockerfile',
    buildArgs: {},
    platform: { os: 'linux', architecture: 'amd64' },
    namedContexts: {},
    excludePatterns: [],
    resolveImage: resolveAs(baseConfig),
    ...opts,
  });
}

/** Asserts the build fails with a located user error; returns it for further checks. */
export async function rejects(t: ExecutionContext, dockerfile: string, message: string | RegExp, opts: Partial<FrontendOptions> = {}): Promise<TsbuildError> {
  const e = await t.throwsAsync(build(dockerfile, opts));
  t.true(isTsbuildError(e), String(e));
  const err = e as TsbuildError;
  t.is(err.kind, 'invalid');
  if (typeof message === 'string') t.is(err.message, message);
  else t.regex(err.message, message);
  t.truthy(err.location?.text, 'the location carries the line text');
  return err;
}

export const exec = (v: Vertex | undefined) => v!.op as ExecOp;
export const file = (v: Vertex | undefined) => v!.op as FileOp;
