// Registry failures, named with the distribution spec's error codes and mapped onto tsbuild's
// error kinds, each saying whether trying again may help.
import { ErrorCodes, TsbuildError } from '../errors/index.ts';
import type { ErrorCode, ErrorKind } from '../errors/index.ts';
import { readBoundedBody } from './bounded-body.ts';
import { dockerConfigPath } from './docker-config.ts';
import type { HttpResponse } from './http.ts';

/** The codes of the distribution spec (plus Docker Hub's TOOMANYREQUESTS). */
export const DistributionCodes = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
] as const;
export type DistributionCode = (typeof DistributionCodes)[number];

interface Mapping {
  code: ErrorCode;
  kind: ErrorKind;
  retryable: boolean;
}

const mappings: Record<DistributionCode, Mapping> = {
  BLOB_UNKNOWN: { code: ErrorCodes.BLOB_NOT_FOUND, kind: 'not-found', retryable: false },
  BLOB_UPLOAD_INVALID: { code: ErrorCodes.REGISTRY_ERROR, kind: 'invalid', retryable: false },
  // an upload session the registry forgot (restart, expiry): a fresh upload may succeed
  BLOB_UPLOAD_UNKNOWN: { code: ErrorCodes.REGISTRY_ERROR, kind: 'unavailable', retryable: true },
  DIGEST_INVALID: { code: ErrorCodes.DIGEST_MISMATCH, kind: 'invalid', retryable: false },
  MANIFEST_BLOB_UNKNOWN: { code: ErrorCodes.BLOB_NOT_FOUND, kind: 'not-found', retryable: false },
  MANIFEST_INVALID: { code: ErrorCodes.REGISTRY_ERROR, kind: 'invalid', retryable: false },
  MANIFEST_UNKNOWN: { code: ErrorCodes.IMAGE_NOT_FOUND, kind: 'not-found', retryable: false },
  NAME_INVALID: { code: ErrorCodes.REFERENCE_INVALID, kind: 'invalid', retryable: false },
  NAME_UNKNOWN: { code: ErrorCodes.IMAGE_NOT_FOUND, kind: 'not-found', retryable: false },
  SIZE_INVALID: { code: ErrorCodes.DIGEST_MISMATCH, kind: 'invalid', retryable: false },
  UNAUTHORIZED: { code: ErrorCodes.REGISTRY_ERROR, kind: 'denied', retryable: false },
  DENIED: { code: ErrorCodes.REGISTRY_ERROR, kind: 'denied', retryable: false },
  UNSUPPORTED: { code: ErrorCodes.REGISTRY_ERROR, kind: 'invalid', retryable: false },
  TOOMANYREQUESTS: { code: ErrorCodes.REGISTRY_ERROR, kind: 'unavailable', retryable: true },
};

export class RegistryError extends TsbuildError {
  /** The registry's own code, when it sent one. */
  readonly registryCode?: DistributionCode;
  readonly status?: number;
  /** Whether the same request may succeed later (5xx, rate limits, resets). */
  readonly retryable: boolean;

  constructor(message: string, opts: Mapping & { registryCode?: DistributionCode; status?: number; hint?: string; cause?: unknown }) {
    super(message, { code: opts.code, kind: opts.kind, hint: opts.hint, cause: opts.cause });
    this.name = 'RegistryError';
    this.registryCode = opts.registryCode;
    this.status = opts.status;
    this.retryable = opts.retryable;
  }
}

function hintFor(kind: ErrorKind, status: number): string | undefined {
  if (kind === 'denied' && status === 403) return 'the registry knows who you are and refuses this: check the repository name and that the account may pull (or push) it';
  if (kind === 'denied') return `log in to the registry with tsbuild login (credentials are read from ${dockerConfigPath()})`;
  return undefined;
}

/**
 * The error for a failed response. `what` names the request's object, as a user would:
 * `127.0.0.1:5000/app:1`, `blob sha256:ab… of 127.0.0.1:5000/app`. Consumes the body.
 */
export async function registryErrorFrom(res: HttpResponse, what: string): Promise<RegistryError> {
  let body = '';
  try {
    // only for the message: the first 64 KiB hold any spec error body, an endless one is cut there
    body = (await readBoundedBody(res, 64 * 1024)).toString('utf8');
  } catch {
    // the body is only for the message
  }
  let first: { code?: string; message?: string } | undefined;
  try {
    first = (JSON.parse(body) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
  } catch {
    // not a spec error body (proxies, HEAD requests)
  }
  const registryCode = DistributionCodes.find((c) => c === first?.code);
  let mapping: Mapping;
  if (registryCode) mapping = mappings[registryCode];
  else if (res.status === 404) mapping = { code: ErrorCodes.IMAGE_NOT_FOUND, kind: 'not-found', retryable: false };
  else if (res.status === 401) mapping = mappings.UNAUTHORIZED;
  else if (res.status === 403) mapping = mappings.DENIED;
  else if (res.status === 429) mapping = mappings.TOOMANYREQUESTS;
  else mapping = { code: ErrorCodes.REGISTRY_ERROR, kind: res.status >= 500 ? 'unavailable' : 'invalid', retryable: res.status >= 500 };

  const reason = mapping.kind === 'not-found' ? 'not found' : first?.message || `${res.status} ${res.statusText}`.trim();
  const codeText = registryCode ? ` (${registryCode})` : '';
  return new RegistryError(`${what}: ${reason}${codeText}`, { ...mapping, registryCode, status: res.status, hint: hintFor(mapping.kind, res.status) });
}

/**
 * A socket failure: http.ts wraps them in TypeError("request failed") with the system error as
 * cause, as Node's fetch does in TypeError("fetch failed").
 */
export function isConnectionError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const cause = (e as { cause?: { code?: string } }).cause;
  const code = cause?.code ?? (e as { code?: string }).code;
  return (
    code === 'ECONNRESET' ||
    code === 'ECONNREFUSED' ||
    code === 'EPIPE' ||
    code === 'ETIMEDOUT' ||
    code === 'UND_ERR_SOCKET' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    (e.name === 'TypeError' && (e.message === 'fetch failed' || e.message === 'request failed') && code !== 'ENOTFOUND')
  );
}

export function isRetryable(e: unknown): boolean {
  if (e instanceof RegistryError) return e.retryable;
  if (e instanceof TsbuildError) return false;
  return isConnectionError(e);
}

/**
 * A connection failure the retries could not ride out, said plainly: `cannot reach registry
 * docker.io (for docker.io/library/app): ECONNREFUSED`. `repository` names what was asked for.
 */
export function unreachable(host: string, e: unknown, repository?: string): RegistryError {
  const cause = (e as { cause?: { code?: string; message?: string; hostname?: string } }).cause;
  const dns = cause?.code === 'ENOTFOUND' || cause?.code === 'EAI_AGAIN';
  const why = dns ? `cannot resolve the host name ${cause?.hostname ?? host} (${cause?.code})` : (cause?.code ?? cause?.message ?? (e as Error).message);
  const refused = cause?.code === 'ECONNREFUSED';
  return new RegistryError(`cannot reach registry ${host}${repository ? ` (for ${repository})` : ''}: ${refused ? 'connection refused' : why}`, {
    code: ErrorCodes.REGISTRY_ERROR,
    kind: 'unavailable',
    retryable: true,
    cause: e,
    hint:
      dns
        ? 'check the registry host name and the DNS setup'
        : refused
          ? `is the registry running? nothing listens at ${host}`
          : 'check the network to the registry, or try again later',
  });
}
