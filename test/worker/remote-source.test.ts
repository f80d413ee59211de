import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isTsbuildError } from '../../src/errors/index.ts';
import type { GitSource, HttpSource } from '../../src/llb/index.ts';
import { fileNameOf } from '../../worker/source/http-source.ts';
import { createTestWorker, type TestWorker } from './_setup.ts';
import { gitOp, gitRepo } from './_git.ts';

const fsOf = (w: TestWorker, id: string, p = '') => join(w.root, 'snapshots', id, 'fs', p);
const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function serve(routes: Record<string, { body: string | Buffer; headers?: Record<string, string>; status?: number }>): Promise<{ base: string; hits: Map<string, number>; server: Server }> {
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    hits.set(req.url!, (hits.get(req.url!) ?? 0) + 1);
    const r = routes[req.url!];
    if (!r) {
      res.writeHead(404).end('nope');
      return;
    }
    res.writeHead(r.status ?? 200, r.headers ?? {}).end(r.body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server };
}

const httpOp = (url: string, extra: Partial<HttpSource> = {}): HttpSource => ({ kind: 'source', source: 'http', url, ...extra });

test('an http source is one file, 0600, named from the URL or Content-Disposition, mtime from Last-Modified', async (t) => {
  const tarball = gzipSync('not extracted');
  const { base, server } = await serve({
    '/files/tool.tar.gz': { body: tarball, headers: { 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT' } },
    '/download?id=3': { body: 'report', headers: { 'content-disposition': 'attachment; filename="report.csv"' } },
    '/dir/': { body: 'listing' },
  });
  const w = await createTestWorker();
  try {
    const a = await w.worker.run(httpOp(`${base}/files/tool.tar.gz`), [], w.ctx);
    t.deepEqual(readdirSync(fsOf(w, a)), ['tool.tar.gz']);
    const s = lstatSync(fsOf(w, a, 'tool.tar.gz'));
    t.deepEqual([s.mode & 0o7777, s.uid, s.gid, s.mtime.toISOString()], [0o600, 0, 0, '2015-10-21T07:28:00.000Z']);
    t.deepEqual(readFileSync(fsOf(w, a, 'tool.tar.gz')), tarball, 'remote archives are not extracted');
    const b = await w.worker.run(httpOp(`${base}/download?id=3`, { chmod: 0o644 }), [], w.ctx);
    t.deepEqual(readdirSync(fsOf(w, b)), ['report.csv']);
    t.is(lstatSync(fsOf(w, b, 'report.csv')).mode & 0o7777, 0o644);
    const c = await w.worker.run(httpOp(`${base}/dir/`, { filename: 'named' }), [], w.ctx);
    t.deepEqual(readdirSync(fsOf(w, c)), ['named']);
    t.is(fileNameOf('http://x/dir/', null), 'index');
    t.is(fileNameOf('http://x/a/b%20c.txt', null), 'b c.txt');
    t.is(fileNameOf('http://x/a', 'attachment; filename="../../etc/passwd"'), 'passwd');
  } finally {
    server.close();
    await w.cleanup();
  }
});

test('--checksum is verified: a mismatch names the URL and both digests', async (t) => {
  const { base, server } = await serve({ '/f': { body: 'payload' } });
  const w = await createTestWorker();
  try {
    const ok = await w.worker.run(httpOp(`${base}/f`, { checksum: sha('payload') }), [], w.ctx);
    t.is(readFileSync(fsOf(w, ok, 'f'), 'utf8'), 'payload');
    const wrong = sha('other');
    const e = await t.throwsAsync(w.worker.run(httpOp(`${base}/f`, { checksum: wrong }), [], w.ctx));
    t.true(isTsbuildError(e) && e.code === 'DIGEST_MISMATCH');
    t.is(e?.message, `${base}/f: downloaded content has digest ${sha('payload')}, but --checksum says ${wrong}`);
  } finally {
    server.close();
    await w.cleanup();
  }
});

test('resolveSource keys an http source by its body and the snapshot in that session reuses the download; errors are clear', async (t) => {
  const routes = { '/v': { body: 'v1' } };
  const { base, hits, server } = await serve(routes);
  const w = await createTestWorker();
  const downloads = () => readdirSync(join(w.root, 'tmp')).filter((n) => n.startsWith('http-'));
  try {
    const session = w.worker.openSession();
    t.is(await session.resolveSource(httpOp(`${base}/v`)), sha('v1'));
    const id = await w.worker.run(httpOp(`${base}/v`), [], { ...w.ctx, session });
    t.is(readFileSync(fsOf(w, id, 'v'), 'utf8'), 'v1');
    t.is(hits.get('/v'), 1);
    t.is(downloads().length, 1, 'the download is kept while the session is open');
    await session.close();
    t.deepEqual(downloads(), [], 'closing the session removes its download');
    await t.throwsAsync(session.resolveSource(httpOp(`${base}/v`)), { message: 'the build is over: its session on the worker is closed' });
    // the next session asks the server again, and sees what it serves now
    routes['/v'].body = 'v2';
    const next = w.worker.openSession();
    t.is(await next.resolveSource(httpOp(`${base}/v`)), sha('v2'));
    await next.close();
    t.is(hits.get('/v'), 2);
    // a run outside any session downloads for itself and leaves nothing behind
    const alone = await w.worker.run(httpOp(`${base}/v`), [], w.ctx);
    t.is(readFileSync(fsOf(w, alone, 'v'), 'utf8'), 'v2');
    t.deepEqual(downloads(), []);
    const e = await t.throwsAsync(w.worker.run(httpOp(`${base}/missing`), [], w.ctx));
    t.is(e?.message, `cannot download ${base}/missing: the server answered 404 Not Found`);
    const closed = await serve({});
    closed.server.close();
    const refused = await t.throwsAsync(w.worker.run(httpOp(`${closed.base}/x`), [], w.ctx));
    t.regex(refused?.message ?? '', /^cannot download http:\/\/127\.0\.0\.1:\d+\/x: .*ECONNREFUSED/);
  } finally {
    server.close();
    await w.cleanup();
  }
});

test('ADD follows up to 10 redirects on the registry client, names the file after the URL asked for, decodes a gzip transfer; more, or to another scheme, is a clear error', async (t) => {
  const redirects: Record<string, { body: string | Buffer; headers?: Record<string, string>; status?: number }> = {
    '/real/payload.bin': { body: gzipSync('the payload'), headers: { 'content-encoding': 'gzip', 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT' } },
    '/to-file': { body: '', status: 302, headers: { location: 'file:///etc/passwd' } },
  };
  for (let i = 0; i < 11; i++) redirects[`/r${i}`] = { body: '', status: i % 2 ? 301 : 307, headers: { location: `/r${i + 1}` } };
  redirects['/r10'] = { body: '', status: 302, headers: { location: '/real/payload.bin' } };
  const { base, hits, server } = await serve(redirects);
  const w = await createTestWorker();
  try {
    const id = await w.worker.run(httpOp(`${base}/r1`, { checksum: sha('the payload') }), [], w.ctx);
    t.deepEqual(readdirSync(fsOf(w, id)), ['r1'], 'named after the URL in the Dockerfile, as BuildKit');
    t.is(readFileSync(fsOf(w, id, 'r1'), 'utf8'), 'the payload');
    t.is(lstatSync(fsOf(w, id, 'r1')).mtime.toISOString(), '2015-10-21T07:28:00.000Z');
    t.is(hits.get('/real/payload.bin'), 1);
    const tooMany = await t.throwsAsync(w.worker.run(httpOp(`${base}/r0`), [], w.ctx));
    t.is(tooMany?.message, `cannot download ${base}/r0: more than 10 redirects (last to /real/payload.bin)`);
    t.is(hits.get('/real/payload.bin'), 1, 'the 11th redirect is not followed');
    const scheme = await t.throwsAsync(w.worker.run(httpOp(`${base}/to-file`), [], w.ctx));
    t.is(scheme?.message, `cannot download ${base}/to-file: a redirect to file: is not followed`);
    t.deepEqual(readdirSync(join(w.root, 'tmp')).filter((n) => n.startsWith('http-')), [], 'no partial download left');
  } finally {
    server.close();
    await w.cleanup();
  }
});

test('a session its build never closed has its download removed when the worker closes', async (t) => {
  const { base, server } = await serve({ '/v': { body: 'v1' } });
  const w = await createTestWorker();
  try {
    await w.worker.openSession().resolveSource(httpOp(`${base}/v`));
    t.is(readdirSync(join(w.root, 'tmp')).filter((n) => n.startsWith('http-')).length, 1);
    await w.worker.close();
    t.deepEqual(readdirSync(join(w.root, 'tmp')).filter((n) => n.startsWith('http-')), []);
  } finally {
    server.close();
    await w.cleanup();
  }
});

test('a git source checks out a branch, a tag or a commit, without .git unless asked', async (t) => {
  const { dir, commits } = gitRepo();
  const url = `file://${dir}/repo.git`;
  const w = await createTestWorker();
  try {
    const head = await w.worker.run(gitOp(url), [], w.ctx);
    t.is(readFileSync(fsOf(w, head, 'README'), 'utf8'), 'two');
    t.false(existsSync(fsOf(w, head, '.git')));
    t.is(lstatSync(fsOf(w, head, 'run.sh')).mode & 0o111, 0o111);
    const tag = await w.worker.run(gitOp(url, { ref: 'v1', keepGitDir: true }), [], w.ctx);
    t.is(readFileSync(fsOf(w, tag, 'README'), 'utf8'), 'one');
    t.true(existsSync(fsOf(w, tag, '.git')));
    const byCommit = await w.worker.run(gitOp(join(dir, 'repo.git'), { ref: commits[0] }), [], w.ctx);
    t.is(readFileSync(fsOf(w, byCommit, 'README'), 'utf8'), 'one');
    const session = w.worker.openSession();
    t.teardown(() => session.close());
    t.is(await session.resolveSource(gitOp(url, { ref: 'main' })), commits[1]);
    t.is(await session.resolveSource(gitOp(url, { ref: 'v1' })), commits[0], 'an annotated tag resolves to its commit');
    t.is(await session.resolveSource(gitOp(url)), commits[1]);
    const e = await t.throwsAsync(session.resolveSource(gitOp(url, { ref: 'nope' })));
    t.is(e?.message, `git ref "nope" not found in ${url}`);
    const missing = await t.throwsAsync(w.worker.run(gitOp(`file://${dir}/absent.git`), [], w.ctx));
    t.regex(missing?.message ?? '', /^git ls-remote file:\/\/.*absent\.git failed: /);
  } finally {
    await w.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

// serial: it sets the stall timeout in this process's environment
test.serial('an ADD URL whose server sends a few bytes and then nothing fails once the stall timeout passes, leaving no download', async (t) => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': '1000000' });
    res.write('0123456789');
    // ... and nothing more, ever
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const before = process.env.TSBUILD_REGISTRY_STALL_TIMEOUT;
  process.env.TSBUILD_REGISTRY_STALL_TIMEOUT = '1';
  const w = await createTestWorker();
  try {
    // the server never sends the rest: the stall timeout's message shows it ended the download
    const e = await t.throwsAsync(w.worker.run(httpOp(`${base}/big.tar`), [], w.ctx));
    t.true(isTsbuildError(e));
    t.is(e?.message, `cannot download ${base}/big.tar: the server sent nothing for 1 s, the transfer stalled`);
    t.deepEqual(readdirSync(join(w.root, 'tmp')).filter((n) => n.startsWith('http-')), [], 'no partial download left');
  } finally {
    if (before === undefined) delete process.env.TSBUILD_REGISTRY_STALL_TIMEOUT;
    else process.env.TSBUILD_REGISTRY_STALL_TIMEOUT = before;
    server.closeAllConnections();
    server.close();
    await w.cleanup();
  }
});
