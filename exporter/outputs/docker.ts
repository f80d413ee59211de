// type=docker: a docker-archive tar for `docker load`. Like BuildKit's, it is an OCI layout plus
// the manifest.json Docker reads (layers referenced by their compressed blobs, which docker load
// decompresses itself) and the legacy `repositories` file older tools look for.
import type { BlobReader } from '../../src/content/index.ts';
import { familiarName, parseReference } from '../../src/registry/index.ts';
import type { ImageView, OutputAnnotations } from '../types.ts';
import type { Sink } from '../sink.ts';
import { openTarSink } from '../sink.ts';
import { blobPath } from './blobs.ts';
import { writeOciLayout } from './oci.ts';

export function dockerManifest(view: ImageView, names: readonly string[]) {
  const refs = names.map(parseReference);
  return [
    {
      Config: blobPath(view.configDescriptor.digest),
      RepoTags: refs.filter((r) => r.tag !== undefined).map(familiarName),
      Layers: view.layers.map((l) => blobPath(l.descriptor.digest)),
    },
  ];
}

/** `{ "app": { "latest": "<top layer id>" } }`: only meaningful when the image has layers. */
function repositories(view: ImageView, names: readonly string[]): Record<string, Record<string, string>> | undefined {
  const top = view.layers.at(-1);
  if (!top) return undefined;
  const repos: Record<string, Record<string, string>> = {};
  for (const ref of names.map(parseReference)) {
    if (ref.tag === undefined) continue;
    const repo = familiarName({ ...ref, tag: undefined, digest: undefined });
    (repos[repo] ??= {})[ref.tag] = top.diffId.slice('sha256:'.length);
  }
  return Object.keys(repos).length ? repos : undefined;
}

export interface DockerArchiveSpec {
  names: readonly string[];
  annotations?: OutputAnnotations;
}

/** Adds the whole archive to `sink` and commits it; the caller aborts it when this throws. */
export async function writeDockerArchive(sink: Sink, view: ImageView, out: DockerArchiveSpec, content: BlobReader): Promise<void> {
  await writeOciLayout(sink, view, out, content);
  await sink.addBytes('manifest.json', Buffer.from(JSON.stringify(dockerManifest(view, out.names))));
  const repos = repositories(view, out.names);
  if (repos) await sink.addBytes('repositories', Buffer.from(JSON.stringify(repos)));
  await sink.commit();
}

/** Writes the archive at `out.dest`; `sink` given: into it instead (stdout). */
export async function exportDocker(view: ImageView, out: DockerArchiveSpec & { dest: string }, content: BlobReader, signal?: AbortSignal, given?: Sink): Promise<void> {
  dockerManifest(view, out.names);
  const sink = given ?? (await openTarSink(out.dest, signal));
  try {
    await writeDockerArchive(sink, view, out, content);
  } finally {
    await sink.abort();
  }
}
