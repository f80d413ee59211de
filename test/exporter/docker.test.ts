// type=docker: read by skopeo's docker-archive transport, and loaded by a real `docker load`
// when a Docker daemon can run here.
import test from 'ava';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { extract } from 'tar-stream';
import { createReadStream } from 'node:fs';
import { exportImage } from '../../exporter/index.ts';
import { imageFixture } from './_image.ts';
import { probeDockerSync } from '../_support/oracle.ts';

const run = promisify(execFile);

async function tarEntries(path: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const ex = extract();
  createReadStream(path).pipe(ex);
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.set(entry.header.name, Buffer.concat(chunks));
  }
  return out;
}

test('a docker archive has manifest.json and repositories, and skopeo reads it', async (t) => {
  const { dir, view, content, images } = await imageFixture(t);
  const dest = join(dir, 'app.tar');
  await exportImage(view, { type: 'docker', dest, names: ['app:1', 'registry.local:5000/team/app'] }, { content, images });
  const entries = await tarEntries(dest);
  const manifest = JSON.parse(entries.get('manifest.json')!.toString());
  t.deepEqual(manifest[0].RepoTags, ['app:1', 'registry.local:5000/team/app:latest']);
  t.is(manifest[0].Config, `blobs/sha256/${view.configDescriptor.digest.slice(7)}`);
  t.is(manifest[0].Layers.length, 2);
  const repos = JSON.parse(entries.get('repositories')!.toString());
  t.deepEqual(Object.keys(repos).sort(), ['app', 'registry.local:5000/team/app']);
  const info = JSON.parse((await run('skopeo', ['inspect', `docker-archive:${dest}`])).stdout);
  t.is(info.Architecture, 'amd64');
  t.is(info.Layers.length, 2);
  const config = JSON.parse((await run('skopeo', ['inspect', '--config', `docker-archive:${dest}`])).stdout);
  t.deepEqual(config.rootfs.diff_ids, view.config.rootfs.diff_ids);
});

// probed before the test is declared, so a missing Docker shows as one skipped test with the reason
const docker = probeDockerSync();

const dockerTest = docker.host ? test : test.skip;
dockerTest(`docker load accepts the archive with our image id, config and layers${docker.host ? '' : ` — skipped: ${docker.reason}`}`, async (t) => {
  const host = docker.host!;
  const { dir, view, content, images } = await imageFixture(t);
  const dest = join(dir, 'app.tar');
  const name = `tsbuild-export-test:${process.pid}`;
  await exportImage(view, { type: 'docker', dest, names: [name] }, { content, images });
  const env = { ...process.env, DOCKER_HOST: host };
  const { stdout } = await run('/usr/bin/docker', ['load', '-i', dest], { env });
  t.regex(stdout, new RegExp(`Loaded image: ${name}`));
  t.teardown(async () => {
    await run('/usr/bin/docker', ['rmi', '-f', name], { env }).catch(() => {});
  });
  const inspected = JSON.parse((await run('/usr/bin/docker', ['image', 'inspect', name], { env })).stdout)[0];
  t.is(inspected.Id, view.configDescriptor.digest);
  t.deepEqual(inspected.Config.Cmd, ['/bin/hello']);
  t.deepEqual(inspected.RootFS.Layers, view.config.rootfs.diff_ids);
});
