// A real docker-registry on 127.0.0.1 for tests, plus small OCI layouts to push into it.
//
//   const reg = await startRegistry();
//   const layout = await makeOciLayout(dir, { layers: [{ 'hello.txt': 'hi' }] });
//   await pushToRegistry(`oci:${layout.dir}:latest`, `${reg.host}/demo:1`);
//   ...
//   await reg.stop();
import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

const execFileAsync = promisify(execFile);

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  stop(): Promise<void>;
  /** With `accessLog: true`: the registry's access log lines so far (combined log format: method, path, status, bytes sent). */
  accessLog(): string[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A bcrypt htpasswd line (the only format docker-registry reads): htpasswd if installed, else
 * Python's crypt. Cost 4, the lowest: the registry checks the hash on every request.
 */
async function htpasswdLine(username: string, password: string): Promise<string> {
  try {
    return (await execFileAsync('htpasswd', ['-nbB', '-C', '4', username, password])).stdout.trim();
  } catch {
    const script = 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))';
    const hash = (await execFileAsync('python3', ['-W', 'ignore', '-c', script, password])).stdout.trim();
    return `${username}:${hash}`;
  }
}

/**
 * Starts /usr/bin/docker-registry with filesystem storage in a temp dir; resolves once `/v2/`
 * answers. With `basicAuth`, the registry demands those credentials (htpasswd auth); with `token`,
 * tokens from that issuer (test/_support/token-issuer.ts).
 */
export async function startRegistry(opts: { basicAuth?: { username: string; password: string }; token?: { realm: string; service: string; issuer: string; rootCertBundle: string }; accessLog?: boolean } = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    `    disabled: ${opts.accessLog ? 'false' : 'true'}`,
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
    ...(opts.basicAuth ? ['auth:', '  htpasswd:', '    realm: tsbuild-test', `    path: ${join(dir, 'htpasswd')}`] : []),
    ...(opts.token
      ? ['auth:', '  token:', `    realm: ${opts.token.realm}`, `    service: ${opts.token.service}`, `    issuer: ${opts.token.issuer}`, `    rootcertbundle: ${opts.token.rootCertBundle}`]
      : []),
    '',
  ].join('\n');
  if (opts.basicAuth) await writeFile(join(dir, 'htpasswd'), `${await htpasswdLine(opts.basicAuth.username, opts.basicAuth.password)}\n`);
  await writeFile(join(dir, 'config.yml'), config);
  // the access log goes to a file, not a pipe: a caller blocked in spawnSync (the bench) cannot read
  // a pipe, and a full one would stall the registry mid-request
  const logPath = join(dir, 'access.log');
  const logFd = opts.accessLog ? openSync(logPath, 'a') : 'ignore';
  const child = spawn('/usr/bin/docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', logFd, 'pipe'] });
  if (typeof logFd === 'number') closeSync(logFd);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };

  // the registry starts in well under a second here; 10 s covers a loaded CI machine
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`docker-registry exited early: ${stderr.trim()}`);
    }
    try {
      const res = await fetch(`http://${host}/v2/`);
      // 401 is an answer too: the registry is up and wants credentials
      if (res.ok || ((opts.basicAuth || opts.token) && res.status === 401)) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not answer on ${host}: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host, stop, accessLog: () => (opts.accessLog ? readFileSync(logPath, 'utf8').split('\n').filter((l) => l.includes('"')) : []) };
}

/**
 * `127.0.0.1:1`: a registry host nothing answers on (connection refused). A privileged port no test
 * listens on, unlike the port of a registry started and stopped, which another test's registry or
 * server may have taken since.
 */
export const unreachableRegistryHost = '127.0.0.1:1';

/**
 * Copies an image into the registry with skopeo. `source` is a skopeo transport reference
 * (`oci:DIR:TAG`, `oci-archive:X.tar`); `dest` is `HOST/name:tag`. `all` copies every platform of an index.
 */
export async function pushToRegistry(source: string, dest: string, opts: { all?: boolean; creds?: { username: string; password: string } } = {}): Promise<void> {
  const creds = opts.creds ? [`--dest-creds=${opts.creds.username}:${opts.creds.password}`] : [];
  const args = ['copy', '-q', '--dest-tls-verify=false', ...creds, ...(opts.all ? ['--all'] : []), source, `docker://${dest}`];
  await execFileAsync('skopeo', args);
}

// ------------------------------------------------------------------ test image layouts

export type LayerFiles = Record<string, string>;

export interface TestImagePlatform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface TestLayout {
  dir: string;
  /** The digest of the manifest (single platform) or index (several platforms) tagged in index.json. */
  digest: string;
  manifests: { digest: string; size: number; platform: TestImagePlatform; layerDigests: string[]; configDigest: string }[];
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A layer tar of `files` (all 0644 root-owned regular files, mtime 0). */
export async function tarOf(files: LayerFiles): Promise<Buffer> {
  const p = pack();
  for (const [name, content] of Object.entries(files)) {
    // fixed mtime keeps layers byte-identical across runs
    p.entry({ name, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, content);
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A gzipped layer of `files` with its diffID and digest, ready to store as a blob. */
export async function gzipLayer(files: LayerFiles): Promise<{ gz: Buffer; diffId: string; digest: string; size: number }> {
  const tar = await tarOf(files);
  const gz = gzipSync(tar);
  return { gz, diffId: sha256(tar), digest: sha256(gz), size: gz.length };
}

async function putBlob(dir: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256(data);
  await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), data);
  return { digest, size: data.length };
}

/**
 * Writes an OCI image layout at `dir`: one manifest per platform (default linux/amd64), each with
 * the given layers as tar.gz blobs, tagged `tag` (default `latest`). With several platforms the tag
 * names an index.
 */
export async function makeOciLayout(
  dir: string,
  opts: { layers: LayerFiles[]; platforms?: TestImagePlatform[]; tag?: string; cmd?: string[] },
): Promise<TestLayout> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const platforms = opts.platforms ?? [{ os: 'linux', architecture: 'amd64' }];
  const manifests: TestLayout['manifests'] = [];
  for (const platform of platforms) {
    const layers = [];
    const diffIds = [];
    for (const files of opts.layers) {
      // the platform goes into each layer so every platform's blobs differ, as in real images
      const tar = await tarOf({ ...files, '.platform': `${platform.os}/${platform.architecture}` });
      diffIds.push(sha256(tar));
      layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...(await putBlob(dir, gzipSync(tar))) });
    }
    const config = {
      created: '2024-01-01T00:00:00Z',
      ...platform,
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: opts.cmd ?? ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: diffIds.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `layer ${i}` })),
    };
    const configDesc = { mediaType: 'application/vnd.oci.image.config.v1+json', ...(await putBlob(dir, Buffer.from(JSON.stringify(config)))) };
    const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDesc, layers };
    const m = await putBlob(dir, Buffer.from(JSON.stringify(manifest)));
    manifests.push({ digest: m.digest, size: m.size, platform, layerDigests: layers.map((l) => l.digest), configDigest: configDesc.digest });
  }
  const tag = opts.tag ?? 'latest';
  const manifestMediaType = 'application/vnd.oci.image.manifest.v1+json';
  let top: { mediaType: string; digest: string; size: number };
  if (manifests.length === 1) {
    top = { mediaType: manifestMediaType, digest: manifests[0].digest, size: manifests[0].size };
  } else {
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: manifests.map((m) => ({ mediaType: manifestMediaType, digest: m.digest, size: m.size, platform: m.platform })),
    };
    top = { mediaType: 'application/vnd.oci.image.index.v1+json', ...(await putBlob(dir, Buffer.from(JSON.stringify(index)))) };
  }
  const index = { schemaVersion: 2, manifests: [{ ...top, annotations: { 'org.opencontainers.image.ref.name': tag } }] };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  return { dir, digest: top.digest, manifests };
}
