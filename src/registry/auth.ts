// Registry authentication: anonymous first; on a 401 follow the WWW-Authenticate challenge:
// Bearer (fetch a token from realm for service+scope, with Basic credentials when we have
// them) or Basic (send the credentials). Credentials come from ~/.docker/config.json `auths`.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RegistryError, registryErrorFrom } from './errors.ts';
import { readBoundedBody } from './bounded-body.ts';
import { createStallGuard, resolveStallTimeoutMs } from './stall-guard.ts';
import { ErrorCodes } from '../errors/index.ts';

export interface Credentials {
  username: string;
  password: string;
}

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

/** Credentials for `host` from a Docker config file; undefined when there are none. */
export function readDockerCredentials(host: string, configPath = join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json')): Credentials | undefined {
  let auths: Record<string, { auth?: string; username?: string; password?: string }>;
  try {
    auths = (JSON.parse(readFileSync(configPath, 'utf8')) as { auths?: typeof auths }).auths ?? {};
  } catch {
    return undefined;
  }
  // Docker Hub's credentials are stored under its legacy v1 URL
  const keys = host === 'docker.io' || host === 'registry-1.docker.io' ? ['https://index.docker.io/v1/', 'docker.io', 'index.docker.io'] : [host, `https://${host}`, `http://${host}`];
  for (const key of keys) {
    const entry = auths[key];
    if (!entry) continue;
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
  }
  return undefined;
}

export interface Authenticator {
  /** The Authorization header to send for `host` and `scope`, if one is known already. */
  header(host: string, scope: string): string | undefined;
  /**
   * Answers a 401: obtains a token or chooses Basic for the next attempt. Throws a denied
   * RegistryError when the challenge cannot be met.
   */
  challenge(host: string, scope: string, res: Response, what: string): Promise<void>;
}

// a token is a few kB (a JWT with its claims); 1 MiB leaves room for any real one
const maxTokenBytes = 1024 * 1024;

export function createAuthenticator(opts: { credentials?: (host: string) => Credentials | undefined; fetch?: typeof fetch; stallTimeoutMs?: number } = {}): Authenticator {
  const stallTimeoutMs = opts.stallTimeoutMs ?? resolveStallTimeoutMs();
  const credentialsFor = opts.credentials ?? ((host: string) => readDockerCredentials(host));
  const doFetch = opts.fetch ?? fetch;
  // Bearer tokens per host+scope; Basic per host (it is not scoped)
  const tokens = new Map<string, string>();
  const basics = new Map<string, string>();
  const basicOf = (c: Credentials) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

  return {
    header(host, scope) {
      return tokens.get(`${host} ${scope}`) ?? basics.get(host);
    },
    async challenge(host, scope, res, what) {
      const c = parseChallenge(res.headers.get('www-authenticate') ?? '');
      const creds = credentialsFor(host);
      if (c?.scheme === 'basic') {
        if (!creds || basics.has(host)) throw await registryErrorFrom(res, what);
        basics.set(host, basicOf(creds));
        await res.body?.cancel();
        return;
      }
      if (c?.scheme !== 'bearer' || !c.params.realm) throw await registryErrorFrom(res, what);
      await res.body?.cancel();
      const url = new URL(c.params.realm);
      if (c.params.service) url.searchParams.set('service', c.params.service);
      url.searchParams.set('scope', c.params.scope ?? scope);
      const tokenWhat = `token for ${what} from ${url.origin}`;
      // the token service is as untrusted as the registry: bounded, and watched for stalls
      const stall = createStallGuard(stallTimeoutMs, tokenWhat);
      let text: string;
      try {
        const tokenRes = await doFetch(url, { headers: creds ? { authorization: basicOf(creds) } : {}, signal: stall.signal });
        stall.touch();
        if (!tokenRes.ok) throw await registryErrorFrom(tokenRes, tokenWhat);
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
      tokens.set(`${host} ${scope}`, `Bearer ${token}`);
    },
  };
}
