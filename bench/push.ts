// The push rows (issue 10): an image built (untimed) and named for a docker-registry on 127.0.0.1
// that the bench starts fresh for each tool and run (so no blob is there yet and none can be
// mounted from an earlier run), pushed (timed), then pushed again (timed) when every blob is there.
// The registry is the tests' own (test/_support/registry.ts): filesystem storage, plain HTTP on
// loopback, which tsbuild, dockerd and Buildah (--tls-verify=false) all accept.
import { startRegistry } from '../test/_support/registry.ts';
import { time } from './measure.ts';
import type { Base, Rival } from './rivals.ts';

export interface PushTimes {
  first: number;
  again: number;
}

/** Times `rival`'s first push and re-push of `context`'s image; undefined when the rival cannot push. */
export async function timePush(rival: Rival, context: string, bases: readonly Base[], run: number): Promise<PushTimes | undefined> {
  if (!rival.prepareForPush || !rival.push) return undefined;
  const registry = await startRegistry();
  try {
    const ref = `${registry.host}/bench/${rival.tool}-${run + 100}:latest`;
    rival.prepareForPush(context, ref, bases);
    const first = time(() => rival.push!(ref));
    const again = time(() => rival.push!(ref));
    return { first, again };
  } finally {
    await registry.stop();
  }
}
