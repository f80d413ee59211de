// Which progress output a build writes: -q, else --progress, else $BUILDKIT_PROGRESS (as buildx
// reads it), else auto. A bad value says where it came from.
import { ErrorCodes, invalid } from '../src/errors/index.ts';
import { ProgressModes, type ProgressMode } from '../src/progress/index.ts';

export function progressModeFrom(quiet: boolean, flag: string | undefined, env: NodeJS.ProcessEnv): ProgressMode {
  if (quiet) return 'quiet';
  const fromEnv = flag === undefined && (env.BUILDKIT_PROGRESS ?? '') !== '';
  const mode = flag ?? (fromEnv ? env.BUILDKIT_PROGRESS! : 'auto');
  if (!(ProgressModes as readonly string[]).includes(mode)) {
    const where = fromEnv ? `BUILDKIT_PROGRESS="${mode}"` : `--progress mode "${mode}"`;
    throw invalid(ErrorCodes.OPTION_INVALID, `unknown ${where}`, { hint: `one of ${ProgressModes.join(', ')}` });
  }
  return mode as ProgressMode;
}
