// Issue 10: `--label`, `--iidfile` and `--metadata-file` as docker buildx reads them: labels over the
// Dockerfile's in the image config (no step reruns for them), the image id in one file, buildx's
// metadata keys in another, and a file that cannot be written is one clear line.
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const work = tempDir('tsbuild-buildfiles-');
const root = join(work, 'root');
const ctx = contextDir({ Dockerfile: 'FROM scratch\nCOPY f.txt /f.txt\nLABEL a=dockerfile b=kept\n', 'f.txt': 'f\n' });
test.after.always(() => [work, ctx].forEach(removeDir));

async function inspect(name: string, format: string): Promise<string> {
  const r = await runTsbuild(['inspect', '--format', format, name], { root });
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

test.serial('--label sets labels over the Dockerfile\'s, adds no history entry and reruns no step', async (t) => {
  const plain = await runTsbuild(['build', '--progress', 'plain', '-t', 'labels:plain', ctx], { root });
  t.is(plain.code, 0, plain.stderr);
  const r = await runTsbuild(['build', '--progress', 'plain', '--label', 'a=cli', '--label', 'c', '--label', 'd=x=y', '-t', 'labels:cli', ctx], { root });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(await inspect('labels:cli', '{{json .Config.Labels}}')), { a: 'cli', b: 'kept', c: '', d: 'x=y' });
  t.deepEqual(JSON.parse(await inspect('labels:plain', '{{json .Config.Labels}}')), { a: 'dockerfile', b: 'kept' });
  t.regex(r.stderr, /COPY f\.txt \/f\.txt\n#\d+ CACHED\n/);
  const history = async (name: string) => (await runTsbuild(['history', '-q', name], { root })).stdout.trim().split('\n').length;
  t.is(await history('labels:cli'), await history('labels:plain'));
  const bad = await runTsbuild(['build', '--label', '=v', ctx], { root });
  t.is(bad.code, 1);
  t.regex(bad.stderr, /--label "=v" has no key/);
});

test.serial('--iidfile holds the image id; --metadata-file buildx\'s keys: manifest and config digests, full names', async (t) => {
  const iid = join(work, 'iid');
  const meta = join(work, 'meta.json');
  const r = await runTsbuild(['build', '--progress', 'quiet', '--iidfile', iid, '--metadata-file', meta, '-t', 'files:1', '-t', 'registry.example:5000/team/files:2', ctx], { root });
  t.is(r.code, 0, r.stderr);
  t.is(readFileSync(iid, 'utf8'), r.stdout.trim(), 'the id, without a newline, as docker writes it');
  t.regex(r.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
  const row = JSON.parse((await runTsbuild(['images', '--format', 'json', 'files'], { root })).stdout.trim().split('\n')[0]) as { Digest: string; ID: string };
  t.deepEqual(JSON.parse(readFileSync(meta, 'utf8')), {
    'containerimage.config.digest': r.stdout.trim(),
    'containerimage.digest': row.Digest,
    'image.name': 'docker.io/library/files:1,registry.example:5000/team/files:2',
  });
  t.true(r.stdout.trim().startsWith(`sha256:${row.ID}`));
});

test.serial('--iidfile with a local or tar output is refused before the build, as buildx does: those write no image', async (t) => {
  for (const output of [`type=local,dest=${join(work, 'files-out')}`, `type=tar,dest=${join(work, 'files.tar')}`]) {
    const r = await runTsbuild(['build', '--progress', 'quiet', '--iidfile', join(work, 'iid-none'), '-o', output, ctx], { root });
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, /^ERROR: --iidfile: the local and tar outputs write files, not an image/m);
    t.false(existsSync(join(work, 'iid-none')));
  }
});

test.serial('an --iidfile or --metadata-file that cannot be written is one clear line, exit 1', async (t) => {
  for (const flag of ['--iidfile', '--metadata-file']) {
    const r = await runTsbuild(['build', '--progress', 'quiet', flag, join(work, 'no', 'such', 'dir', 'f'), ctx], { root });
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, new RegExp(`^ERROR: ${flag} .*/no/such/dir/f: cannot write it \\(ENOENT\\)`, 'm'));
    t.notRegex(r.stderr, /^\s+at /m);
  }
});
