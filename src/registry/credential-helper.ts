// The docker-credential-* helper protocol (github.com/docker/docker-credential-helpers): a program
// `docker-credential-NAME` on PATH, run with one verb and its input on stdin:
//   get    stdin: the server URL        stdout: {"ServerURL","Username","Secret"}
//   store  stdin: {"ServerURL","Username","Secret"}
//   erase  stdin: the server URL
// A Username of `<token>` means Secret is an identity token (an OAuth2 refresh token).
//
//   const creds = await runCredentialHelper('pass', 'get', 'reg.example.com');
import { spawn } from 'node:child_process';
import { ErrorCodes, TsbuildError } from '../errors/index.ts';
import { dockerConfigPath } from './docker-config.ts';

export type CredentialHelperVerb = 'get' | 'store' | 'erase' | 'list';

// a helper unlocking a keychain may ask the user; a minute covers that, and a hung one fails
const helperTimeoutMs = 60_000;
// an answer is one small JSON object; more is a broken helper
const maxOutputBytes = 1024 * 1024;

/** What helpers print when they have nothing for a server: not an error for `get` and `erase`. */
const notFoundPattern = /credentials not found/i;

export interface HelperCredentials {
  username: string;
  /** A password, or an identity token when `identityToken` is set. */
  secret: string;
  identityToken: boolean;
}

function helperError(name: string, verb: string, why: string, cause?: unknown): TsbuildError {
  return new TsbuildError(`credential helper docker-credential-${name} ${verb}: ${why}`, {
    code: ErrorCodes.CREDENTIALS_UNAVAILABLE,
    kind: 'unavailable',
    cause,
    hint: `check that docker-credential-${name} is on PATH and works (echo SERVER | docker-credential-${name} get), or remove it from ${dockerConfigPath()}`,
  });
}

/** Runs `docker-credential-NAME VERB` with `input`; resolves with stdout, or undefined when the helper has no credentials for the server. */
function runHelper(name: string, verb: CredentialHelperVerb, input: string): Promise<string | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) return Promise.reject(helperError(name, verb, 'the helper name may hold only letters, digits, ".", "_" and "-"'));
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${name}`, [verb], { stdio: ['pipe', 'pipe', 'pipe'], timeout: helperTimeoutMs });
    const out: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    const collect = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxOutputBytes) {
        tooLarge = true;
        child.kill('SIGKILL');
      } else out.push(chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (e: NodeJS.ErrnoException) => reject(helperError(name, verb, e.code === 'ENOENT' ? 'the program is not installed' : e.message, e)));
    child.stdin.on('error', () => {
      // a helper that exits without reading its input: its exit status says the rest
    });
    child.once('close', (code, signal) => {
      const text = Buffer.concat(out).toString('utf8').trim();
      if (tooLarge) return reject(helperError(name, verb, `it printed more than ${maxOutputBytes} bytes`));
      if (signal) return reject(helperError(name, verb, signal === 'SIGTERM' ? `no answer within ${helperTimeoutMs / 1000} s` : `killed by ${signal}`));
      if (code === 0) return resolve(text);
      if ((verb === 'get' || verb === 'erase') && notFoundPattern.test(text)) return resolve(undefined);
      // the helper's message, never the input: it may hold a secret on `store`
      reject(helperError(name, verb, `exit status ${code}${text ? `: ${text.split('\n')[0].slice(0, 200)}` : ''}`));
    });
    child.stdin.end(input);
  });
}

/** The credentials helper `name` holds for `serverUrl`; undefined when it has none. */
export async function credentialHelperGet(name: string, serverUrl: string): Promise<HelperCredentials | undefined> {
  const text = await runHelper(name, 'get', serverUrl);
  if (text === undefined || text === '') return undefined;
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw helperError(name, 'get', 'the answer is not JSON');
  }
  if (typeof parsed.Secret !== 'string' || parsed.Secret === '') return undefined;
  const username = typeof parsed.Username === 'string' ? parsed.Username : '';
  return username === '<token>' ? { username: '', secret: parsed.Secret, identityToken: true } : { username, secret: parsed.Secret, identityToken: false };
}

/** Stores credentials for `serverUrl` in helper `name`. */
export async function credentialHelperStore(name: string, serverUrl: string, username: string, secret: string): Promise<void> {
  await runHelper(name, 'store', JSON.stringify({ ServerURL: serverUrl, Username: username, Secret: secret }));
}

/** Erases what helper `name` holds for `serverUrl`; resolves also when it held nothing. */
export async function credentialHelperErase(name: string, serverUrl: string): Promise<void> {
  await runHelper(name, 'erase', serverUrl);
}
