// Start-up recovery and content/ingest (issue 7 item 7): a half-written blob whose writer is gone
// is removed when a worker opens the root; one a live process is still writing is left alone.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openContentStore } from '../../src/content/index.ts';
import { openDatabase, processIdentity, statePaths } from '../../src/state/index.ts';
import { openWorker } from '../../worker/index.ts';

test('a worker opening the root removes ingest files of dead processes and keeps a live writer\'s', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tsbuild-recover-ingest-'));
  const paths = statePaths(root);
  const db = openDatabase(paths.db);
  try {
    const content = openContentStore(paths.content);
    const ingest = join(paths.content, 'ingest');
    // a pid that has surely exited: a child that ran and was reaped
    const dead = spawnSync('true').pid;
    writeFileSync(join(ingest, `${dead}-12345-aabbcc`), 'partial');
    // the same pid as ours but another start time: a reused pid is not its owner
    writeFileSync(join(ingest, `${process.pid}-1-aabbcc`), 'partial');
    // the name older versions gave (milliseconds since the epoch, not a pid)
    writeFileSync(join(ingest, `${Date.now()}-aabbccddeeff`), 'partial');
    const live = `${processIdentity()}-ddeeff`;
    writeFileSync(join(ingest, live), 'being written');

    const worker = await openWorker({ root, db, content });
    await worker.close();
    t.deepEqual(readdirSync(ingest), [live]);
  } finally {
    db.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('the store names its temp files by their owner, and removes them when a write fails', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tsbuild-ingest-name-'));
  try {
    const content = openContentStore(join(root, 'content'));
    const seen: string[] = [];
    await t.throwsAsync(content.putStream((async function* () {
      yield Buffer.from('some bytes');
      // the file stream opens its file asynchronously: wait until it is there (a fixed 200 ms was
      // too short under load)
      const ingest = join(root, 'content', 'ingest');
      while (!existsSync(ingest) || readdirSync(ingest).length === 0) await new Promise((r) => setTimeout(r, 10));
      seen.push(...readdirSync(ingest));
      throw new Error('source failed');
    })()));
    t.is(seen.length, 1);
    t.true(seen[0].startsWith(`${processIdentity()}-`), seen[0]);
    t.deepEqual(readdirSync(join(root, 'content', 'ingest')), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
