// Crafted images for the hardening tests (issue 7): every document and blob as raw bytes, so a
// test can damage exactly one of them, then offer the image as an OCI layout directory or from a
// registry on 127.0.0.1 written here with node:http, whose answers a test can replace one by one.
//
//   const img = craftImage({ layers: [await tarOf({ a: 'x' })], config: (c) => ({ ...c, config: 'oops' }) });
//   writeLayout(dir, img);                       // --build-context base=oci-layout://dir
//   const reg = await startCraftedRegistry(img); // FROM ${reg.host}/img:1
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { contextDir, removeDir, runTsbuild, tempDir, type RunResult } from './tsbuild.ts';

export const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface CraftedImage {
  manifest: Buffer;
  manifestDigest: string;
  /** Every blob by digest: the config and the layers. */
  blobs: Map<string, Buffer>;
}

type Doc = Record<string, unknown>;

export interface CraftOptions {
  /** Layer tars; each is gzipped unless `rawLayers` gives the blob bytes as they are. */
  layers?: Buffer[];
  /** Layer blobs as stored (already compressed, or damaged), with the diffId the config claims for each. */
  rawLayers?: { blob: Buffer; diffId?: string; mediaType?: string }[];
  /** Changes the config document, or replaces it with raw bytes. */
  config?: (c: Doc) => unknown;
  configBytes?: Buffer;
  /** Changes the manifest document, or replaces it with raw bytes. */
  manifest?: (m: Doc) => unknown;
  manifestBytes?: Buffer;
}

export function craftImage(opts: CraftOptions): CraftedImage {
  const blobs = new Map<string, Buffer>();
  const layers: { blob: Buffer; diffId: string; mediaType: string }[] = [
    ...(opts.layers ?? []).map((tar) => ({ blob: gzipSync(tar), diffId: sha256(tar), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' })),
    ...(opts.rawLayers ?? []).map((l) => ({ blob: l.blob, diffId: l.diffId ?? sha256(l.blob), mediaType: l.mediaType ?? 'application/vnd.oci.image.layer.v1.tar+gzip' })),
  ];
  for (const l of layers) blobs.set(sha256(l.blob), l.blob);
  const baseConfig: Doc = {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  };
  const config = opts.configBytes ?? Buffer.from(JSON.stringify(opts.config ? opts.config(baseConfig) : baseConfig));
  blobs.set(sha256(config), config);
  const baseManifest: Doc = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: sha256(l.blob), size: l.blob.length })),
  };
  const manifest = opts.manifestBytes ?? Buffer.from(JSON.stringify(opts.manifest ? opts.manifest(baseManifest) : baseManifest));
  return { manifest, manifestDigest: sha256(manifest), blobs };
}

/** Writes the image as an OCI layout at `dir` (index.json naming the manifest, untagged). */
export function writeLayout(dir: string, img: CraftedImage): string {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const desc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: img.manifestDigest, size: img.manifest.length };
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [desc] }));
  writeFileSync(join(dir, 'blobs', 'sha256', img.manifestDigest.slice(7)), img.manifest);
  for (const [digest, bytes] of img.blobs) writeFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
  return dir;
}

export interface CraftedRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  /** Requests seen, as `GET /v2/...`. */
  requests: string[];
  stop(): Promise<void>;
}

/**
 * Answers a request instead of the honest registry when it returns true. `what` is `manifest`,
 * the blob's digest, or the URL of any other request (a token service on the same server).
 */
export type Misbehaviour = (what: string, req: IncomingMessage, res: ServerResponse) => boolean;

/** A registry serving `img` under every repository and tag, with `misbehave` answering first. */
export async function startCraftedRegistry(img: CraftedImage, misbehave: Misbehaviour = () => false): Promise<CraftedRegistry> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const url = req.url ?? '';
    if (url === '/v2/' || url === '/v2') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const m = /^\/v2\/.+\/(manifests|blobs)\/([^/]+)$/.exec(url);
    const what = m ? (m[1] === 'manifests' ? 'manifest' : m[2]) : url;
    if (misbehave(what, req, res)) return;
    if (!m) return void res.writeHead(404).end();
    const body = m[1] === 'manifests' ? img.manifest : img.blobs.get(m[2]);
    if (!body) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
    const headers: Record<string, string | number> = { 'content-length': body.length };
    if (m[1] === 'manifests') Object.assign(headers, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': img.manifestDigest });
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Builds, in a fresh state root, a Dockerfile that reads `img` as `from` (`dockerfile(from)`):
 * through an OCI layout build context (`base`) or pulled from a crafted registry. Everything is
 * removed at the test's teardown.
 */
export async function buildOnCrafted(
  t: { teardown(fn: () => void): void },
  img: CraftedImage,
  via: 'layout' | 'registry',
  dockerfile: (from: string) => string,
): Promise<RunResult & { root: string; from: string; image: string }> {
  const root = tempDir('tsbuild-root-');
  const layout = tempDir('tsbuild-layout-');
  t.teardown(() => {
    removeDir(root);
    removeDir(layout);
  });
  let from = 'base';
  let image = `oci-layout://${layout}`;
  const extra: string[] = [];
  if (via === 'layout') extra.push('--build-context', `base=oci-layout://${writeLayout(layout, img)}`);
  else {
    const reg = await startCraftedRegistry(img);
    t.teardown(() => void reg.stop());
    from = image = `${reg.host}/damaged:1`;
  }
  const ctx = contextDir({ Dockerfile: dockerfile(from) });
  t.teardown(() => removeDir(ctx));
  const r = await runTsbuild(['build', '--progress', 'plain', ...extra, ctx], { root });
  return { ...r, root, from, image };
}
