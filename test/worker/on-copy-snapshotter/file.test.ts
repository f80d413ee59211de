// test/worker/file.test.ts again, on the copying snapshotter: it must pass what overlay passes.
// (ava runs each test file in its own process, so the choice stays in this one.)
process.env.TSBUILD_SNAPSHOTTER = 'copy';
await import('../file.test.ts');
