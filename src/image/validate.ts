// Image documents from a registry, an OCI layout or the content store are untrusted JSON: each is
// parsed here, once, against the shape the OCI image spec gives it (image-spec schema/*.json:
// descriptor, image-manifest, image-index, config), before any field is used. A document that is
// not JSON or has a field of the wrong type is IMAGE_INVALID naming the image, the document and
// the field: `image app:1: config sha256:ab…: "config.User" is a number, expected a string`.
//
// Typed parsing rather than a JSON-schema validator: the checks are few, the messages are ours,
// and the result is the typed value the rest of tsbuild reads. Fields the spec leaves optional
// may also be null (Docker writes `"Labels": null`); null is then read as absent. Unknown fields
// are kept: exporters pass a base image's config on as it is.
import { ErrorCodes, TsbuildError } from '../errors/index.ts';
import type { ContainerConfig, Descriptor, ImageConfig, ImageIndex, ImageManifest } from './types.ts';

export type ImageDocument = 'manifest' | 'index' | 'config';

/** Where a document comes from, for messages: the image as the user named it, and the document's digest. */
export interface DocumentOrigin {
  image: string;
  document: ImageDocument;
  digest?: string;
}

class FieldError extends Error {
  readonly field: string;
  constructor(field: string, why: string) {
    super(why);
    this.field = field;
  }
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return typeof v === 'number' ? 'a number' : typeof v === 'string' ? 'a string' : typeof v === 'boolean' ? 'a boolean' : typeof v;
}

/** A value as a message quotes it: JSON, cut at 80 characters, since a hostile image may hold megabytes there. */
export function quoted(v: unknown): string {
  const s = JSON.stringify(v) ?? 'missing';
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

const wrong = (field: string, v: unknown, expected: string) => new FieldError(field, `is ${kindOf(v)}, expected ${expected}`);

type Obj = Record<string, unknown>;

function object(v: unknown, field: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw wrong(field, v, 'an object');
  return v as Obj;
}

function string(v: unknown, field: string): string {
  if (typeof v !== 'string') throw wrong(field, v, 'a string');
  return v;
}

function number(v: unknown, field: string): number {
  if (typeof v !== 'number') throw wrong(field, v, 'a number');
  return v;
}

function boolean(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw wrong(field, v, 'a boolean');
  return v;
}

function list<T>(v: unknown, field: string, item: (x: unknown, f: string) => T): T[] {
  if (!Array.isArray(v)) throw wrong(field, v, 'a list');
  return v.map((x, i) => item(x, `${field}[${i}]`));
}

function stringMap(v: unknown, field: string): Record<string, string> {
  const o = object(v, field);
  for (const [k, x] of Object.entries(o)) string(x, `${field}.${k}`);
  return o as Record<string, string>;
}

/** An optional field: absent or null is undefined, anything else must pass `check`. */
function optional<T>(o: Obj, key: string, field: string, check: (x: unknown, f: string) => T): T | undefined {
  const v = o[key];
  if (v === undefined || v === null) {
    delete o[key];
    return undefined;
  }
  return check(v, field);
}

const sha256Digest = /^sha256:[a-f0-9]{64}$/;

function digest(v: unknown, field: string): string {
  const s = string(v, field);
  if (!sha256Digest.test(s)) throw new FieldError(field, `${quoted(s)} is not a sha256 digest (sha256:<64 hex>)`);
  return s;
}

function size(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw typeof v === 'number' ? new FieldError(field, `${v} is not a byte count`) : wrong(field, v, 'a number');
  return v;
}

function descriptor(v: unknown, field: string): Descriptor {
  const o = object(v, field);
  string(o.mediaType, `${field}.mediaType`);
  digest(o.digest, `${field}.digest`);
  size(o.size, `${field}.size`);
  optional(o, 'annotations', `${field}.annotations`, stringMap);
  optional(o, 'urls', `${field}.urls`, (x, f) => list(x, f, string));
  optional(o, 'platform', `${field}.platform`, (x, f) => {
    const p = object(x, f);
    string(p.os, `${f}.os`);
    string(p.architecture, `${f}.architecture`);
    optional(p, 'variant', `${f}.variant`, string);
    return p;
  });
  return o as unknown as Descriptor;
}

function schemaVersion(o: Obj): void {
  if (o.schemaVersion !== 2) throw new FieldError('schemaVersion', `is ${quoted(o.schemaVersion)}, expected 2`);
}

/**
 * The largest image (or cache) config read: a config is parsed whole in memory, and a registry
 * names its size before a byte of it is fetched. Real ones are kilobytes (a long history: ~1 MB).
 */
export const MaxConfigBytes = 64 * 1024 * 1024;

/**
 * The largest manifest, index or image config the image store reads (Docker's own limit for a
 * config): an image whose config is larger is refused when pulled or loaded, so no stored image
 * is one the store cannot read (such an image left `images` and `rmi` failing).
 */
export const MaxImageDocumentBytes = 8 * 1024 * 1024;

/**
 * The most layers tsbuild takes from an image: twice what overlayfs stacks (500), so a build that
 * mounts none of it still works, while 22,000 tiny layers are refused before any is fetched.
 */
export const MaxImageLayers = 1000;

function manifestOf(v: unknown): ImageManifest {
  const o = object(v, 'the document');
  schemaVersion(o);
  optional(o, 'mediaType', 'mediaType', string);
  const config = descriptor(o.config, 'config');
  if (config.size > MaxConfigBytes) throw new FieldError('config.size', `${config.size} bytes is over the ${MaxConfigBytes} bytes (64 MiB) a config may have`);
  list(o.layers, 'layers', descriptor);
  optional(o, 'annotations', 'annotations', stringMap);
  return o as unknown as ImageManifest;
}

function indexOf(v: unknown): ImageIndex {
  const o = object(v, 'the document');
  schemaVersion(o);
  optional(o, 'mediaType', 'mediaType', string);
  list(o.manifests, 'manifests', descriptor);
  optional(o, 'annotations', 'annotations', stringMap);
  return o as unknown as ImageIndex;
}

const strings = (x: unknown, f: string) => list(x, f, string);

function containerConfig(v: unknown, field: string): ContainerConfig {
  const c = object(v, field);
  const at = (k: string) => `${field}.${k}`;
  for (const k of ['User', 'WorkingDir', 'StopSignal'] as const) optional(c, k, at(k), string);
  for (const k of ['Env', 'Shell'] as const) optional(c, k, at(k), strings);
  // null is meaningful for these (reset), so it is kept
  for (const k of ['Entrypoint', 'Cmd', 'OnBuild'] as const) if (c[k] !== null && c[k] !== undefined) strings(c[k], at(k));
  optional(c, 'Labels', at('Labels'), stringMap);
  for (const k of ['ExposedPorts', 'Volumes'] as const) optional(c, k, at(k), object);
  optional(c, 'Healthcheck', at('Healthcheck'), (x, f) => {
    const h = object(x, f);
    optional(h, 'Test', `${f}.Test`, strings);
    for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries']) optional(h, k, `${f}.${k}`, number);
    return h;
  });
  optional(c, 'ArgsEscaped', at('ArgsEscaped'), boolean);
  return c as ContainerConfig;
}

function configOf(v: unknown): ImageConfig {
  const o = object(v, 'the document');
  string(o.architecture, 'architecture');
  string(o.os, 'os');
  optional(o, 'variant', 'variant', string);
  optional(o, 'created', 'created', string);
  optional(o, 'author', 'author', string);
  // an image without runtime settings (some scratch images) has none: read as empty
  o.config = o.config === undefined || o.config === null ? {} : containerConfig(o.config, 'config');
  const rootfs = object(o.rootfs, 'rootfs');
  string(rootfs.type, 'rootfs.type');
  list(rootfs.diff_ids, 'rootfs.diff_ids', digest);
  optional(o, 'history', 'history', (x, f) =>
    list(x, f, (h, g) => {
      const e = object(h, g);
      for (const k of ['created', 'created_by', 'author', 'comment']) optional(e, k, `${g}.${k}`, string);
      optional(e, 'empty_layer', `${g}.empty_layer`, boolean);
      return e;
    }),
  );
  return o as unknown as ImageConfig;
}

function parse<T>(bytes: Buffer | string, origin: DocumentOrigin, shape: (v: unknown) => T): T {
  const where = `image ${origin.image}: ${origin.document}${origin.digest ? ` ${origin.digest}` : ''}`;
  const fail = (why: string, cause?: unknown) =>
    new TsbuildError(`${where}: ${why}`, { code: ErrorCodes.IMAGE_INVALID, kind: 'invalid', cause, hint: 'the image is damaged or was not made by an OCI or Docker image tool; rebuild or re-push it' });
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (e) {
    throw fail(`is not JSON (${(e as Error).message})`, e);
  }
  try {
    return shape(value);
  } catch (e) {
    if (e instanceof FieldError) throw fail(e.field === 'the document' ? `the document ${e.message}` : `"${e.field}" ${e.message}`);
    throw e;
  }
}

/** An image manifest (OCI or Docker v2 schema 2), validated; throws IMAGE_INVALID naming the field. */
export function parseManifest(bytes: Buffer | string, origin: Omit<DocumentOrigin, 'document'>): ImageManifest {
  return parse(bytes, { ...origin, document: 'manifest' }, manifestOf);
}

/** An image index (OCI index or Docker manifest list), validated. */
export function parseIndex(bytes: Buffer | string, origin: Omit<DocumentOrigin, 'document'>): ImageIndex {
  return parse(bytes, { ...origin, document: 'index' }, indexOf);
}

/** An image config, validated; `config` is always an object afterwards. */
export function parseConfig(bytes: Buffer | string, origin: Omit<DocumentOrigin, 'document'>): ImageConfig {
  return parse(bytes, { ...origin, document: 'config' }, configOf);
}

/** A manifest or an index, told apart by `manifests` (as registries and layouts mix them). */
export function parseManifestOrIndex(bytes: Buffer | string, origin: Omit<DocumentOrigin, 'document'>): ImageManifest | ImageIndex {
  let probe: unknown;
  try {
    probe = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch {
    return parseManifest(bytes, origin);
  }
  const isIndex = typeof probe === 'object' && probe !== null && 'manifests' in probe;
  return isIndex ? parseIndex(bytes, origin) : parseManifest(bytes, origin);
}

/**
 * An image must be one tsbuild takes (above): a config the image store reads
 * (MaxImageDocumentBytes) and at most MaxImageLayers layers. Refused before its config or any layer
 * is fetched, so no such image is ever stored.
 */
export function checkImageLimits(manifest: ImageManifest, name: string): void {
  if (manifest.layers.length > MaxImageLayers) {
    throw new TsbuildError(`${name}: ${manifest.layers.length} layers, more than the ${MaxImageLayers} tsbuild takes from an image (a step can mount at most 500)`, { code: ErrorCodes.IMAGE_INVALID, kind: 'invalid', hint: 'squash the image (Docker itself refuses more than 127 layers)' });
  }
  if (manifest.config.size > MaxImageDocumentBytes) {
    throw new TsbuildError(`${name}: its config is ${manifest.config.size} bytes, more than the ${MaxImageDocumentBytes} bytes (8 MiB) an image config may have`, { code: ErrorCodes.IMAGE_INVALID, kind: 'invalid' });
  }
}
