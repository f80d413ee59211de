// What a build's outputs need, checked before any step runs: a failed check costs nothing,
// where finding it after the build would cost the whole build.
import { ErrorCodes, invalid } from '../src/errors/index.ts';
import { dockerDaemon, pingDocker } from '../exporter/index.ts';
import type { OutputSpec } from '../exporter/index.ts';
import type { BuildRun } from './engine.ts';

const describe = (o: OutputSpec) => `type=${o.type},dest=-`;

/** At most one output on stdout, and a stdout to write to; a name for every push; a Docker daemon that answers for type=docker without dest. */
export async function checkOutputs(outputs: readonly OutputSpec[], run: Pick<BuildRun, 'stdout' | 'signal'>): Promise<void> {
  const toStdout = outputs.filter((o) => o.type !== 'image' && o.dest === '-');
  if (toStdout.length > 1) {
    throw invalid(ErrorCodes.OPTION_INVALID, `--output: ${toStdout.map(describe).join(' and ')} would both write to stdout`, { hint: 'send one of them to a file: dest=out.tar' });
  }
  if (toStdout.length === 1 && !run.stdout) {
    throw invalid(ErrorCodes.OUTPUT_FAILED, `--output ${describe(toStdout[0])}: this build has no stdout to write to`, { hint: 'name a file: dest=out.tar' });
  }
  // as buildx: an archive printed on a terminal helps nobody and can leave it in a strange state
  if (toStdout.length === 1 && (run.stdout as { isTTY?: boolean } | undefined)?.isTTY) {
    throw invalid(ErrorCodes.OPTION_INVALID, `--output ${describe(toStdout[0])}: refusing to write an archive to a terminal`, { hint: 'redirect it (> out.tar), pipe it, or name a file: dest=out.tar' });
  }
  if (outputs.some((o) => o.type === 'image' && o.push && o.names.length === 0)) {
    throw invalid(ErrorCodes.OPTION_INVALID, 'cannot push an image without a name', { hint: 'add -t REGISTRY/NAME:TAG (or name= to the output)' });
  }
  if (outputs.some((o) => o.type === 'docker' && o.dest === undefined)) await pingDocker(dockerDaemon(), run.signal);
}
