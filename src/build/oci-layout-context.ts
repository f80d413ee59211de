// `--build-context name=oci-layout://DIR[:tag]`: the image in an OCI layout directory is copied
// into the content store (blobs verified against their digests) and named by its manifest digest,
// so the frontend resolves it like any stored image (createImageResolver reads `@sha256:` refs
// straight from the content store).
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import type { ContentStore } from '../content/index.ts';
import { ErrorCodes, TsbuildError } from '../errors/index.ts';
import { IndexMediaTypes, RefNameAnnotation, type Descriptor, type ImageIndex, type ImageManifest } from '../image/index.ts';

export async function importOciLayout(spec: { dir: string; tag: string }, deps: { content: ContentStore }): Promise<string> {
  const blob = (d: string) => join(spec.dir, 'blobs', ...d.split(':'));
  const readJson = async <T>(path: string): Promise<T> => {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as T;
    } catch (e) {
      throw new TsbuildError(`oci-layout://${spec.dir}: cannot read ${path}`, { code: ErrorCodes.IMAGE_NOT_FOUND, kind: 'not-found', cause: e });
    }
  };
  const index = await readJson<ImageIndex>(join(spec.dir, 'index.json'));
  const named = index.manifests.find((m) => m.annotations?.[RefNameAnnotation] === spec.tag) ?? (index.manifests.length === 1 ? index.manifests[0] : undefined);
  if (!named) throw new TsbuildError(`oci-layout://${spec.dir}: no image tagged "${spec.tag}"`, { code: ErrorCodes.IMAGE_NOT_FOUND, kind: 'not-found' });
  let desc: Descriptor = named;
  const copy = (d: Descriptor) => deps.content.putStream(createReadStream(blob(d.digest)), { digest: d.digest, size: d.size });
  while (IndexMediaTypes.includes(desc.mediaType)) {
    const inner = await readJson<ImageIndex>(blob(desc.digest));
    const pick = inner.manifests.find((m) => !m.platform || (m.platform.os === 'linux' && m.platform.architecture === 'amd64'));
    if (!pick) throw new TsbuildError(`oci-layout://${spec.dir}: no linux/amd64 image`, { code: ErrorCodes.IMAGE_NOT_FOUND, kind: 'not-found' });
    desc = pick;
  }
  const manifest = await readJson<ImageManifest>(blob(desc.digest));
  for (const d of [manifest.config, ...manifest.layers]) await copy(d);
  await copy(desc);
  return `@${desc.digest}`;
}
