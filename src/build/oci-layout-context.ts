// `--build-context name=oci-layout://DIR[:tag]`: the image in an OCI layout directory is copied
// into the content store (every blob verified against its digest) and named by its manifest
// digest, so the frontend resolves it like any stored image (createImageResolver reads `@sha256:`
// refs straight from the content store). The layout is untrusted input: digests are checked
// before they become paths, and index nesting is bounded.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDigest, type ContentStore } from '../content/index.ts';
import { ErrorCodes, TsbuildError } from '../errors/index.ts';
import { IndexMediaTypes, RefNameAnnotation, type Descriptor, type ImageIndex, type ImageManifest } from '../image/index.ts';
import type { Platform } from '../llb/index.ts';

// an image index inside an index is normal (a tag naming a multi-platform image); deeper is not
const maxIndexDepth = 4;

export async function importOciLayout(spec: { dir: string; tag?: string }, deps: { content: ContentStore; platform: Platform }): Promise<string> {
  const where = `oci-layout://${spec.dir}`;
  const fail = (why: string, cause?: unknown) => new TsbuildError(`${where}: ${why}`, { code: ErrorCodes.IMAGE_NOT_FOUND, kind: 'not-found', cause });
  const blobPath = (d: Descriptor) => {
    try {
      return join(spec.dir, 'blobs', 'sha256', parseDigest(d.digest));
    } catch {
      throw fail(`invalid digest ${JSON.stringify(d.digest)} in the layout`);
    }
  };
  // a blob is read only once it is stored (and so verified) in our content store
  const store = (d: Descriptor) =>
    deps.content.putStream(createReadStream(blobPath(d)), { digest: d.digest, size: d.size }).catch((e: unknown) => {
      throw e instanceof TsbuildError ? e : fail(`cannot read blob ${d.digest}`, e);
    });
  const readJson = async <T>(d: Descriptor): Promise<T> => {
    await store(d);
    return JSON.parse((await deps.content.readBytes(d.digest)).toString('utf8')) as T;
  };

  let index: ImageIndex;
  try {
    index = JSON.parse(await readFile(join(spec.dir, 'index.json'), 'utf8')) as ImageIndex;
  } catch (e) {
    throw fail('no readable index.json (is it an OCI image layout?)', e);
  }
  const manifests = Array.isArray(index.manifests) ? index.manifests : [];
  const tagged = (tag: string) => manifests.find((m) => m.annotations?.[RefNameAnnotation] === tag);
  const named = spec.tag !== undefined ? tagged(spec.tag) : manifests.length === 1 ? manifests[0] : tagged('latest');
  if (!named) throw fail(spec.tag !== undefined ? `no image tagged "${spec.tag}"` : `${manifests.length} images and none tagged "latest": name one (oci-layout://DIR:TAG)`);
  let desc: Descriptor = named;
  for (let depth = 0; IndexMediaTypes.includes(desc.mediaType); depth++) {
    if (depth >= maxIndexDepth) throw fail(`image indexes nested more than ${maxIndexDepth} deep`);
    const inner = await readJson<ImageIndex>(desc);
    const pick = (inner.manifests ?? []).find((m) => !m.platform || (m.platform.os === deps.platform.os && m.platform.architecture === deps.platform.architecture));
    if (!pick) throw fail(`no ${deps.platform.os}/${deps.platform.architecture} image`);
    desc = pick;
  }
  const manifest = await readJson<ImageManifest>(desc);
  for (const d of [manifest.config, ...manifest.layers]) await store(d);
  return `@${desc.digest}`;
}
