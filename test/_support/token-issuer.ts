// A small Docker token service (distribution's token auth) for tests: it checks Basic credentials,
// grants the scopes asked for to a known user (pull only to anonymous callers, on `public/`
// repositories), and signs RS256 JWTs with a self-made certificate that the registry trusts
// (its `auth.token.rootcertbundle`; the certificate travels in each token's x5c header).
//
//   const issuer = await startTokenIssuer({ users: { ci: 's3cret' } });
//   const reg = await startRegistry({ token: issuer.registryConfig });
import { execFile } from 'node:child_process';
import { createPrivateKey, createSign, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TokenRequest {
  user: string | undefined;
  scopes: string[];
  method: string;
}

export interface TokenIssuer {
  /** What startRegistry needs to trust this issuer. */
  registryConfig: { realm: string; service: string; issuer: string; rootCertBundle: string };
  /** Every token asked for, in order. */
  requests: TokenRequest[];
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** `refreshTokens` maps identity tokens (OAuth2 refresh tokens, POSTed as a form) to users. */
export async function startTokenIssuer(opts: { users: Record<string, string>; refreshTokens?: Record<string, string>; service?: string }): Promise<TokenIssuer> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-token-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=tsbuild-test-token-issuer']);
  const key = createPrivateKey(await readFile(keyPath));
  const certPem = await readFile(certPath, 'utf8');
  const certDer = Buffer.from(certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const service = opts.service ?? 'tsbuild-test-registry';
  const issuerName = 'tsbuild-test-issuer';
  const requests: TokenRequest[] = [];

  const userOf = (req: IncomingMessage): string | undefined | null => {
    const h = req.headers.authorization;
    if (!h) return undefined;
    const m = /^Basic (.+)$/.exec(h);
    if (!m) return null;
    const [user, ...rest] = Buffer.from(m[1], 'base64').toString('utf8').split(':');
    return opts.users[user] !== undefined && opts.users[user] === rest.join(':') ? user : null;
  };

  const server = createServer(async (req, res) => {
    let params = new URL(req.url ?? '/', 'http://x').searchParams;
    let user = userOf(req);
    if (req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      params = new URLSearchParams(body);
      const refresh = params.get('grant_type') === 'refresh_token' ? params.get('refresh_token') : null;
      user = refresh !== null && opts.refreshTokens?.[refresh] !== undefined ? opts.refreshTokens[refresh] : null;
    }
    const scopes = params.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    requests.push({ user: user ?? undefined, scopes, method: req.method ?? 'GET' });
    if (user === null) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad username or password' }] }));
      return;
    }
    const access = scopes.flatMap((s) => {
      const [type, name, actions] = s.split(':');
      if (type !== 'repository' || !name || !actions) return [];
      const granted = actions.split(',').filter((a) => user !== undefined || (a === 'pull' && name.startsWith('public/')));
      return granted.length > 0 ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = { iss: issuerName, sub: user ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = createSign('sha256').update(signingInput).sign(key);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token: `${signingInput}.${b64url(signature)}`, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  return {
    registryConfig: { realm: `http://127.0.0.1:${port}/token`, service, issuer: issuerName, rootCertBundle: certPath },
    requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
