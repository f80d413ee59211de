// `login` as Docker does it: check the credentials against the registry (GET /v2/, answering its
// challenge: Basic, or a token fetched with them), then save them in the Docker config, in its
// credential helper when one is configured. `logout` removes them again.
//
//   const { server } = await loginToRegistry({ server: '127.0.0.1:5000', credentials: { username: 'ci', password: 's3cret' } });
import { ErrorCodes, TsbuildError, invalid } from '../errors/index.ts';
import { createAuthenticator } from './auth.ts';
import { isPlainHttpHost } from './client.ts';
import { dockerConfigPath, eraseDockerCredentials, storeDockerCredentials, type Credentials } from './docker-config.ts';
import { RegistryError, registryErrorFrom, unreachable } from './errors.ts';
import { httpRequest } from './http.ts';
import { DefaultDomain, registryHost } from './reference.ts';

export interface LoginOptions {
  /** As typed: `127.0.0.1:5000`, `https://reg.example.com/v1/`, `docker.io`; default Docker Hub. */
  server?: string;
  credentials: Credentials;
  insecureRegistries?: readonly string[];
  /** The Docker config file; default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
  configPath?: string;
}

export interface LoginResult {
  /** The registry as shown: `docker.io`, `127.0.0.1:5000`. */
  server: string;
  /** The config file written. */
  path: string;
  /** The credential helper that holds the secret; undefined when it is in the file (base64, not encrypted). */
  helper?: string;
}

const hubNames = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** `https://reg.example.com:5000/v1/` → `reg.example.com:5000`; Docker Hub's names → `docker.io`. Throws REFERENCE_INVALID. */
export function parseServerName(text: string | undefined): string {
  if (text === undefined || text.trim() === '') return DefaultDomain;
  const host = text.trim().replace(/^https?:\/\//, '').split('/')[0].toLowerCase();
  if (!/^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[a-f0-9:]+\])(?::[0-9]+)?$/.test(host)) {
    throw invalid(ErrorCodes.REFERENCE_INVALID, `"${text}" is not a registry host name`, { hint: 'give the registry as HOST or HOST:PORT, e.g. registry.example.com:5000' });
  }
  return hubNames.has(host) ? DefaultDomain : host;
}

/**
 * Checks `credentials` against the registry and saves them. Throws a denied RegistryError when
 * the registry refuses them, REGISTRY_ERROR (unavailable) when it cannot be reached, and
 * CONFIG_INVALID / CREDENTIALS_UNAVAILABLE when they cannot be saved. Nothing is saved on failure.
 */
export async function loginToRegistry(opts: LoginOptions): Promise<LoginResult> {
  const server = parseServerName(opts.server);
  const { username, password } = opts.credentials;
  if (username === '' || password === '') throw invalid(ErrorCodes.OPTION_INVALID, `login to ${server}: ${username === '' ? 'the username' : 'the password'} is empty`);
  await verifyCredentials(server, opts.credentials, opts.insecureRegistries ?? []);
  const saved = await storeDockerCredentials(registryHost(server), opts.credentials, opts.configPath ?? dockerConfigPath());
  return { server, ...saved };
}

/** Removes saved credentials for the registry; `removed` is false when there were none. */
export async function logoutFromRegistry(opts: { server?: string; configPath?: string }): Promise<{ server: string; removed: boolean }> {
  const server = parseServerName(opts.server);
  return { server, removed: await eraseDockerCredentials(registryHost(server), opts.configPath ?? dockerConfigPath()) };
}

async function verifyCredentials(server: string, credentials: Credentials, insecure: readonly string[]): Promise<void> {
  const host = registryHost(server);
  const url = `${isPlainHttpHost(host, insecure) ? 'http' : 'https'}://${host}/v2/`;
  const what = `login to ${server} as ${credentials.username}`;
  const auth = createAuthenticator({ credentials: () => credentials });
  const get = async (authorization?: string) => {
    try {
      return await httpRequest(url, { headers: authorization ? { authorization } : {}, signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      if ((e as Error).name === 'TimeoutError') throw new TsbuildError(`${what}: the registry did not answer within 30 s`, { code: ErrorCodes.REGISTRY_ERROR, kind: 'unavailable' });
      throw unreachable(server, e);
    }
  };
  let res = await get();
  if (res.status === 401) {
    // an empty scope: login asks for a token for the account, not for a repository
    await auth.challenge(host, [], res, what).catch((e: unknown) => {
      if (e instanceof RegistryError && e.kind === 'denied') e.hint = 'check the username and password';
      throw e;
    });
    const sent = auth.header(host, []);
    res = await get(sent);
    if (res.status === 401) {
      const e = await registryErrorFrom(res, what);
      e.hint = 'check the username and password';
      throw e;
    }
  }
  if (!res.ok) throw await registryErrorFrom(res, what);
  res.cancel();
}
