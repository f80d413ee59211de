// type=oci: an OCI image layout, as a tar (default) or a directory (tar=false). Each name gets
// its own index entry annotated as BuildKit (containerd's archive exporter) does:
// `io.containerd.image.name` = the full name, `org.opencontainers.image.ref.name` = its tag.
import type { BlobReader } from '../../src/content/index.ts';
import type { Descriptor } from '../../src/image/index.ts';
import { MediaTypes, RefNameAnnotation } from '../../src/image/index.ts';
import { formatReference, parseReference } from '../../src/registry/index.ts';
import type { ImageView } from '../types.ts';
import { openDirSink, openTarSink } from '../sink.ts';
import { addImageBlobs } from './blobs.ts';

export const ContainerdNameAnnotation = 'io.containerd.image.name';

/** The index.json entries for `names` (one unannotated entry when there are none). */
export function layoutIndexEntries(manifest: Descriptor, names: readonly string[]): Descriptor[] {
  if (names.length === 0) return [{ ...manifest }];
  return names.map((name) => {
    const ref = parseReference(name);
    return { ...manifest, annotations: { [ContainerdNameAnnotation]: formatReference(ref), [RefNameAnnotation]: ref.tag ?? ref.digest ?? 'latest' } };
  });
}

export async function exportOci(view: ImageView, out: { dest: string; tar: boolean; names: readonly string[] }, content: BlobReader, signal?: AbortSignal): Promise<void> {
  const entries = layoutIndexEntries(view.manifestDescriptor, out.names);
  const sink = out.tar ? await openTarSink(out.dest, signal) : await openDirSink(out.dest, signal);
  try {
    await sink.addBytes('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    await addImageBlobs(sink, view, content);
    await sink.addBytes('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: entries })));
    await sink.commit();
  } finally {
    await sink.abort();
  }
}
