// A worker process that starts `sleep` in a container on the root given as argv[2] and waits there,
// to be killed with SIGKILL by recover.test.ts, leaving what a killed tsbuild leaves.
import { mkdirSync } from 'node:fs';
import { openContentStore } from '../../src/content/index.ts';
import { silentProgress } from '../../src/progress/index.ts';
import { openDatabase, statePaths } from '../../src/state/index.ts';
import { openWorker, type RunContext } from '../../worker/index.ts';
import { createBusyboxRootfs } from '../_support/busybox-rootfs.ts';
import { copyAll, run } from './_setup.ts';

const root = process.argv[2];
const paths = statePaths(root);
const worker = await openWorker({ root, db: openDatabase(paths.db), content: openContentStore(paths.content) });
const ctx: RunContext = { vertex: { digest: 'sha256:crash', name: 'crash' }, progress: silentProgress, signal: new AbortController().signal };
// beside the root: the test removes both (this process is killed before it could)
const rootfs = `${root}-rootfs`;
mkdirSync(rootfs);
const base = await worker.run(copyAll(), [{ type: 'local', dir: createBusyboxRootfs({}, rootfs), excludePatterns: [] }], ctx);
process.stdout.write(`base ${base}\n`);
await worker.run(run('sleep 1000'), [{ type: 'snapshot', id: base }], ctx);
