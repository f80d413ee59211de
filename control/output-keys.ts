// The keys each `--output type=` accepts, as docker buildx names them: anything else is refused
// with this list, so a typo (`nmae=`) or an option tsbuild lacks never passes silently.
// Adding a key: one line here, and its reading in parse-output.ts.

export const OutputTypes = ['image', 'registry', 'oci', 'docker', 'local', 'tar'] as const;
export type OutputType = (typeof OutputTypes)[number];

/** Keys of every output that writes an image (image, registry, oci, docker); `.*` takes any KEY after the dot. */
const imageKeys: readonly string[] = [
  'name',
  'oci-mediatypes',
  'annotation.*',
  'annotation-manifest.*',
  'annotation-index.*',
  'annotation-manifest-descriptor.*',
  'compression',
  'compression-level',
  'force-compression',
  'rewrite-timestamp',
];

export const OutputKeys: Readonly<Record<OutputType, readonly string[]>> = {
  image: ['type', 'push', ...imageKeys],
  registry: ['type', 'push', ...imageKeys],
  oci: ['type', 'dest', 'tar', ...imageKeys],
  docker: ['type', 'dest', ...imageKeys],
  local: ['type', 'dest'],
  tar: ['type', 'dest'],
};

export function isOutputType(type: string): type is OutputType {
  return (OutputTypes as readonly string[]).includes(type);
}

/** Whether `key` is one `type` accepts (`annotation.org.opencontainers.image.title` matches `annotation.*`). */
export function isOutputKey(type: OutputType, key: string): boolean {
  return OutputKeys[type].some((k) => (k.endsWith('.*') ? key.startsWith(k.slice(0, -1)) && key.length > k.length - 1 : k === key));
}

/** The keys as a user writes them: `dest, tar, name, annotation.KEY, …`. */
export function describeOutputKeys(type: OutputType): string {
  return OutputKeys[type].map((k) => k.replace(/\.\*$/, '.KEY')).join(', ');
}
