// The image as files: OCI and docker archives, judged by tools nobody here wrote.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, removeDir, repoRoot, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { docker, dockerHost } from '../_support/docker.ts';

const root = tempDir('tsbuild-root-');
const out = tempDir('tsbuild-out-');
const hello = join(repoRoot, 'fixtures', 'hello');

test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => {
  removeDir(root);
  removeDir(out);
});

test.serial('--output type=oci writes an archive that skopeo, umoci and oci-image-tool accept', async (t) => {
  const tar = join(out, 'hello.oci.tar');
  const r = await runTsbuild(['build', '--progress', 'plain', '-t', 'hello:1', '--output', `type=oci,dest=${tar}`, hello], { root });
  t.is(r.code, 0, r.stderr);
  const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${tar}`], { encoding: 'utf8' })) as { Architecture: string; Os: string; Layers: string[]; Env: string[] };
  t.is(inspect.Architecture, 'amd64');
  t.is(inspect.Os, 'linux');
  t.true(inspect.Layers.length >= 3);
  t.true(inspect.Env.includes('GREETING=hello'));

  const layout = join(out, 'layout');
  mkdirSync(layout);
  execFileSync('tar', ['-xf', tar, '-C', layout]);
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { annotations?: Record<string, string> }[] };
  const tag = index.manifests[0].annotations?.['org.opencontainers.image.ref.name'];
  t.truthy(tag);
  execFileSync('oci-image-tool', ['validate', '--type', 'image', '--ref', `name=${tag}`, layout]);

  const bundle = join(out, 'bundle');
  execFileSync('umoci', ['unpack', '--image', `${layout}:${tag}`, bundle]);
  const rootfs = join(bundle, 'rootfs');
  t.is(readFileSync(join(rootfs, 'app', 'build-info.txt'), 'utf8'), 'built by tsbuild\n');
  t.is(readFileSync(join(rootfs, 'app', 'assets.txt'), 'utf8'), 'assets ready\n');
  t.is(statSync(join(rootfs, 'app', 'greet.sh')).mode & 0o777, 0o755);
  t.false(existsSync(join(rootfs, 'README.md')), '.dockerignore keeps README.md out');
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { process: { args: string[]; cwd: string; user: { uid: number } } };
  t.deepEqual(config.process.args, ['/app/greet.sh']);
  t.is(config.process.cwd, '/app');
  t.is(config.process.user.uid, 65534);
});

test.serial('--output type=docker writes an archive that docker loads and runs', async (t) => {
  const tar = join(out, 'hello.docker.tar');
  // the daemon is the machine's: a name of this run's own, so a concurrent run's container never holds it
  const name = `hello-docker-${process.pid}:1`;
  const r = await runTsbuild(['build', '--progress', 'plain', '-t', name, '--output', `type=docker,dest=${tar}`, hello], { root });
  t.is(r.code, 0, r.stderr);
  const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `docker-archive:${tar}`], { encoding: 'utf8' })) as { Labels: Record<string, string> };
  t.is(inspect.Labels['org.opencontainers.image.title'], 'hello');

  const host = await dockerHost();
  if (!host) {
    t.log('docker not installed or dockerd cannot start: docker load/run check skipped');
    return;
  }
  const loaded = await docker(host, ['load', '-i', tar]);
  t.true(loaded.includes(name), loaded);
  const printed = await docker(host, ['run', '--rm', '--network', 'none', name]);
  t.is(printed, 'hello from tsbuild: built by tsbuild, assets ready\n');
  const custom = await docker(host, ['run', '--rm', '--network', 'none', '-e', 'GREETING=hi', name]);
  t.is(custom, 'hi from tsbuild: built by tsbuild, assets ready\n');
  await docker(host, ['rmi', name]);
});

test('a bad --output is one clear line', async (t) => {
  const r = await runTsbuild(['build', '--output', 'type=floppy,dest=x', hello], { root });
  t.is(r.code, 1);
  t.regex(r.stderr, /^ERROR: unknown output type "floppy"/m);
  const r2 = await runTsbuild(['build', '--output', 'type=oci', hello], { root });
  t.regex(r2.stderr, /^ERROR: --output type=oci needs dest=PATH/m);
});

test('--output type=local and type=tar write the build\'s files themselves', async (t) => {
  const dir = join(out, 'local');
  const r = await runTsbuild(['build', '--progress', 'plain', '--output', `type=local,dest=${dir}`, hello], { root });
  t.is(r.code, 0, r.stderr);
  t.is(readFileSync(join(dir, 'app', 'assets.txt'), 'utf8'), 'assets ready\n');
  t.is(statSync(join(dir, 'app', 'greet.sh')).mode & 0o777, 0o755);
  t.true(statSync(join(dir, 'bin', 'busybox')).isFile());

  const tar = join(out, 'rootfs.tar');
  const r2 = await runTsbuild(['build', '--progress', 'plain', '--output', `type=tar,dest=${tar}`, hello], { root });
  t.is(r2.code, 0, r2.stderr);
  const names = execFileSync('tar', ['-tf', tar], { encoding: 'utf8' }).split('\n');
  t.true(names.includes('app/build-info.txt'));
  t.true(names.includes('bin/sh'));
});

test('an output to a FIFO or a device is written into it, never renamed over it (dest=/dev/null stays a device)', async (t) => {
  const root = tempDir();
  try {
    const ctx = join(root, 'ctx');
    mkdirSync(ctx);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /d\n');
    for (const type of ['tar', 'oci', 'docker']) {
      const fifo = join(root, `out-${type}.fifo`);
      execFileSync('mkfifo', [fifo]);
      // a reader on the other end, as `tsbuild build -o type=tar,dest=/dev/stdout | tar t` has
      const { spawn } = await import('node:child_process');
      const reader = spawn('sh', ['-c', `cat "${fifo}" > "${fifo}.got"`]);
      const read = new Promise((ok) => reader.on('close', ok));
      const r = await runTsbuild(['build', '--progress', 'quiet', '-o', `type=${type},dest=${fifo}`, ctx], { root });
      await read;
      t.is(r.code, 0, r.stderr);
      t.true(statSync(fifo).isFIFO(), `${type}: the FIFO is still a FIFO`);
      t.true(statSync(`${fifo}.got`).size > 1024, `${type}: the archive went through it`);
    }
    const nul = statSync('/dev/null');
    t.true(nul.isCharacterDevice());
  } finally {
    removeDir(root);
  }
});

test('--output type=local,dest=/ (or -o /) is refused: the image would be written over the host\'s own files', async (t) => {
  for (const o of ['type=local,dest=/', '/', 'type=local,dest=/tmp/..']) {
    const r = await runTsbuild(['build', '-o', o, join(repoRoot, 'fixtures', 'hello')]);
    t.is(r.code, 1);
    t.regex(r.stderr, /^ERROR: --output type=local,dest=\/ would write the image over this machine's own files/m);
  }
});

test('--output type=tar,dest=- streams the build\'s files to stdout, and nothing else goes there', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { writeFileSync } = await import('node:fs');
  const { contextDir, tsbuildBin } = await import('../_support/tsbuild.ts');
  const ctx = contextDir({ Dockerfile: 'FROM scratch\nCOPY a.txt /app/a.txt\n', 'a.txt': 'streamed\n' });
  try {
    const r = spawnSync(process.execPath, [tsbuildBin, '--root', root, 'build', '--progress', 'plain', '-o', 'type=tar,dest=-', ctx], { maxBuffer: 64 * 1024 * 1024 });
    t.is(r.status, 0, r.stderr.toString());
    const tar = join(out, 'stdout.tar');
    writeFileSync(tar, r.stdout);
    t.true(execFileSync('tar', ['-tf', tar], { encoding: 'utf8' }).split('\n').some((l) => l.replace(/^\.?\//, '') === 'app/a.txt'));
    t.is(execFileSync('tar', ['-xOf', tar, 'app/a.txt'], { encoding: 'utf8' }), 'streamed\n');
  } finally {
    removeDir(ctx);
  }
});
