// Registry authentication: anonymous first; on a 401 follow the WWW-Authenticate challenge:
// Bearer (a token from realm for service+scopes, asked with Basic credentials, or with an
// identity token as an OAuth2 refresh token) or Basic (send the credentials). Credentials come
// from the Docker config (docker-config.ts): resolved once per registry, a helper run at most once.
//
// Concurrency: many requests of one push meet their first 401 together. Each answers it through
// `challenge`, which runs one token fetch per (registry, scopes) and lets the others wait for it;
// a request whose Authorization is older than the current one just sends again. Once a registry
// is known to want Bearer, `authorize` gets a token for new scopes before the first request.
import { RegistryError, registryErrorFrom } from './errors.ts';
import { readBoundedBody } from './bounded-body.ts';
import { httpRequest } from './http.ts';
import type { HttpRequestInit, HttpResponse } from './http.ts';
import { createStallGuard, resolveStallTimeoutMs } from './stall-guard.ts';
import { resolveDockerCredentials, type Credentials } from './docker-config.ts';
import { ErrorCodes } from '../errors/index.ts';

export type { Credentials } from './docker-config.ts';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="https://auth",service="registry",scope="repository:a:pull"`. */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p = re.exec(m[2]); p; p = re.exec(m[2])) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme: m[1].toLowerCase(), params };
}

/** Scopes as one string or several (`repository:dst:pull,push` + `repository:src:pull` for a cross-repo mount). */
export type Scopes = string | readonly string[];

export interface Authenticator {
  /** The Authorization header to send for `host` and `scopes`, if one is known already. */
  header(host: string, scopes: Scopes): string | undefined;
  /**
   * The header to send, fetching a token first when `host` is known to want Bearer tokens and
   * none is held for `scopes` yet (saves the 401 round trip). Never throws for a missing token:
   * the request then meets its 401 and `challenge` says what is wrong.
   */
  authorize?(host: string, scopes: Scopes): Promise<string | undefined>;
  /**
   * Answers a 401 for a request sent with `sent` (its Authorization, if any): obtains a token or
   * chooses Basic for the next attempt; returns at once when another request already did. Throws a
   * denied RegistryError, saying how to log in, when the challenge cannot be met. Consumes `res`.
   */
  challenge(host: string, scopes: Scopes, res: HttpResponse, what: string, sent?: string): Promise<void>;
}

export interface AuthenticatorOptions {
  /** Credentials for a registry host; default: the Docker config (resolveDockerCredentials). Called at most once per host. */
  credentials?: (host: string) => Credentials | undefined | Promise<Credentials | undefined>;
  /** How to send the token request; default: httpRequest (tests put a fake server in between). */
  request?: (url: URL, init: HttpRequestInit) => Promise<HttpResponse>;
  stallTimeoutMs?: number;
}

// a token is a few kB (a JWT with its claims); 1 MiB leaves room for any real one
const maxTokenBytes = 1024 * 1024;

/** Scopes merged per resource (`repository:a:pull` + `repository:a:pull,push` → `repository:a:pull,push`), sorted. */
export function mergeScopes(scopes: Scopes): string[] {
  const actions = new Map<string, Set<string>>();
  for (const scope of typeof scopes === 'string' ? [scopes] : scopes) {
    if (scope === '') continue;
    // `repository:host:5000/name:pull` has colons in the name: the actions follow the last one
    const colon = scope.lastIndexOf(':');
    const resource = colon > 0 ? scope.slice(0, colon) : scope;
    const set = actions.get(resource) ?? new Set<string>();
    for (const a of colon > 0 ? scope.slice(colon + 1).split(',') : []) if (a !== '') set.add(a);
    actions.set(resource, set);
  }
  return [...actions].map(([resource, set]) => (set.size > 0 ? `${resource}:${[...set].sort().join(',')}` : resource)).sort();
}

const scopeList = mergeScopes;
const scopeKey = (host: string, scopes: Scopes) => `${host} ${scopeList(scopes).join(' ')}`;

/**
 * The token service a challenge names, if it is one we may ask: http(s) only, and credentials go
 * over plain HTTP only to a loopback service or the registry's own host (a registry could
 * otherwise send them in clear text anywhere).
 */
function realmUrl(realm: string, host: string, what: string, withCredentials: boolean): URL {
  let url: URL | undefined;
  try {
    url = new URL(realm);
  } catch {
    // said below
  }
  const refuse = (why: string) => new RegistryError(`${what}: the registry names a token service ${why}`, { code: ErrorCodes.REGISTRY_ERROR, kind: 'denied', retryable: false });
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw refuse(`that is not an http(s) URL: "${realm.slice(0, 200)}"`);
  const loopback = /^(?:localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(url.hostname);
  const registryName = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  if (url.protocol === 'http:' && withCredentials && !loopback && url.hostname !== registryName) {
    throw refuse(`over plain HTTP (${url.origin}); credentials are not sent there`);
  }
  return url;
}

/** How to log in to `host`, as the hint of an authentication error. */
export function loginHint(host: string): string {
  const hub = host === 'registry-1.docker.io' || host === 'docker.io';
  return `log in with: tsbuild login${hub ? '' : ` ${host}`} (credentials are read from ${process.env.DOCKER_CONFIG ? '$DOCKER_CONFIG' : '~/.docker'}/config.json)`;
}

export function createAuthenticator(opts: AuthenticatorOptions = {}): Authenticator {
  const stallTimeoutMs = opts.stallTimeoutMs ?? resolveStallTimeoutMs();
  const credentialsFor = opts.credentials ?? ((host: string) => resolveDockerCredentials(host));
  const doFetch = opts.request ?? ((url: URL, init: HttpRequestInit) => httpRequest(url, init));
  // Bearer tokens per host+scopes; Basic per host (it is not scoped)
  const tokens = new Map<string, string>();
  const basics = new Map<string, string>();
  // the token service of each host that answered with a Bearer challenge
  const realms = new Map<string, Challenge>();
  const pending = new Map<string, Promise<void>>();
  const credentials = new Map<string, Promise<Credentials | undefined>>();
  const basicOf = (c: Credentials) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

  const credentialsOnce = (host: string) => {
    let p = credentials.get(host);
    if (!p) {
      p = Promise.resolve().then(() => credentialsFor(host));
      credentials.set(host, p);
    }
    return p;
  };

  const denied = (e: RegistryError, host: string, creds: Credentials | undefined) => {
    if (e.kind === 'denied') {
      e.hint = creds ? `the credentials for ${host} were refused; ${loginHint(host)}` : loginHint(host);
    }
    return e;
  };

  async function fetchToken(host: string, scopes: Scopes, c: Challenge, what: string): Promise<void> {
    const creds = await credentialsOnce(host);
    const url = realmUrl(c.params.realm, host, what, creds !== undefined);
    const wanted = scopeList([...scopeList(scopes), ...(c.params.scope ? c.params.scope.split(' ') : [])]);
    const tokenWhat = `token for ${what} from ${url.origin}`;
    let init: HttpRequestInit;
    if (creds?.identityToken) {
      // OAuth2 refresh-token grant, as Docker sends it for an identity token
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'tsbuild' });
      if (c.params.service) form.set('service', c.params.service);
      if (wanted.length > 0) form.set('scope', wanted.join(' '));
      init = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form };
    } else {
      if (c.params.service) url.searchParams.set('service', c.params.service);
      for (const s of wanted) url.searchParams.append('scope', s);
      init = { headers: creds ? { authorization: basicOf(creds) } : {} };
    }
    // the token service is as untrusted as the registry: bounded, and watched for stalls
    const stall = createStallGuard(stallTimeoutMs, tokenWhat);
    let text: string;
    try {
      const tokenRes = await doFetch(url, { ...init, signal: stall.signal });
      stall.touch();
      if (!tokenRes.ok) throw denied(await registryErrorFrom(tokenRes, tokenWhat), host, creds);
      const tooLarge = () => new RegistryError(`${tokenWhat}: the answer is larger than ${maxTokenBytes} bytes`, { code: ErrorCodes.REGISTRY_ERROR, kind: 'invalid', retryable: false });
      text = (await readBoundedBody(tokenRes, maxTokenBytes, { stall, tooLarge })).toString('utf8');
    } catch (e) {
      throw stall.signal.aborted && !(e instanceof RegistryError && !e.retryable) ? stall.signal.reason : e;
    } finally {
      stall.done();
    }
    let body: { token?: unknown; access_token?: unknown } = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null) body = parsed;
    } catch {
      // no token in it: said below
    }
    const token = typeof body.token === 'string' && body.token !== '' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
    if (!token) {
      throw new RegistryError(`${what}: the token service ${url.origin} sent no token`, { code: ErrorCodes.REGISTRY_ERROR, kind: 'denied', retryable: false });
    }
    tokens.set(scopeKey(host, scopes), `Bearer ${token}`);
  }

  /** Runs `fn` once for `key` however many callers ask while it runs. */
  function once(key: string, fn: () => Promise<void>): Promise<void> {
    let p = pending.get(key);
    if (!p) {
      p = fn().finally(() => pending.delete(key));
      pending.set(key, p);
    }
    return p;
  }

  const header = (host: string, scopes: Scopes) => tokens.get(scopeKey(host, scopes)) ?? basics.get(host);

  return {
    header,
    async authorize(host, scopes) {
      const known = header(host, scopes);
      const realm = realms.get(host);
      if (known || !realm) return known;
      const key = scopeKey(host, scopes);
      await once(key, () => fetchToken(host, scopes, realm, host)).catch(() => undefined);
      return header(host, scopes);
    },
    async challenge(host, scopes, res, what, sent) {
      const current = header(host, scopes);
      if (current !== undefined && current !== sent) {
        // another request answered this challenge while ours was under way
        res.cancel();
        return;
      }
      const c = parseChallenge(res.headers.get('www-authenticate') ?? '');
      const key = scopeKey(host, scopes);
      if (c?.scheme === 'basic') {
        const creds = await credentialsOnce(host);
        // nothing to send, or what we sent was refused
        if (!creds || creds.identityToken || (sent !== undefined && sent === basics.get(host))) throw denied(await registryErrorFrom(res, what), host, creds);
        res.cancel();
        basics.set(host, basicOf(creds));
        return;
      }
      if (c?.scheme !== 'bearer' || !c.params.realm) throw denied(await registryErrorFrom(res, what), host, await credentialsOnce(host));
      if (sent !== undefined && sent === tokens.get(key)) {
        // the token was refused: expired, or it lacks a scope. One fresh fetch; a second refusal is final
        if (c.params.error === 'insufficient_scope') throw denied(await registryErrorFrom(res, what), host, await credentialsOnce(host));
        tokens.delete(key);
      }
      res.cancel();
      realms.set(host, { scheme: 'bearer', params: { realm: c.params.realm, ...(c.params.service ? { service: c.params.service } : {}) } });
      await once(key, () => fetchToken(host, scopes, c, what));
    },
  };
}
