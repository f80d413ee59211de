// Registry credentials where Docker keeps them: `$DOCKER_CONFIG/config.json`, else
// `~/.docker/config.json`. The order is Docker's (cli/config/configfile):
//   credHelpers[host]  a docker-credential-* helper for this registry
//   credsStore         a helper for every registry
//   auths[host]        `auth` (base64 user:password), `username`/`password`, or `identitytoken`
// Docker Hub's entries are keyed by its legacy URL `https://index.docker.io/v1/`; other registries
// by host (`reg.example.com:5000`), also found when written as a URL (`https://reg.example.com/v1/`).
// Writing keeps every key Docker or other tools put in the file, and the file mode 0600.
//
//   const creds = await resolveDockerCredentials('127.0.0.1:5000');
//   await storeDockerCredentials('127.0.0.1:5000', { username: 'ci', password: 's3cret' });
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ErrorCodes, TsbuildError, invalid } from '../errors/index.ts';
import { credentialHelperErase, credentialHelperGet, credentialHelperStore } from './credential-helper.ts';
import { makeDirs } from '../fs/index.ts';

export interface Credentials {
  username: string;
  password: string;
  /** An OAuth2 refresh token (`identitytoken`): exchanged at the token service instead of the password. */
  identityToken?: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  [key: string]: unknown;
}

export interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [key: string]: unknown;
}

/** Where Docker's config file is: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
}

const hubKey = 'https://index.docker.io/v1/';
const hubHosts = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** The key Docker files a registry's credentials under: Docker Hub's legacy URL, else the host. */
export function dockerConfigKey(host: string): string {
  return hubHosts.has(host) ? hubKey : host;
}

/** The host a config key names (Docker's ConvertToHostname): `https://reg:5000/v1/` → `reg:5000`. */
function hostOfKey(key: string): string {
  const host = key.replace(/^https?:\/\//, '').split('/')[0];
  return hubHosts.has(host) ? 'docker.io' : host;
}

const sameRegistry = (key: string, host: string) => hostOfKey(key) === (hubHosts.has(host) ? 'docker.io' : host);

function parseConfig(text: string, path: string): DockerConfigFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw invalid(ErrorCodes.CONFIG_INVALID, `${path}: not valid JSON (${(e as Error).message})`, { hint: 'fix or remove the file; docker login writes it' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid(ErrorCodes.CONFIG_INVALID, `${path}: not a JSON object`);
  const doc = parsed as DockerConfigFile;
  const isMap = (v: unknown) => v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v));
  if (!isMap(doc.auths) || !isMap(doc.credHelpers) || (doc.credsStore !== undefined && typeof doc.credsStore !== 'string')) {
    throw invalid(ErrorCodes.CONFIG_INVALID, `${path}: "auths" and "credHelpers" must be objects and "credsStore" a string`);
  }
  return doc;
}

/** The config file's contents; an empty config when there is no file. Throws CONFIG_INVALID for a malformed one. */
export async function readDockerConfig(path = dockerConfigPath()): Promise<DockerConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return {};
    throw new TsbuildError(`cannot read ${path}: ${(e as Error).message}`, { code: ErrorCodes.CREDENTIALS_UNAVAILABLE, kind: 'unavailable', cause: e });
  }
  return parseConfig(text, path);
}

/** Writes the whole config, as Docker does: a temp file renamed over it, mode 0600, its folder 0700 when new. */
export async function writeDockerConfig(doc: DockerConfigFile, path = dockerConfigPath()): Promise<void> {
  await makeDirs(dirname(path), { mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(doc, null, '\t')}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

function fromEntry(entry: AuthEntry): Credentials | undefined {
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
    return { username: typeof entry.username === 'string' ? entry.username : '', password: '', identityToken: entry.identitytoken };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string' && entry.username !== '') return { username: entry.username, password: entry.password };
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

function authEntryFor(doc: DockerConfigFile, host: string): AuthEntry | undefined {
  const auths = doc.auths ?? {};
  // the exact key first, then any key naming the same host
  const exact = auths[dockerConfigKey(host)];
  if (exact) return exact;
  const key = Object.keys(auths).find((k) => sameRegistry(k, host));
  return key === undefined ? undefined : auths[key];
}

/** The helper that holds `host`'s credentials: its credHelpers entry, else credsStore. */
export function credentialHelperFor(doc: DockerConfigFile, host: string): string | undefined {
  const helpers = doc.credHelpers ?? {};
  const key = Object.keys(helpers).find((k) => sameRegistry(k, host));
  const name = key === undefined ? doc.credsStore : helpers[key];
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/**
 * Credentials for `host` (as the API is reached: `registry-1.docker.io`, `127.0.0.1:5000`) from the
 * Docker config: its helper, else its `auths` entry. Undefined when there are none.
 * Throws CONFIG_INVALID (malformed file) or CREDENTIALS_UNAVAILABLE (a helper failed).
 */
export async function resolveDockerCredentials(host: string, path = dockerConfigPath()): Promise<Credentials | undefined> {
  const doc = await readDockerConfig(path);
  const helper = credentialHelperFor(doc, host);
  if (helper) {
    const got = await credentialHelperGet(helper, dockerConfigKey(host));
    if (got) return got.identityToken ? { username: '', password: '', identityToken: got.secret } : { username: got.username, password: got.secret };
  }
  const entry = authEntryFor(doc, host);
  return entry ? fromEntry(entry) : undefined;
}

/** Credentials for `host` from the file's `auths` only (no helpers); undefined when there are none or the file is unreadable. */
export function readDockerCredentials(host: string, path = dockerConfigPath()): Credentials | undefined {
  try {
    const entry = authEntryFor(parseConfig(readFileSync(path, 'utf8'), path), host);
    return entry ? fromEntry(entry) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Saves credentials for `host` as `docker login` does: in the registry's helper when one is
 * configured (the file then keeps an empty `auths` entry), else base64 in `auths`. Returns where.
 */
export async function storeDockerCredentials(host: string, creds: Credentials, path = dockerConfigPath()): Promise<{ helper?: string; path: string }> {
  const doc = await readDockerConfig(path);
  const key = dockerConfigKey(host);
  const helper = credentialHelperFor(doc, host);
  const auths: Record<string, AuthEntry> = { ...(doc.auths ?? {}) };
  for (const k of Object.keys(auths)) if (k !== key && sameRegistry(k, host)) delete auths[k];
  if (helper) {
    await credentialHelperStore(helper, key, creds.identityToken ? '<token>' : creds.username, creds.identityToken ?? creds.password);
    auths[key] = {};
  } else {
    auths[key] = creds.identityToken ? { identitytoken: creds.identityToken } : { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  }
  await writeDockerConfig({ ...doc, auths }, path);
  return { helper, path };
}

/** Removes `host`'s credentials from its helper and the file. Resolves false when there were none. */
export async function eraseDockerCredentials(host: string, path = dockerConfigPath()): Promise<boolean> {
  const doc = await readDockerConfig(path);
  const auths: Record<string, AuthEntry> = { ...(doc.auths ?? {}) };
  const keys = Object.keys(auths).filter((k) => sameRegistry(k, host));
  const helper = credentialHelperFor(doc, host);
  if (helper) await credentialHelperErase(helper, dockerConfigKey(host));
  if (keys.length === 0) return helper !== undefined;
  for (const k of keys) delete auths[k];
  await writeDockerConfig({ ...doc, auths }, path);
  return true;
}
