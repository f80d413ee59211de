// The test registry and layout helpers themselves: others' tests lean on them.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeOciLayout, pushToRegistry, startRegistry } from '../_support/registry.ts';

const run = promisify(execFile);

test('a layout made by makeOciLayout is pushed to a real registry and read back by skopeo', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-support-'));
  const reg = await startRegistry();
  t.teardown(async () => {
    await reg.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const layout = await makeOciLayout(join(dir, 'layout'), { layers: [{ 'a.txt': 'a' }, { 'b.txt': 'b' }] });
  await pushToRegistry(`oci:${layout.dir}:latest`, `${reg.host}/demo:1`);
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/demo:1`]);
  const info = JSON.parse(stdout);
  t.is(info.Architecture, 'amd64');
  t.is(info.Layers.length, 2);
  t.deepEqual(info.Layers, layout.manifests[0].layerDigests);
});
