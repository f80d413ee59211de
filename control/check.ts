// `tsbuild check`: BuildKit's Dockerfile checks plus a dry conversion of every stage (or the
// target), so mistakes the build would hit (unknown stages, bad flags, mount options) show up
// too, all without building. Images are never resolved: each FROM gets a stand-in config.
import { readDockerfile } from './read-dockerfile.ts';
import { createBuildDefinition, lintDockerfile, parseDockerfile, type LintViolation } from '../frontend/index.ts';
import { TsbuildError, isTsbuildError, withSourceText } from '../src/errors/index.ts';
import type { Platform } from '../src/llb/index.ts';

export interface CheckInput {
  /** The build context: a Dockerfile inside it is read without following links out of it. */
  contextDir: string;
  dockerfilePath: string;
  /** As messages name it. */
  dockerfileName: string;
  buildArgs: Readonly<Record<string, string>>;
  target?: string;
  platform: Platform;
}

export interface CheckReport {
  violations: LintViolation[];
  /** `# check=error=true`: the violations fail the check. */
  failOnViolation: boolean;
  /** What stops the Dockerfile from building at all (a parse or conversion error). */
  error?: TsbuildError;
}

const STAND_IN_DIGEST = `sha256:${'0'.repeat(64)}`;

export async function runCheck(input: CheckInput): Promise<CheckReport> {
  const dockerfile = readDockerfile(input.contextDir, input.dockerfilePath, input.dockerfileName);
  try {
    return await checkText(dockerfile, input);
  } catch (e) {
    throw withSourceText(e, input.dockerfileName, dockerfile);
  }
}

async function checkText(dockerfile: string, input: CheckInput): Promise<CheckReport> {
  let ast;
  let lint;
  try {
    ast = parseDockerfile(dockerfile, input.dockerfileName);
    lint = lintDockerfile({ dockerfile, dockerfilePath: input.dockerfileName, buildArgs: input.buildArgs, target: input.target, platform: input.platform, ast });
  } catch (e) {
    if (isTsbuildError(e) && e.kind !== 'internal') return { violations: [], failOnViolation: false, error: withSourceText(e, input.dockerfileName, dockerfile) };
    throw e;
  }

  // every stage when no target is named, as BuildKit's check does
  const stageCount = ast.instructions.filter((i) => i.name === 'from').length;
  const targets = input.target !== undefined ? [input.target] : Array.from({ length: stageCount }, (_, i) => String(i));
  let error: TsbuildError | undefined;
  for (const target of targets) {
    try {
      await createBuildDefinition({
        dockerfile,
        dockerfilePath: input.dockerfileName,
        // the checks ran above; the dry conversions only look for errors
        buildArgs: { ...input.buildArgs, BUILDKIT_DOCKERFILE_CHECK: 'skip=all' },
        target,
        platform: input.platform,
        namedContexts: {},
        excludePatterns: [],
        resolveImage: async (ref, platform) => ({ ref, digest: STAND_IN_DIGEST, config: { os: platform.os, architecture: platform.architecture, config: {}, rootfs: { type: 'layers', diff_ids: [] } } }),
      });
    } catch (e) {
      if (!isTsbuildError(e) || e.kind === 'internal') throw e;
      error = withSourceText(e, input.dockerfileName, dockerfile);
      break;
    }
  }
  return { violations: lint.violations, failOnViolation: lint.failOnViolation, error };
}
