// type=oci: an OCI image layout, as a tar (default) or a directory (tar=false). Each name gets
// its own index entry annotated as BuildKit (containerd's archive exporter) does:
// `io.containerd.image.name` = the full name, `org.opencontainers.image.ref.name` = its tag.
import type { BlobReader } from '../../src/content/index.ts';
import type { Descriptor } from '../../src/image/index.ts';
import { MediaTypes, RefNameAnnotation } from '../../src/image/index.ts';
import { formatReference, parseReference } from '../../src/registry/index.ts';
import type { ImageView, OutputAnnotations } from '../types.ts';
import type { Sink } from '../sink.ts';
import { openDirSink, openTarSink } from '../sink.ts';
import { addImageBlobs } from './blobs.ts';

export const ContainerdNameAnnotation = 'io.containerd.image.name';

/** The index.json entries for `names` (one entry when there are none), each with `extra` annotations (annotation-manifest-descriptor.KEY). */
export function layoutIndexEntries(manifest: Descriptor, names: readonly string[], extra: Record<string, string> = {}): Descriptor[] {
  const withExtra = (a: Record<string, string>) => (Object.keys(a).length > 0 ? { annotations: a } : {});
  if (names.length === 0) return [{ ...manifest, ...withExtra({ ...extra }) }];
  return names.map((name) => {
    const ref = parseReference(name);
    return { ...manifest, ...withExtra({ ...extra, [ContainerdNameAnnotation]: formatReference(ref), [RefNameAnnotation]: ref.tag ?? ref.digest ?? 'latest' }) };
  });
}

/** An OCI layout's index.json: `annotation-index.KEY` lands on it. */
export function layoutIndex(view: ImageView, names: readonly string[], annotations?: OutputAnnotations): Buffer {
  const index = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: layoutIndexEntries(view.manifestDescriptor, names, annotations?.manifestDescriptor),
    ...(annotations && Object.keys(annotations.index).length > 0 ? { annotations: annotations.index } : {}),
  };
  return Buffer.from(JSON.stringify(index));
}

export async function writeOciLayout(sink: Sink, view: ImageView, out: { names: readonly string[]; annotations?: OutputAnnotations }, content: BlobReader): Promise<void> {
  await sink.addBytes('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  await addImageBlobs(sink, view, content);
  await sink.addBytes('index.json', layoutIndex(view, out.names, out.annotations));
}

/** Writes the layout at `out.dest`; `sink` given: into it instead (stdout). */
export async function exportOci(view: ImageView, out: { dest: string; tar: boolean; names: readonly string[]; annotations?: OutputAnnotations }, content: BlobReader, signal?: AbortSignal, given?: Sink): Promise<void> {
  // a bad name fails before anything is written
  layoutIndexEntries(view.manifestDescriptor, out.names);
  const sink = given ?? (out.tar ? await openTarSink(out.dest, signal) : await openDirSink(out.dest, signal));
  try {
    await writeOciLayout(sink, view, out, content);
    await sink.commit();
  } finally {
    await sink.abort();
  }
}
