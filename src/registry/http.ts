// HTTP for the registry path and ADD <url> (worker/source/http-source.ts) on node:http and node:https, not fetch: Node's fetch (undici) costs
// ~85 ms of compiling on its first use, a third of a re-push that finds every blob in place.
// What the registry code needs of fetch, and no more: status, headers.get, a node Readable body,
// a Buffer or streamed request body, AbortSignal, redirects of GET/HEAD, keep-alive.
//
//   const agents = createHttpAgents();
//   const res = await httpRequest('https://reg.example/v2/', { headers: { accept: '*/*' }, signal }, agents);
//   if (res.ok) text = await res.text();   // or res.body (a Readable), or res.cancel()
//
// A socket failure rejects with a TypeError('request failed') whose cause is the system error
// (ECONNREFUSED, ENOTFOUND with its hostname, ...), as fetch did with 'fetch failed': errors.ts
// classifies both. An abort rejects with the signal's reason, and errors a body being read with it.
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

export interface HttpHeaders {
  /** The header's value (repeated ones joined with `, `), or null; `name` in any case. */
  get(name: string): string | null;
}

export interface HttpResponse {
  readonly status: number;
  readonly statusText: string;
  /** 200-299. */
  readonly ok: boolean;
  /** The URL that answered, after redirects. */
  readonly url: string;
  readonly headers: HttpHeaders;
  /** The body; null for a HEAD request and for 204/205/304. */
  readonly body: Readable | null;
  /** The body as text, whole (callers that must bound it use readBoundedBody). */
  text(): Promise<string>;
  /** Drops the body unread. */
  cancel(): void;
}

export type HttpBody = string | Uint8Array | URLSearchParams | AsyncIterable<Uint8Array>;

export interface HttpRequestInit {
  method?: string;
  headers?: Record<string, string>;
  /** A Buffer goes with its Content-Length; a stream goes as it is read (chunked unless the caller gives Content-Length). */
  body?: HttpBody;
  signal?: AbortSignal;
}

/** One keep-alive agent per scheme. Idle sockets are unref'd by node's Agent: they never keep the process alive. */
export interface HttpAgents {
  http: http.Agent;
  https: https.Agent;
  /** Closes every socket, idle or not. */
  destroy(): void;
}

export function createHttpAgents(): HttpAgents {
  const plain = new http.Agent({ keepAlive: true });
  // made on its first use: loading node:https (and TLS) cost 3-10 ms of a push to a plain-HTTP
  // registry (the bundle requires a builtin when first read: scripts/bundle-lazy-builtins.ts)
  let secure: https.Agent | undefined;
  return {
    http: plain,
    get https() {
      return (secure ??= new https.Agent({ keepAlive: true }));
    },
    destroy: () => {
      plain.destroy();
      secure?.destroy();
    },
  };
}

// for requests made outside a client (login, token services without one)
let shared: HttpAgents | undefined;
const sharedAgents = () => (shared ??= createHttpAgents());

// what fetch follows; Docker's client stops after 10 redirects
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
export const MaxRedirects = 10;

/** A response whose body was already read into `bytes` (bodiless for 204/205/304 and HEAD). */
export function bufferedResponse(res: HttpResponse, bytes: Buffer): HttpResponse {
  const body = res.body === null ? null : Readable.from(bytes.length > 0 ? [bytes] : []);
  return response(res.status, res.statusText, res.url, res.headers, body);
}

function response(status: number, statusText: string, url: string, headers: HttpHeaders, body: Readable | null): HttpResponse {
  return {
    status,
    statusText,
    ok: status >= 200 && status < 300,
    url,
    headers,
    body,
    async text() {
      if (!body) return '';
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
      return Buffer.concat(chunks).toString('utf8');
    },
    cancel() {
      body?.destroy();
    },
  };
}

function headersOf(raw: http.IncomingHttpHeaders): HttpHeaders {
  return {
    get(name) {
      const v = raw[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    },
  };
}

const requestFailed = (cause: unknown) => new TypeError('request failed', { cause });

/**
 * Sends one request, following redirects for GET and HEAD (the Authorization header is dropped
 * when the redirect leaves the origin, as fetch drops it). Other methods get the 3xx itself.
 */
export async function httpRequest(url: string | URL, init: HttpRequestInit = {}, agents: HttpAgents = sharedAgents()): Promise<HttpResponse> {
  const method = (init.method ?? 'GET').toUpperCase();
  let target = new URL(url);
  let headers = { ...init.headers };
  for (let hops = 0; ; hops++) {
    const res = await requestOnce(target, method, headers, init, agents);
    const location = res.headers.get('location');
    if ((method !== 'GET' && method !== 'HEAD') || !redirectStatuses.has(res.status) || location === null) return res;
    res.cancel();
    if (hops >= MaxRedirects) throw requestFailed(new Error(`more than ${MaxRedirects} redirects (last to ${location})`));
    const next = new URL(location, target);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw requestFailed(new Error(`a redirect to ${next.protocol} is not followed`));
    if (next.origin !== target.origin) {
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
    }
    target = next;
  }
}

function requestOnce(target: URL, method: string, headers: Record<string, string>, init: HttpRequestInit, agents: HttpAgents): Promise<HttpResponse> {
  const { signal } = init;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const secure = target.protocol === 'https:';
  let body = init.body;
  // fetch sent `user-agent: node`; some fronting proxies refuse a request without one
  const sendHeaders: Record<string, string> = { 'user-agent': 'tsbuild', ...headers };
  if (body instanceof URLSearchParams) body = body.toString();
  if (typeof body === 'string') body = Buffer.from(body);
  if (body instanceof Uint8Array && !Object.keys(sendHeaders).some((k) => k.toLowerCase() === 'content-length')) sendHeaders['content-length'] = String(body.length);
  return new Promise<HttpResponse>((resolve, reject) => {
    const req = (secure ? https : http).request(target, { method, headers: sendHeaders, agent: secure ? agents.https : agents.http });
    let res: http.IncomingMessage | undefined;
    let settled = false;
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      reject(e);
    };
    const onAbort = () => {
      // a stall guard aborts after every read to its end too: the connection then stays for the next request
      if (res?.complete) return;
      const reason: unknown = signal?.reason;
      // a body being read fails with the reason, as fetch's did
      if (res) res.destroy(reason instanceof Error ? reason : new Error(String(reason)));
      req.destroy();
      fail(reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e) => fail(signal?.aborted ? signal.reason : requestFailed(e)));
    req.on('response', (incoming) => {
      res = incoming;
      settled = true;
      const done = () => signal?.removeEventListener('abort', onAbort);
      incoming.once('close', done);
      incoming.on('error', () => {
        // reported to whoever reads the body; nobody reading must not crash the process
      });
      const bodiless = method === 'HEAD' || incoming.statusCode === 204 || incoming.statusCode === 205 || incoming.statusCode === 304;
      if (bodiless) incoming.resume();
      resolve(response(incoming.statusCode ?? 0, incoming.statusMessage ?? '', target.toString(), headersOf(incoming.headers), bodiless ? null : incoming));
    });
    if (body === undefined) req.end();
    else if (body instanceof Uint8Array) req.end(body);
    else {
      const source = body instanceof Readable ? body : Readable.from(body, { objectMode: false });
      source.on('error', (e) => {
        req.destroy();
        fail(requestFailed(e));
      });
      req.once('close', () => source.destroy());
      source.pipe(req);
    }
  });
}
