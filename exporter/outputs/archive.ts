// Several images in one archive (`tsbuild save a b c`): a docker archive (an OCI layout plus
// manifest.json, one entry per image) or an OCI layout tar, each blob once however many images
// share it. The blobs go through addImageBlobs, the path every archive output takes.
import type { BlobReader } from '../../src/content/index.ts';
import { MediaTypes } from '../../src/image/index.ts';
import type { ImageView } from '../types.ts';
import { openTarSink, type Sink } from '../sink.ts';
import { addImageBlobs } from './blobs.ts';
import { dockerManifest } from './docker.ts';
import { layoutIndexEntries } from './oci.ts';

export interface ArchiveImage {
  view: ImageView;
  names: readonly string[];
}

/** A sink that adds each name once: a second image's copy of a shared layer is skipped, not read. */
function onceEach(sink: Sink): Sink {
  const added = new Set<string>();
  const first = (name: string) => (added.has(name) ? false : (added.add(name), true));
  return {
    addBytes: async (name, data) => (first(name) ? sink.addBytes(name, data) : undefined),
    addFile: async (name, path, size) => (first(name) ? sink.addFile(name, path, size) : undefined),
    addStream: async (name, source, size) => {
      if (first(name)) return sink.addStream(name, source, size);
      source.destroy();
    },
    commit: () => sink.commit(),
    abort: () => sink.abort(),
  };
}

/** Writes `images` to the tar at `dest`, whole or not at all. */
export async function exportArchive(images: readonly ArchiveImage[], out: { dest: string; format: 'docker' | 'oci' }, content: BlobReader, signal?: AbortSignal): Promise<void> {
  const tarSink = await openTarSink(out.dest, signal);
  const sink = onceEach(tarSink);
  try {
    await sink.addBytes('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    for (const { view } of images) await addImageBlobs(sink, view, content);
    const manifests = images.flatMap(({ view, names }) => layoutIndexEntries(view.manifestDescriptor, names));
    await sink.addBytes('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests })));
    if (out.format === 'docker') await sink.addBytes('manifest.json', Buffer.from(JSON.stringify(images.flatMap(({ view, names }) => dockerManifest(view, names)))));
    await sink.commit();
  } finally {
    await sink.abort();
  }
}
