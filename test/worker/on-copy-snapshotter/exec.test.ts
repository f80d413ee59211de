// test/worker/exec.test.ts again, on the copying snapshotter: it must pass what overlay passes.
// (ava runs each test file in its own process, so the choice stays in this one.)
process.env.TSBUILD_SNAPSHOTTER = 'copy';
await import('../exec.test.ts');

const { default: test } = await import('ava');
const { withWorker } = await import('../_setup.ts');
test('these tests run on the copying snapshotter', (t) => withWorker(async (w) => { t.is((await w.worker.snapshotter).name, 'copy'); }));
