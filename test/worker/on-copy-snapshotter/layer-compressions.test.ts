// test/worker/layer-compressions.test.ts again, on the copying snapshotter: a chain unpacked from
// stored blobs must run steps there too.
process.env.TSBUILD_SNAPSHOTTER = 'copy';
await import('../layer-compressions.test.ts');
