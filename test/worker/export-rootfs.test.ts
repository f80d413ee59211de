import test from 'ava';
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestWorker, run } from './_setup.ts';

test('S3: --output type=local writes no device nodes and no setuid/setgid bits; the layer keeps them', async (t) => {
  const w = await createTestWorker();
  const dest = mkdtempSync(join(tmpdir(), 'tsbuild-out-'));
  try {
    const base = await w.busybox();
    const id = await w.worker.run(
      run('mknod /disk b 8 0 && mknod /tty c 5 0 && chmod 666 /disk /tty && echo x > /suid && chmod 6755 /suid && mkdir /shared && chmod 2775 /shared && ln /suid /suid-link'),
      [{ type: 'snapshot', id: base }],
      w.ctx,
    );
    const fs = join(w.root, 'snapshots', id, 'fs');
    t.true(lstatSync(join(fs, 'disk')).isBlockDevice(), 'the snapshot keeps the device');
    t.is(lstatSync(join(fs, 'suid')).mode & 0o7777, 0o6755);

    const result = await w.worker.exportRootfs(id, { type: 'dir', dest });
    t.deepEqual(result.skippedDevices.map((n) => n.replace(/^\.?\//, '')).sort(), ['disk', 'tty']);
    t.false(readdirSync(dest).includes('disk'));
    t.false(readdirSync(dest).includes('tty'));
    t.is(lstatSync(join(dest, 'suid')).mode & 0o7777, 0o755);
    t.is(lstatSync(join(dest, 'suid-link')).ino, lstatSync(join(dest, 'suid')).ino);
    t.is(lstatSync(join(dest, 'shared')).mode & 0o7777, 0o775);
    t.true(lstatSync(join(dest, 'bin/busybox')).isFile());
  } finally {
    await w.cleanup();
    rmSync(dest, { recursive: true, force: true });
  }
});
