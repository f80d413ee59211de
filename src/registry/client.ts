// The distribution-spec client: manifests and blobs of one registry repository at a time.
// Plain HTTP only for loopback hosts and the --insecure-registry list; HTTPS otherwise.
//
//   const client = createRegistryClient({ insecureRegistries: ['reg.lan:5000'] });
//   const ref = parseReference('127.0.0.1:5000/app:1');
//   const m = await client.getManifest(ref);                  // { bytes, mediaType, digest }
//   await client.fetchBlob(ref, m.parsed.config, content);     // stored, digest verified
import { createHash } from 'node:crypto';
import PQueue from 'p-queue';
import type { BlobInfo, BlobWriter } from '../content/index.ts';
import type { Descriptor } from '../image/index.ts';
import { IndexMediaTypes, ManifestMediaTypes, MediaTypes } from '../image/index.ts';
import { ErrorCodes, TsbuildError } from '../errors/index.ts';
import type { ImageReference } from './reference.ts';
import { DefaultDomain, familiarName, referenceSelector, registryHost, repositoryName } from './reference.ts';
import { createAuthenticator, loginHint } from './auth.ts';
import type { Authenticator } from './auth.ts';
import { RegistryError, isConnectionError, registryErrorFrom, unreachable } from './errors.ts';
import { withRetry } from './retry.ts';
import { createHttpAgents, httpRequest } from './http.ts';
import type { HttpAgents, HttpRequestInit, HttpResponse } from './http.ts';
import { readBoundedBody } from './bounded-body.ts';
import { createStallGuard, resolveStallTimeoutMs, type StallGuard } from './stall-guard.ts';

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  /** sha256 of `bytes`; checked against a digest in the reference. */
  digest: string;
}

export interface RegistryClient {
  /** GET the manifest or index `ref` names (its tag or digest, or `selector` when given). Throws IMAGE_NOT_FOUND naming the ref. */
  getManifest(ref: ImageReference, selector?: string): Promise<FetchedManifest>;
  /** HEAD: the descriptor the registry has for the tag/digest, or undefined when it has none. */
  headManifest(ref: ImageReference, selector?: string): Promise<Descriptor | undefined>;
  /**
   * Downloads a blob of `ref`'s repository into `content`, verifying size and digest.
   * Idempotent: resolves at once when the blob is already stored. `onBytes` sees the running count.
   */
  fetchBlob(ref: ImageReference, desc: Descriptor, content: BlobWriter & { has(d: string): Promise<boolean> }, onBytes?: (n: number) => void): Promise<BlobInfo>;
  /** Bounds parallel blob transfers across everything using this client. */
  readonly transfers: PQueue;
  /**
   * One authenticated request to `ref`'s repository (`path` below /v2/<name>, or an absolute URL
   * the registry gave, such as an upload Location). `push` asks for a pull+push token. No retries:
   * callers wrap idempotent steps in withRetry. The caller consumes the response body. `scopes`
   * widens the token (`repository:src:pull` for a cross-repository mount). Throws a denied
   * RegistryError with a login hint when the registry refuses the credentials.
   */
  send(ref: ImageReference, path: string, init: HttpRequestInit & { what: string; push?: boolean; scopes?: readonly string[] }): Promise<HttpResponse>;
  /** Closes the client's connections (idle ones never keep the process alive on their own). */
  close(): void;
}

export interface RegistryClientOptions {
  /** Hosts (`host` or `host:port`) reached over plain HTTP. Loopback always is. */
  insecureRegistries?: readonly string[];
  auth?: Authenticator;
  // 3 parallel transfers: what Docker uses by default (max-concurrent-downloads); more rarely
  // helps one registry and shares 2 cores badly with gunzip and hashing
  concurrency?: number;
  /** A manifest or blob request that receives no byte for this long is aborted and retried. Default: see stall-guard.ts. */
  stallTimeoutMs?: number;
  /** The build's cancellation: aborts every request under way, and no retry follows. */
  signal?: AbortSignal;
  /** `registry-mirrors`: origins (`https://mirror.example.com`) tried in order before Docker Hub, for reads of docker.io images. */
  mirrors?: readonly string[];
}

const acceptManifests = [...ManifestMediaTypes, ...IndexMediaTypes].join(', ');
// containerd's limit: a manifest is small JSON; anything bigger is a broken or hostile registry
const maxManifestBytes = 4 * 1024 * 1024;

export function isPlainHttpHost(host: string, insecure: readonly string[] = []): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  if (name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name)) return true;
  return insecure.includes(host) || insecure.includes(name);
}

export function createRegistryClient(opts: RegistryClientOptions = {}): RegistryClient {
  const agents: HttpAgents = createHttpAgents();
  const auth = opts.auth ?? createAuthenticator();
  const transfers = new PQueue({ concurrency: opts.concurrency ?? 3 });
  const stallTimeoutMs = opts.stallTimeoutMs ?? resolveStallTimeoutMs();
  const guard = (what: string) => createStallGuard(stallTimeoutMs, what, 'the registry', opts.signal);

  /** Where `ref`'s repository is served: its registry, or a mirror (an origin such as `https://mirror.example.com`). */
  const endpointOf = (ref: ImageReference, mirror?: string) => {
    if (mirror !== undefined) {
      const url = new URL(mirror);
      return { host: url.host, base: `${url.origin}/v2/${ref.path}` };
    }
    const host = registryHost(ref.domain);
    return { host, base: `${isPlainHttpHost(host, opts.insecureRegistries) ? 'http' : 'https'}://${host}/v2/${ref.path}` };
  };

  /**
   * Runs a read (`fn` given the mirror to use, or undefined for the registry itself) against each
   * mirror of Docker Hub in turn, then Docker Hub, as Docker does: any failure of a mirror moves on.
   * Other registries have no mirrors.
   */
  async function fromMirrors<T>(ref: ImageReference, fn: (mirror: string | undefined) => Promise<T>): Promise<T> {
    const mirrors = ref.domain === DefaultDomain ? (opts.mirrors ?? []) : [];
    for (const mirror of mirrors) {
      try {
        return await fn(mirror);
      } catch (e) {
        if (opts.signal?.aborted || (e instanceof TsbuildError && e.kind === 'cancelled')) throw e;
        // and on to the next mirror, or the registry itself
      }
    }
    return fn(undefined);
  }

  /** One request with auth: on 401 answer the challenge once and repeat. Retries are the caller's. */
  async function request(ref: ImageReference, path: string, init: HttpRequestInit, what: string, push = false, extraScopes: readonly string[] = [], mirror?: string): Promise<HttpResponse> {
    const { host, base } = endpointOf(ref, mirror);
    const scopes = [`repository:${ref.path}:${push ? 'pull,push' : 'pull'}`, ...extraScopes];
    const url = /^https?:\/\//.test(path) ? path : `${base}${path}`;
    // an upload Location on another host (a storage service) gets no credentials of this registry
    const ownHost = new URL(url).host === new URL(base).host;
    const send = async (authorization: string | undefined) => {
      const headers = { ...init.headers, ...(authorization && ownHost ? { authorization } : {}) };
      try {
        return await httpRequest(url, { ...init, headers }, agents);
      } catch (e) {
        // a stall guard's abort carries the error to report
        if (init.signal?.aborted) throw init.signal.reason;
        if (isConnectionError(e)) throw e;
        throw unreachable(ref.domain, e, repositoryName(ref));
      }
    };
    const sent = auth.authorize ? await auth.authorize(host, scopes) : auth.header(host, scopes);
    let res = await send(sent);
    // a 401 from where a redirect led (a blob store) is that host's, not the registry's: answering
    // its challenge would send the registry's credentials to whatever realm it names
    const fromRegistry = (r: HttpResponse) => new URL(r.url).host === new URL(base).host;
    const refusedElsewhere = async (r: HttpResponse) => {
      const e = await registryErrorFrom(r, what);
      e.hint = `the registry sent the request on to ${new URL(r.url).host}, which refused it; that host gets none of the registry's credentials`;
      return e;
    };
    if (res.status === 401 && !fromRegistry(res)) throw await refusedElsewhere(res);
    if (res.status === 401 && ownHost) {
      await auth.challenge(host, scopes, res, what, sent);
      res = await send(auth.header(host, scopes));
      if (res.status === 401 && !fromRegistry(res)) throw await refusedElsewhere(res);
      if (res.status === 401) {
        const e = await registryErrorFrom(res, what);
        e.hint = `the registry refused the credentials sent; ${loginHint(host)}`;
        throw e;
      }
    }
    return res;
  }

  const retrying = <T>(ref: ImageReference, fn: () => Promise<T>) =>
    withRetry(fn, { signal: opts.signal }).catch((e: unknown) => {
      throw isConnectionError(e) ? unreachable(ref.domain, e, repositoryName(ref)) : e;
    });

  return {
    transfers,
    close: () => agents.destroy(),
    // a connection failure leaves as a retryable `cannot reach registry …`, never a bare TypeError
    send: (ref, path, { what, push, scopes, ...init }) =>
      request(ref, path, init, what, push, scopes).catch((e: unknown) => {
        throw isConnectionError(e) && !(e instanceof TsbuildError) ? unreachable(ref.domain, e, repositoryName(ref)) : e;
      }),

    getManifest(ref, selector = referenceSelector(ref)) {
      const what = `${familiarName(ref)}${selector === referenceSelector(ref) ? '' : ` (${selector})`}`;
      return fromMirrors(ref, (mirror) => retrying(ref, async () => {
        const stall = guard(what);
        let bytes: Buffer;
        let res: HttpResponse;
        try {
          res = await request(ref, `/manifests/${selector}`, { headers: { accept: acceptManifests }, signal: stall.signal }, what, false, [], mirror);
          stall.touch();
          if (!res.ok) throw await registryErrorFrom(res, what);
          const tooLarge = (said = '') =>
            new RegistryError(`${what}: the manifest is larger than ${maxManifestBytes} bytes${said}`, { code: ErrorCodes.REGISTRY_ERROR, kind: 'invalid', retryable: false });
          const length = Number(res.headers.get('content-length') ?? 0);
          if (length > maxManifestBytes) throw tooLarge(` (Content-Length: ${length})`);
          // counted while reading: a chunked body has no Content-Length to check
          bytes = await readBoundedBody(res, maxManifestBytes, { stall, tooLarge: () => tooLarge() });
        } catch (e) {
          throw stall.signal.aborted && !(e instanceof RegistryError && !e.retryable) ? stall.signal.reason : e;
        } finally {
          stall.done();
        }
        const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
        if (selector.startsWith('sha256:') && selector !== digest) {
          throw new TsbuildError(`${what}: the registry sent a manifest with digest ${digest}`, { code: ErrorCodes.DIGEST_MISMATCH, kind: 'invalid' });
        }
        const mediaType = manifestMediaType(bytes, res.headers.get('content-type'), what);
        if (mediaType === 'application/vnd.docker.distribution.manifest.v1+json' || mediaType.includes('prettyjws')) {
          throw new TsbuildError(`${what}: Docker schema 1 manifests are not supported`, { code: ErrorCodes.REGISTRY_ERROR, kind: 'invalid', hint: 'push the image again with a current Docker' });
        }
        return { bytes, mediaType, digest };
      })).catch((e: unknown) => {
        throw e instanceof RegistryError ? pullDenied(e, ref) : e;
      });
    },

    headManifest(ref, selector = referenceSelector(ref)) {
      const what = familiarName(ref);
      return fromMirrors(ref, (mirror) => retrying(ref, async () => {
        const stall = guard(what);
        let res: HttpResponse;
        try {
          res = await request(ref, `/manifests/${selector}`, { method: 'HEAD', headers: { accept: acceptManifests }, signal: stall.signal }, what, false, [], mirror);
        } finally {
          stall.done();
        }
        if (res.status === 404) return undefined;
        if (!res.ok) throw await registryErrorFrom(res, what);
        const digest = res.headers.get('docker-content-digest');
        if (!digest) return undefined;
        return { mediaType: res.headers.get('content-type') ?? MediaTypes.ociManifest, digest, size: Number(res.headers.get('content-length') ?? 0) };
      }));
    },

    async fetchBlob(ref, desc, content, onBytes) {
      if (await content.has(desc.digest)) return { digest: desc.digest, size: desc.size };
      const what = `blob ${desc.digest} of ${repositoryName(ref)}`;
      return fromMirrors(ref, (mirror) => retrying(ref, async () => {
        const stall = guard(what);
        try {
          const res = await request(ref, `/blobs/${desc.digest}`, { signal: stall.signal }, what, false, [], mirror);
          stall.touch();
          if (!res.ok || !res.body) throw await registryErrorFrom(res, what);
          const tooLong = () =>
            new RegistryError(`${what}: the registry sent more than the ${desc.size} bytes the manifest gives it`, { code: ErrorCodes.DIGEST_MISMATCH, kind: 'invalid', retryable: false });
          if (Number(res.headers.get('content-length') ?? 0) > desc.size) throw tooLong();
          const body = res.body;
          try {
            // stop at size + 1 bytes: a 52 MB body for a 3 kB descriptor is not read to its end
            return await content.putStream(watchBytes(body, stall, desc.size, tooLong, onBytes), { digest: desc.digest, size: desc.size });
          } finally {
            // a body left unread (another process stored the blob meanwhile, so the store took none of
            // it) holds its connection, and that kept the process from exiting once it was done
            if (!body.readableEnded) body.destroy();
          }
        } catch (e) {
          if (stall.signal.aborted && !(e instanceof RegistryError && !e.retryable)) throw stall.signal.reason;
          if (e instanceof TsbuildError) throw e;
          // a reset mid-body surfaces from the stream as a plain error: let retry see it as one
          throw new TypeError('request failed', { cause: e });
        } finally {
          stall.done();
        }
      }));
    },
  };
}

/** The body's chunks, each moving the stall deadline; fails with `tooLong()` past `max` bytes. */
async function* watchBytes(source: AsyncIterable<Uint8Array>, stall: StallGuard, max: number, tooLong: () => Error, onBytes?: (n: number) => void): AsyncIterable<Uint8Array> {
  let seen = 0;
  for await (const chunk of source) {
    stall.touch(chunk.length);
    seen += chunk.length;
    if (seen > max) throw tooLong();
    onBytes?.(seen);
    yield chunk;
  }
}

/** The media type from the JSON itself, else the Content-Type header (registries differ in which is right). */
function manifestMediaType(bytes: Buffer, header: string | null, what: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new TsbuildError(`image ${what}: the registry sent a manifest that is not JSON`, { code: ErrorCodes.IMAGE_INVALID, kind: 'invalid' });
  }
  // the shape is checked later (src/image/validate.ts); here only what tells the type apart
  const doc = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { mediaType?: unknown; manifests?: unknown; schemaVersion?: unknown };
  if (typeof doc.mediaType === 'string' && doc.mediaType !== '') return doc.mediaType;
  if (doc.schemaVersion === 1) return 'application/vnd.docker.distribution.manifest.v1+json';
  if (Array.isArray(doc.manifests)) return MediaTypes.ociIndex;
  return header?.split(';')[0].trim() || MediaTypes.ociManifest;
}

/**
 * A manifest the registry will not show: Docker Hub answers so for a repository that does not
 * exist as well as for a private one, so say both, with the full name (`docker.io/library/app`).
 */
function pullDenied(e: RegistryError, ref: ImageReference): RegistryError {
  if (e.kind !== 'denied' || (e.status !== 401 && e.status !== 403)) return e;
  const denied = new RegistryError(`pull access denied for ${repositoryName(ref)}: the repository does not exist or needs a login (${e.message})`, {
    code: e.code,
    kind: e.kind,
    retryable: false,
    status: e.status,
    registryCode: e.registryCode,
    cause: e,
  });
  denied.hint = e.hint;
  return denied;
}
