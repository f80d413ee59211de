// Image references, parsed and normalised the way Docker does (distribution/reference):
//   busybox                    → docker.io/library/busybox:latest
//   user/app:1                 → docker.io/user/app:1
//   127.0.0.1:5000/a/b@sha256:… → digest pinned, no tag
// The familiar form (`busybox:latest`, `user/app:1`) is what people type and what we show.
import { ErrorCodes, invalid } from '../errors/index.ts';

export interface ImageReference {
  /** Registry host as named (`docker.io`, `127.0.0.1:5000`). */
  domain: string;
  /** Repository path inside the registry (`library/busybox`). */
  path: string;
  /** Undefined only when a digest pins the reference. */
  tag?: string;
  digest?: string;
}

export const DefaultDomain = 'docker.io';
const LegacyDomain = 'index.docker.io';
const OfficialRepoPrefix = 'library/';

// The grammar of github.com/distribution/reference/regexp.go.
const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const domainPattern = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;
const digestPattern = /^sha256:[a-f0-9]{64}$/;
// Docker limits the whole name to 255 characters.
const maxNameLength = 255;

function fail(text: string, why: string, hint?: string): never {
  throw invalid(ErrorCodes.REFERENCE_INVALID, `invalid image reference "${text}": ${why}`, hint ? { hint } : {});
}

/**
 * Parses and normalises a reference. A reference without tag or digest gets `latest`.
 * Throws REFERENCE_INVALID (kind `invalid`) with the reason.
 */
export function parseReference(text: string): ImageReference {
  if (text === '') fail(text, 'it is empty');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestPattern.test(digest)) fail(text, `"${digest}" is not a sha256 digest`, 'a digest looks like sha256: followed by 64 hex digits');
  }
  let tag: string | undefined;
  // a colon after the last slash starts the tag; one before it belongs to host:port
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagPattern.test(tag)) fail(text, `"${tag}" is not a valid tag`, 'a tag is up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"');
  }
  if (rest.length > maxNameLength) fail(text, `the name is longer than ${maxNameLength} characters`);

  let domain = DefaultDomain;
  let path = rest;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  // Docker's rule: the first component is a host when it has a dot or a port, or is localhost
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    domain = first;
    path = rest.slice(slash + 1);
    if (!domainPattern.test(domain)) fail(text, `"${domain}" is not a valid registry host`);
  }
  if (domain === LegacyDomain) domain = DefaultDomain;
  if (domain === DefaultDomain && !path.includes('/')) path = OfficialRepoPrefix + path;

  for (const component of path.split('/')) {
    if (pathComponent.test(component)) continue;
    // the hint only when lowercase is all that is wrong (`Bad Ref` lowercased is no name either)
    if (component !== component.toLowerCase() && pathComponent.test(component.toLowerCase())) fail(text, 'repository names must be lowercase', `try "${rest.toLowerCase()}${text.slice(rest.length)}"`);
    fail(text, component === '' ? 'the repository name is empty' : `"${component}" is not a valid repository name component`);
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** `docker.io/library/busybox` */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full normalised form: `docker.io/library/busybox:latest`, `host/a@sha256:…`. */
export function formatReference(ref: ImageReference): string {
  return repositoryName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** The short form Docker shows: `busybox:latest`, `user/app:1`, `127.0.0.1:5000/a:1`. */
export function familiarName(ref: ImageReference): string {
  let name = repositoryName(ref);
  if (ref.domain === DefaultDomain) {
    name = ref.path;
    const rest = name.slice(OfficialRepoPrefix.length);
    if (name.startsWith(OfficialRepoPrefix) && !rest.includes('/')) name = rest;
  }
  return name + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** Normalises in one step: `app` → `docker.io/library/app:latest`. */
export function normalizeReference(text: string): string {
  return formatReference(parseReference(text));
}

/** Where the registry API for this domain lives: Docker Hub's API host differs from its name. */
export function registryHost(domain: string): string {
  return domain === DefaultDomain ? 'registry-1.docker.io' : domain;
}

/** The tag or digest to ask the registry for. */
export function referenceSelector(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}
