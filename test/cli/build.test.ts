// The first real build, as a user meets it: the fixtures build on the busybox base tsbuild makes
// itself, land in the local store, rebuild fully from the cache, and fail with clear errors.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, repoRoot, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { parseRawJson } from '../_support/rawjson.ts';

const root = tempDir('tsbuild-root-');
const hello = join(repoRoot, 'fixtures', 'hello');

test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => removeDir(root));

const snapshotCount = () => readdirSync(join(root, 'snapshots')).length;
const blobCount = () => readdirSync(join(root, 'content', 'blobs', 'sha256')).length;

test.serial('the hello fixture builds into the local store and `tsbuild images` lists it', async (t) => {
  const r = await runTsbuild(['build', '--progress', 'plain', '-t', 'hello', hello], { root });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /RUN chmod 755 greet.sh/);
  const images = await runTsbuild(['images'], { root });
  t.is(images.code, 0, images.stderr);
  t.regex(images.stdout, /^REPOSITORY\s+TAG\s+IMAGE ID/m);
  t.regex(images.stdout, /^hello\s+latest\s+[0-9a-f]{12}/m);
  t.regex(images.stdout, /^busybox\s+latest\s+[0-9a-f]{12}/m);
  // the store is itself an OCI layout that skopeo reads
  const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${join(root, 'content')}:hello:latest`], { encoding: 'utf8' })) as { Labels: Record<string, string>; Env: string[] };
  t.is(inspect.Labels['org.opencontainers.image.title'], 'hello');
  t.true(inspect.Env.includes('GREETING=hello'));
});

test.serial('building the same context again reports every step CACHED, runs no container and writes no layer', async (t) => {
  const before = { snapshots: snapshotCount(), blobs: blobCount() };
  const r = await runTsbuild(['build', '--progress', 'rawjson', '-t', 'hello', hello], { root });
  t.is(r.code, 0, r.stderr);
  const events = parseRawJson(r.stderr);
  const started = events.filter((e) => e.type === 'vertex.started' && !/^\[internal\]|exporting/.test(e.vertex!.name));
  t.deepEqual(started.map((e) => e.vertex!.name), [], 'no step ran');
  const cached = events.filter((e) => e.type === 'vertex.cached').map((e) => e.vertex!.name);
  t.true(cached.some((n) => n.includes('RUN chmod 755 greet.sh')));
  t.true(cached.some((n) => n.includes('COPY --from=assets')));
  t.deepEqual({ snapshots: snapshotCount(), blobs: blobCount() }, before);
});

test.serial('touching a file keeps the cache; changing one reruns only what reads it', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt > /copy.txt\nCOPY b.txt /b.txt\n', 'a.txt': 'one\n', 'b.txt': 'two\n' });
  try {
    t.is((await runTsbuild(['build', '--progress', 'plain', ctx], { root })).code, 0);
    const later = new Date(Date.now() + 60_000);
    const { utimesSync } = await import('node:fs');
    utimesSync(join(ctx, 'a.txt'), later, later);
    const touched = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
    t.regex(touched.stderr, /COPY a\.txt \/a\.txt\n#\d+ CACHED/);
    writeFileSync(join(ctx, 'b.txt'), 'changed\n');
    const changed = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
    t.is(changed.code, 0, changed.stderr);
    t.regex(changed.stderr, /RUN cat \/a\.txt > \/copy\.txt\n#\d+ CACHED/);
    t.regex(changed.stderr, /COPY b\.txt \/b\.txt\n#\d+ cache miss: b\.txt content changed \(since the build of [^)]*\)\n#\d+ DONE/);
  } finally {
    removeDir(ctx);
  }
});

test('a RUN that fails names the step, the command, the exit code and its last output', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo preparing\nRUN echo "about to fail" && echo "on stderr" >&2 && exit 3\n' });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
    t.is(r.code, 1);
    t.regex(r.stderr, /ERROR: .*Dockerfile:3: .*RUN echo "about to fail"/);
    t.regex(r.stderr, /exit code: 3/);
    t.regex(r.stderr, / > about to fail/);
    t.regex(r.stderr, / > on stderr/);
    t.notRegex(r.stderr, /^\s+at /m, 'no stack trace');
  } finally {
    removeDir(ctx);
  }
});

test('a missing COPY source is one clear line with file, line and a suggestion', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\n\nCOPY src/mian.c /app/\n', 'src/main.c': 'int main(){}\n' });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
    t.is(r.code, 1);
    const first = r.stderr.split('\n').find((l) => l.startsWith('ERROR'));
    t.regex(first ?? '', /Dockerfile:3: .*"src\/mian\.c" not found in the build context/);
    t.regex(r.stderr, /did you mean "src\/main\.c"\?/);
    t.notRegex(r.stderr, /^\s+at /m);
  } finally {
    removeDir(ctx);
  }
});

test('a Dockerfile syntax error names the file and line without building anything', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUNN echo hi\n' });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
    t.is(r.code, 1);
    t.regex(r.stderr, /ERROR: Dockerfile:2: unknown instruction: RUNN/i);
    t.regex(r.stderr, /did you mean RUN\?/);
    t.notRegex(r.stderr, /^\s+at /m);
  } finally {
    removeDir(ctx);
  }
});

test('a missing context or Dockerfile is a one-line error', async (t) => {
  const r = await runTsbuild(['build', '/nonexistent-context'], { root });
  t.is(r.code, 1);
  t.regex(r.stderr, /^ERROR: build context "\/nonexistent-context" is not a directory$/m);
  const empty = tempDir();
  try {
    const r2 = await runTsbuild(['build', empty], { root });
    t.is(r2.code, 1);
    t.regex(r2.stderr, /^ERROR: no Dockerfile at /m);
  } finally {
    removeDir(empty);
  }
});

test('--help and --version answer without a state root', async (t) => {
  const help = await runTsbuild(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /build \[options\] <context>/);
  const version = await runTsbuild(['--version']);
  t.regex(version.stdout, /^\d+\.\d+\.\d+/);
  t.is(statSync(tsbuildBinPath()).mode & 0o111, 0o111);
});

function tsbuildBinPath(): string {
  return join(repoRoot, 'bin', 'tsbuild.js');
}

test('SIGTERM to tsbuild (through the Node 20 launcher hop when there is one) stops the build and leaves no mount', async (t) => {
  const { spawn } = await import('node:child_process');
  const { existsSync, readFileSync } = await import('node:fs');
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN sleep 3600\n' });
  // a root of its own: the file's other tests build in the shared one at the same time, and
  // their mounts are not this build's leftovers
  const root = tempDir('tsbuild-root-');
  try {
    await buildBusybox(root);
    // the system node (20 here) re-runs tsbuild under Node 24: the hop must pass the signal on
    const node = existsSync('/usr/bin/node') ? '/usr/bin/node' : process.execPath;
    const child = spawn(node, [tsbuildBinPath(), '--root', root, 'build', '--no-cache', '--progress', 'plain', ctx], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = Date.now();
    while (!stderr.includes('RUN sleep 3600') && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGTERM');
    // the RUN sleeps an hour: ending at all shows the signal stopped it (no clock bound, which load moves)
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    t.log(`stopped ${Date.now() - started} ms after the build started`);
    t.not(code, 0);
    t.regex(stderr, /cancelled/);
    t.false(readFileSync('/proc/self/mountinfo', 'utf8').includes(root), 'no mount left under the state root');
  } finally {
    removeDir(ctx);
    removeDir(root);
  }
});

test('a COPY of a .dockerignore\'d file names the .dockerignore line that excludes it', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM scratch\nCOPY app/.env /\n', 'app/.env': 'SECRET=1\n', '.dockerignore': '# local settings stay local\n*.md\n**/.env\n' });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, /ERROR: Dockerfile:2: .*"app\/\.env" is excluded by \.dockerignore line 3 \("\*\*\/\.env"\)/);
  } finally {
    removeDir(ctx);
  }
});

test('bin/tsbuild.js runs as a user starts it: through its shebang (with its Node flags), with the machine\'s node or Node 24 first on PATH', async (t) => {
  const { shebangNodeFlags } = await import('../../cli/bin-flags.ts');
  const bin = tsbuildBinPath();
  t.deepEqual(shebangNodeFlags(bin), ['--max-semi-space-size=4', '--max-old-space-size=1536']);
  const node24Dir = join(repoRoot, 'node_modules', '.bin');
  for (const path of [process.env.PATH ?? '/usr/bin:/bin', `${node24Dir}:${process.env.PATH ?? '/usr/bin:/bin'}`]) {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8', env: { ...process.env, PATH: path } });
    t.regex(out, /^\d+\.\d+\.\d+/m, `PATH=${path}`);
  }
});
