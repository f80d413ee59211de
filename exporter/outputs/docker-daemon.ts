// type=docker without dest (and `--load`): the image goes into the local Docker daemon, as
// buildx does, through the Engine API's `POST /images/load` with the docker archive as the body
// (what `docker load` sends). The daemon is where the docker CLI looks: DOCKER_HOST
// (unix:///path or tcp://host:port), else /var/run/docker.sock.
import { request } from 'node:http';
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { BlobReader } from '../../src/content/index.ts';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import type { ImageView } from '../types.ts';
import { openStreamTarSink } from '../sink.ts';
import type { DockerArchiveSpec } from './docker.ts';
import { writeDockerArchive } from './docker.ts';

export interface DockerDaemon {
  /** As a user would name it: `unix:///var/run/docker.sock`. */
  label: string;
  connect: Pick<RequestOptions, 'socketPath' | 'host' | 'port'>;
}

const hint = 'start Docker, set DOCKER_HOST to where it listens, or write an archive instead: -o type=docker,dest=image.tar';

/** Where the docker CLI would talk to; throws OUTPUT_FAILED for a DOCKER_HOST tsbuild cannot speak to. */
export function dockerDaemon(env: NodeJS.ProcessEnv = process.env): DockerDaemon {
  const host = env.DOCKER_HOST?.trim() || 'unix:///var/run/docker.sock';
  if (host.startsWith('unix://')) return { label: host, connect: { socketPath: host.slice('unix://'.length) } };
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(host);
  if (tcp) {
    // the Engine API in clear is 2375, with TLS 2376: tsbuild speaks only the former
    if (env.DOCKER_TLS_VERIFY) throw unavailable(`cannot load into the Docker daemon at ${host}: DOCKER_TLS_VERIFY is set and tsbuild does not speak TLS to Docker`);
    return { label: host, connect: { host: tcp[1].replace(/^\[|\]$/g, ''), port: Number(tcp[2] ?? 2375) } };
  }
  throw unavailable(`cannot load into the Docker daemon: DOCKER_HOST=${host} is neither unix:///PATH nor tcp://HOST:PORT`);
}

function unavailable(message: string, cause?: unknown): TsbuildError {
  return new TsbuildError(message, { code: ErrorCodes.OUTPUT_FAILED, kind: 'unavailable', hint, cause });
}

function readBody(res: IncomingMessage, limit = 1 << 20): Promise<string> {
  return new Promise((resolveBody, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      // a daemon's answer is a few lines; a flood is cut, not buffered
      if (text.length < limit) text += chunk;
    });
    res.on('end', () => resolveBody(text));
    res.on('error', reject);
  });
}

/** Resolves when the daemon answers `GET /_ping`; throws OUTPUT_FAILED saying where it looked. */
export async function pingDocker(daemon: DockerDaemon, signal?: AbortSignal): Promise<void> {
  try {
    await new Promise<void>((ok, fail) => {
      const req = request({ ...daemon.connect, method: 'GET', path: '/_ping', timeout: 10_000, signal }, (res) => {
        readBody(res).then((body) => (res.statusCode === 200 ? ok() : fail(new Error(`HTTP ${res.statusCode}: ${body.trim().slice(0, 200)}`))), fail);
      });
      req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
      req.on('error', fail);
      req.end();
    });
  } catch (e) {
    signal?.throwIfAborted();
    throw unavailable(`cannot load into the Docker daemon: nothing answers at ${daemon.label} (${(e as Error).message})`, e);
  }
}

/** The daemon's JSON lines: `{"stream":"Loaded image: app:1\n"}` or `{"error":"…"}`. */
export function parseLoadAnswer(body: string): { loaded: string[]; error?: string } {
  const loaded: string[] = [];
  for (const line of body.split('\n')) {
    if (!line.trim()) continue;
    let msg: { stream?: unknown; error?: unknown; errorDetail?: { message?: unknown }; message?: unknown };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      continue;
    }
    const error = msg.errorDetail?.message ?? msg.error ?? (msg.stream === undefined ? msg.message : undefined);
    if (typeof error === 'string') return { loaded, error };
    if (typeof msg.stream === 'string') {
      const m = /^Loaded image(?: ID)?: (.+)$/m.exec(msg.stream);
      if (m) loaded.push(m[1].trim());
    }
  }
  return { loaded };
}

/** Streams the docker archive of `view` into the daemon; returns what it says it loaded. */
export async function loadIntoDocker(view: ImageView, out: DockerArchiveSpec, content: BlobReader, opts: { daemon?: DockerDaemon; signal?: AbortSignal } = {}): Promise<string[]> {
  const daemon = opts.daemon ?? dockerDaemon();
  const { signal } = opts;
  let req: ClientRequest | undefined;
  const answer = new Promise<IncomingMessage>((ok, fail) => {
    req = request({ ...daemon.connect, method: 'POST', path: '/images/load?quiet=1', headers: { 'content-type': 'application/x-tar' }, signal }, ok);
    req.on('error', fail);
  });
  answer.catch(() => {});
  const sink = openStreamTarSink(req!, `the Docker daemon at ${daemon.label}`, signal);
  try {
    await writeDockerArchive(sink, view, out, content);
  } catch (e) {
    await sink.abort();
    signal?.throwIfAborted();
    // the daemon may have refused early and closed the upload: its words say more than EPIPE
    const said = await Promise.race([
      answer.then(readBody).then((b) => parseLoadAnswer(b).error, () => undefined),
      new Promise<undefined>((r) => setTimeout(r, 1000, undefined).unref()),
    ]);
    if (said) throw loadError(daemon, said, e);
    throw e;
  }
  let res: IncomingMessage;
  let body: string;
  try {
    res = await answer;
    body = await readBody(res);
  } catch (e) {
    signal?.throwIfAborted();
    throw unavailable(`loading into the Docker daemon at ${daemon.label} failed: ${(e as Error).message}`, e);
  }
  const parsed = parseLoadAnswer(body);
  if (res.statusCode !== 200 || parsed.error) throw loadError(daemon, parsed.error ?? `HTTP ${res.statusCode}: ${body.trim().slice(0, 300)}`);
  return parsed.loaded;
}

function loadError(daemon: DockerDaemon, said: string, cause?: unknown): TsbuildError {
  return new TsbuildError(`the Docker daemon at ${daemon.label} refused the image: ${said}`, { code: ErrorCodes.OUTPUT_FAILED, kind: 'unavailable', cause });
}
