// `--build-context name=oci-layout://DIR[:tag]`: the image in an OCI layout directory is copied
// into the content store (every blob verified against its digest) and named by its manifest
// digest, so the frontend resolves it like any stored image (createImageResolver reads `@sha256:`
// refs straight from the content store). The layout is untrusted input: digests are checked
// before they become paths, and index nesting is bounded.
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { limitBytes, parseDigest, type ContentStore } from '../src/content/index.ts';
import { readRegularFile } from '../src/context/index.ts';
import { ErrorCodes, TsbuildError, isTsbuildError } from '../src/errors/index.ts';
import { quoted } from '../src/image/index.ts';
import { IndexMediaTypes, RefNameAnnotation, parseConfig, parseIndex, parseManifest, parseManifestOrIndex, type Descriptor, type ImageIndex } from '../src/image/index.ts';
import type { Platform } from '../src/llb/index.ts';
import { openLayoutBlobs } from './layout-blobs.ts';

// an image index inside an index is normal (a tag naming a multi-platform image); deeper is not
const maxIndexDepth = 4;
// index.json lists images, a few hundred bytes each; 4 MiB is containerd's bound for a manifest
const maxIndexJsonBytes = 4 * 1024 * 1024;
const maxDocumentBytes = 4 * 1024 * 1024;

export async function importOciLayout(spec: { dir: string; tag?: string }, deps: { content: ContentStore; platform: Platform }): Promise<string> {
  const where = `oci-layout://${spec.dir}`;
  const fail = (why: string, cause?: unknown) => new TsbuildError(`${where}: ${why}`, { code: ErrorCodes.IMAGE_NOT_FOUND, kind: 'not-found', cause });
  const damaged = (why: string) => new TsbuildError(`${where}: ${why}`, { code: ErrorCodes.IMAGE_INVALID, kind: 'invalid' });
  const layout = openLayoutBlobs(spec.dir, where);
  // a blob is read only once it is stored (and so verified) in our content store; it must be a
  // regular file (a FIFO would hang the read) and is read no further than its descriptor's size
  const store = async (d: Descriptor) => {
    try {
      parseDigest(d.digest);
    } catch {
      throw fail(`invalid digest ${quoted(d.digest)} in the layout`);
    }
    if (await deps.content.has(d.digest)) return;
    let blob: Readable;
    try {
      blob = await layout.open(d.digest);
    } catch (e) {
      throw isTsbuildError(e) && e.code === ErrorCodes.BLOB_NOT_FOUND ? fail(`blob ${d.digest} is missing from the layout`) : e;
    }
    const tooLong = () => damaged(`blob ${d.digest} is longer than the ${d.size} bytes its descriptor says`);
    const limited = limitBytes(d.size, tooLong);
    const reading = pipeline(blob, limited);
    const results = await Promise.allSettled([reading, deps.content.putStream(limited, { digest: d.digest, size: d.size })]);
    // stored meanwhile by another process: the store read none of it and closed the stream, which
    // ends the read early; the blob is there all the same
    if (results[1].status === 'fulfilled' && results[0].status === 'rejected') {
      blob.destroy();
      return;
    }
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length > 0) throw errors.find(isTsbuildError) ?? fail(`cannot read blob ${d.digest}`, errors[0]);
  };
  /** The bytes of a manifest or index, which a descriptor may not make larger than a document can be. */
  const readDocument = async (d: Descriptor): Promise<Buffer> => {
    if (d.size > maxDocumentBytes) throw damaged(`${d.digest} is ${d.size} bytes, too large for a manifest or index (at most ${maxDocumentBytes})`);
    await store(d);
    return deps.content.readBytes(d.digest);
  };

  let bytes: Buffer | undefined;
  try {
    bytes = readRegularFile(join(spec.dir, 'index.json'), { maxBytes: maxIndexJsonBytes, what: `${where}/index.json` });
  } catch (e) {
    throw fail(`no readable index.json: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  if (!bytes) throw fail('no index.json (is it an OCI image layout?)');
  const index: ImageIndex = parseIndex(bytes, { image: where });
  const manifests = index.manifests;
  const tagged = (tag: string) => manifests.find((m) => m.annotations?.[RefNameAnnotation] === tag);
  const named = spec.tag !== undefined ? tagged(spec.tag) : manifests.length === 1 ? manifests[0] : tagged('latest');
  if (!named) {
    const tags = manifests.flatMap((m) => m.annotations?.[RefNameAnnotation] ?? []);
    const error = fail(spec.tag !== undefined ? `no image tagged "${spec.tag}"` : `${manifests.length} images and none tagged "latest": name one (oci-layout://DIR:TAG)`);
    error.hint = tags.length > 0 ? `the layout's tags: ${tags.map((t) => `"${t}"`).join(', ')}` : `its images are untagged${manifests.length === 1 ? ': leave the tag out (oci-layout://DIR)' : ''}`;
    throw error;
  }
  let desc: Descriptor = named;
  for (let depth = 0; IndexMediaTypes.includes(desc.mediaType); depth++) {
    if (depth >= maxIndexDepth) throw fail(`image indexes nested more than ${maxIndexDepth} deep`);
    const inner = parseManifestOrIndex(await readDocument(desc), { image: where, digest: desc.digest });
    if (!('manifests' in inner)) throw damaged(`${desc.digest} is listed as an index (${desc.mediaType}) but is a manifest`);
    const pick = inner.manifests.find((m) => !m.platform || (m.platform.os === deps.platform.os && m.platform.architecture === deps.platform.architecture));
    if (!pick) throw fail(`no ${deps.platform.os}/${deps.platform.architecture} image`);
    desc = pick;
  }
  const manifest = parseManifest(await readDocument(desc), { image: where, digest: desc.digest });
  for (const d of [manifest.config, ...manifest.layers]) await store(d);
  // checked here too, where the message can name the layout rather than a digest
  if (manifest.config.size > maxDocumentBytes) throw damaged(`config ${manifest.config.digest} is ${manifest.config.size} bytes, too large for a config (at most ${maxDocumentBytes})`);
  parseConfig(await deps.content.readBytes(manifest.config.digest), { image: where, digest: manifest.config.digest });
  return `@${desc.digest}`;
}
