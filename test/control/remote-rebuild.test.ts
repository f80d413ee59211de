// Issue 8 item 6: one engine keeps its worker for many builds, so what an ADD <url> or ADD <git>
// fetched must belong to the build that fetched it. The next build asks the server again: a
// changed file or a moved branch runs the step and lands in the image, an unchanged one is cached,
// and no build leaves its download in <root>/tmp.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { openEngine, parseOutputSpec, resolveBuildOptions, type BuildResult, type Engine } from '../../control/index.ts';
import type { ProgressEvent } from '../../src/progress/index.ts';
import { serveGitHttp } from '../_support/git-http.ts';
import { contextDir, removeDir, tempDir } from '../_support/tsbuild.ts';
import { gitRepo, pushCommit } from '../worker/_git.ts';

/** A server on 127.0.0.1 answering each path with `handle`; how often each path was asked. */
async function serve(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ base: string; hits: Map<string, number>; close(): void }> {
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    hits.set(req.url!, (hits.get(req.url!) ?? 0) + 1);
    handle(req, res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

interface Built {
  result: BuildResult;
  /** The image's filesystem, written out by the same build (type=local). */
  files: string;
  /** Names of the steps that ran (vertex.started). */
  started: string[];
  /** The image's layer digests, as `skopeo inspect` lists them. */
  layers: string[];
}

/** One build of `context` on `engine`, tagged `tag`, its filesystem also written to a fresh dir under `out`. */
async function build(engine: Engine, context: string, tag: string, out: string): Promise<Built> {
  const files = join(out, `${tag}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const events: ProgressEvent[] = [];
  const options = resolveBuildOptions({ context: '.', tags: [tag], outputs: [parseOutputSpec('type=image'), parseOutputSpec(`type=local,dest=${files}`)] }, context);
  const result = await engine.build(options, { progress: { emit: (e) => events.push(e as ProgressEvent) } });
  const started = events.flatMap((e) => (e.type === 'vertex.started' && e.vertex.digest !== 'export' ? [e.vertex.name] : []));
  const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${join(engine.root, 'content')}:${tag}:latest`], { encoding: 'utf8' })) as { Layers: string[] };
  return { result, files, started, layers: inspect.Layers };
}

const downloadsLeft = (root: string) => readdirSync(join(root, 'tmp')).filter((n) => n.startsWith('http-'));

test('ADD <url> without a checksum on one engine: a changed file runs the step again with the new content, an unchanged one is cached', async (t) => {
  let body = 'one\n';
  const server = await serve((_req, res) => res.writeHead(200).end(body));
  const root = tempDir('tsbuild-root-');
  const out = tempDir('tsbuild-out-');
  const ctx = contextDir({ Dockerfile: `FROM scratch\nADD ${server.base}/file /f\n` });
  try {
    const engine = await openEngine({ root });
    try {
      const first = await build(engine, ctx, 'app', out);
      t.is(readFileSync(join(first.files, 'f'), 'utf8'), 'one\n');
      t.true(first.started.some((n) => n.includes('ADD')), first.started.join(', '));
      t.deepEqual(downloadsLeft(root), [], 'the build removed its download');
      t.is(server.hits.get('/file'), 1, 'the key and the step shared one download');

      body = 'two\n';
      const second = await build(engine, ctx, 'app', out);
      t.is(readFileSync(join(second.files, 'f'), 'utf8'), 'two\n', 'the second build has the new content');
      t.true(second.started.some((n) => n.includes('ADD')), 'the ADD step ran again');
      t.true(second.result.ran > 0);
      t.notDeepEqual(second.layers, first.layers, 'the image has a new layer');
      t.deepEqual(downloadsLeft(root), []);
      t.is(server.hits.get('/file'), 2);

      const third = await build(engine, ctx, 'app', out);
      t.is(third.result.ran, 0, `nothing ran: ${third.started.join(', ')}`);
      t.true(third.result.cached > 0);
      t.deepEqual(third.layers, second.layers);
      t.is(readFileSync(join(third.files, 'f'), 'utf8'), 'two\n');
      t.deepEqual(downloadsLeft(root), []);
    } finally {
      await engine.close();
    }
  } finally {
    server.close();
    for (const d of [root, out, ctx]) removeDir(d);
  }
});

test('ADD <git url>#main on one engine: a moved branch runs the step again with the new commit, an unmoved one is cached', async (t) => {
  const repo = gitRepo();
  const server = await serveGitHttp(repo.dir);
  const root = tempDir('tsbuild-root-');
  const out = tempDir('tsbuild-out-');
  const ctx = contextDir({ Dockerfile: `FROM scratch\nADD ${server.base}/repo.git#main /src\n` });
  try {
    const engine = await openEngine({ root });
    try {
      const first = await build(engine, ctx, 'app', out);
      t.is(readFileSync(join(first.files, 'src/README'), 'utf8'), 'two');

      pushCommit(repo.dir, 'three');
      const second = await build(engine, ctx, 'app', out);
      t.is(readFileSync(join(second.files, 'src/README'), 'utf8'), 'three', 'the second build checked out the new commit');
      t.true(second.started.some((n) => n.includes('ADD')), 'the ADD step ran again');
      t.notDeepEqual(second.layers, first.layers);

      const third = await build(engine, ctx, 'app', out);
      t.is(third.result.ran, 0, `nothing ran: ${third.started.join(', ')}`);
      t.deepEqual(third.layers, second.layers);
      t.is(readFileSync(join(third.files, 'src/README'), 'utf8'), 'three');
    } finally {
      await engine.close();
    }
  } finally {
    await server.close();
    for (const d of [root, out, ctx, repo.dir]) removeDir(d);
  }
});

test('two builds at once on one engine ADD the same URL: each downloads it for itself, and the one that ends first leaves the other\'s download alone', async (t) => {
  // both builds' requests are held until both have come (or 10 s passed): had they shared one
  // download, only one would come; /slow keeps build B going after build A has ended
  const waiting: (() => void)[] = [];
  const server = await serve((req, res) => {
    if (req.url === '/slow') return void setTimeout(() => res.writeHead(200).end('slow\n'), 1000);
    waiting.push(() => res.writeHead(200).end('shared\n'));
    if (waiting.length === 2) for (const answer of waiting.splice(0)) answer();
  });
  const release = setTimeout(() => {
    for (const answer of waiting.splice(0)) answer();
  }, 10_000);
  const root = tempDir('tsbuild-root-');
  const out = tempDir('tsbuild-out-');
  const a = contextDir({ Dockerfile: `FROM scratch\nADD ${server.base}/file /a\n` });
  const b = contextDir({ Dockerfile: `FROM scratch\nADD ${server.base}/slow /slow\nADD ${server.base}/file /b\n` });
  try {
    const engine = await openEngine({ root });
    try {
      const [builtA, builtB] = await Promise.all([build(engine, a, 'app-a', out), build(engine, b, 'app-b', out)]);
      t.is(server.hits.get('/file'), 2, 'one download per build');
      t.is(readFileSync(join(builtA.files, 'a'), 'utf8'), 'shared\n');
      t.is(readFileSync(join(builtB.files, 'b'), 'utf8'), 'shared\n');
      t.is(readFileSync(join(builtB.files, 'slow'), 'utf8'), 'slow\n');
      t.deepEqual(downloadsLeft(root), []);
    } finally {
      await engine.close();
    }
  } finally {
    clearTimeout(release);
    server.close();
    for (const d of [root, out, a, b]) removeDir(d);
  }
});

test('a build that fails or is cancelled after downloading leaves no download in tmp, and the engine builds on', async (t) => {
  let hung: (() => void) | undefined;
  const asked = new Set<string>();
  let bothAsked: () => void;
  const askedBoth = new Promise<void>((ok) => (bothAsked = ok));
  const server = await serve((req, res) => {
    asked.add(req.url!);
    if (asked.has('/file') && asked.has('/hang')) bothAsked();
    if (req.url === '/file') return void res.writeHead(200).end('body\n');
    if (req.url === '/hang') return void (hung = () => res.writeHead(200).end('late\n'));
    res.writeHead(404).end();
  });
  const root = tempDir('tsbuild-root-');
  const out = tempDir('tsbuild-out-');
  const failing = contextDir({ Dockerfile: `FROM scratch\nADD ${server.base}/file /f\nADD ${server.base}/missing /g\n` });
  const hanging = contextDir({ Dockerfile: `FROM scratch\nADD ${server.base}/file /f\nADD ${server.base}/hang /h\n` });
  const good = contextDir({ Dockerfile: `FROM scratch\nADD ${server.base}/file /f\n` });
  try {
    const engine = await openEngine({ root });
    try {
      await t.throwsAsync(build(engine, failing, 'failing', out), { message: /missing: the server answered 404/ });
      t.deepEqual(downloadsLeft(root), [], 'the failed build removed what it had downloaded');

      const cancel = new AbortController();
      const options = resolveBuildOptions({ context: '.', tags: ['hanging'] }, hanging);
      const running = engine.build(options, { progress: { emit() {} }, signal: cancel.signal });
      await askedBoth;
      // /file is downloaded (a few bytes) well before this; /hang is under way
      await new Promise((ok) => setTimeout(ok, 200));
      cancel.abort(new Error('cancelled by the test'));
      await t.throwsAsync(running);
      t.deepEqual(downloadsLeft(root), [], 'the cancelled build removed what it had downloaded');

      const after = await build(engine, good, 'good', out);
      t.is(readFileSync(join(after.files, 'f'), 'utf8'), 'body\n');
      t.deepEqual(downloadsLeft(root), []);
    } finally {
      await engine.close();
    }
  } finally {
    hung?.();
    server.close();
    for (const d of [root, out, failing, hanging, good]) removeDir(d);
  }
});
