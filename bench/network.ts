// What the RUN network sandbox costs a step (docs/network.md): the median time of one trivial exec
// (`true` on busybox, through the worker: overlay mount, runc, commit) per network mode, and what
// setting up one pasta namespace costs when it is not pooled.
//   node bench/network.ts [--runs N]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetworkMode } from '../src/llb/index.ts';
import { createTestWorker, run } from '../test/worker/_setup.ts';
import { createPastaSandbox } from '../worker/net/pasta.ts';
import { newNetnsName } from '../worker/net/netns.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 20;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

const tw = await createTestWorker();
const tmp = mkdtempSync(join(tmpdir(), 'tsbuild-bench-net-'));
try {
  const base = await tw.busybox();
  const perMode: Partial<Record<NetworkMode, number[]>> = {};
  // interleaved, so machine load hits every mode alike; the first sandbox step takes the pool's first namespace
  let first: number | undefined;
  for (let i = 0; i < runs; i++) {
    for (const network of ['none', 'sandbox', 'host'] as const) {
      const t0 = process.hrtime.bigint();
      await tw.worker.run(run('true', { network }), [{ type: 'snapshot', id: base }], tw.ctx);
      const took = ms(t0);
      if (network === 'sandbox' && first === undefined) first = took;
      else (perMode[network] ??= []).push(took);
    }
  }
  const setup: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    const sb = await createPastaSandbox(newNetnsName('tsb-bench-'), tmp);
    setup.push(ms(t0));
    await sb.destroy();
  }
  const none = median(perMode.none!);
  console.log(`exec step, median of ${runs}: none ${none.toFixed(1)} ms, sandbox ${median(perMode.sandbox!).toFixed(1)} ms (+${(median(perMode.sandbox!) - none).toFixed(1)}), host ${median(perMode.host!).toFixed(1)} ms`);
  console.log(`first sandbox step (creates the pool's namespace): ${first!.toFixed(1)} ms`);
  console.log(`one pasta namespace, unpooled: median ${median(setup).toFixed(1)} ms (min ${Math.min(...setup).toFixed(1)}, max ${Math.max(...setup).toFixed(1)})`);
} finally {
  await tw.cleanup();
  rmSync(tmp, { recursive: true, force: true });
}
