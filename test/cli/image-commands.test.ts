// Issue 10's image commands as a user runs them: an untagged build is kept and usable by its id,
// tag / rmi / images round trip, inspect's JSON has docker's shape, history, created times, unknown
// images, a closed stdout pipe, version and --help.
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, repoRoot, runTsbuild, tempDir, tsbuildBin } from '../_support/tsbuild.ts';

const work = tempDir('tsbuild-imagecmds-');
const root = join(work, 'root');
let untaggedId = '';

test.before(async () => {
  await buildBusybox(root);
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo untagged > /proof.txt\nENV STAGE=one\n' });
  try {
    const r = await runTsbuild(['build', '--progress', 'quiet', ctx], { root });
    if (r.code !== 0) throw new Error(r.stderr);
    untaggedId = r.stdout.trim();
  } finally {
    removeDir(ctx);
  }
});
test.after.always(() => removeDir(work));

const noStack = (t: { notRegex(s: string, r: RegExp): void }, stderr: string) => {
  t.notRegex(stderr, /^\s+at /m);
  t.notRegex(stderr, /internal error/i);
};

test('an image built without -t is listed as <none> with -a, and FROM <id> / FROM sha256:<id> build on it', async (t) => {
  t.regex(untaggedId, /^sha256:[0-9a-f]{64}$/);
  const short = untaggedId.slice(7, 19);
  const plain = await runTsbuild(['images'], { root });
  t.notRegex(plain.stdout, new RegExp(short), 'dangling images are hidden without -a');
  const all = await runTsbuild(['images', '-a'], { root });
  t.regex(all.stdout, new RegExp(`^<none>\\s+<none>\\s+${short}\\s`, 'm'));
  const dangling = await runTsbuild(['images', '--filter', 'dangling=true', '-q', '--no-trunc'], { root });
  t.is(dangling.stdout, `${untaggedId}\n`);

  for (const from of [short, untaggedId]) {
    const ctx = contextDir({ Dockerfile: `FROM ${from}\nRUN cat /proof.txt > /again.txt\n`, });
    const out = tempDir('tsbuild-imagecmds-out-');
    try {
      const r = await runTsbuild(['build', '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx], { root });
      t.is(r.code, 0, r.stderr);
      t.is(readFileSync(join(out, 'again.txt'), 'utf8'), 'untagged\n');
    } finally {
      removeDir(ctx);
      removeDir(out);
    }
  }
});

test.serial('tag, images and rmi round trip as docker: a shared id needs -f, a name is only untagged', async (t) => {
  t.is((await runTsbuild(['tag', 'busybox', 'team/app:1'], { root })).code, 0);
  t.is((await runTsbuild(['tag', 'busybox:latest', 'team/app:2'], { root })).code, 0);
  const listed = await runTsbuild(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'], { root });
  const busyboxId = /^busybox:latest (\w+)$/m.exec(listed.stdout)?.[1];
  t.truthy(busyboxId, listed.stdout);
  t.regex(listed.stdout, new RegExp(`^team/app:1 ${busyboxId}$`, 'm'));
  t.regex(listed.stdout, new RegExp(`^team/app:2 ${busyboxId}$`, 'm'));
  t.regex((await runTsbuild(['images', 'team/app'], { root })).stdout, /team\/app\s+1[\s\S]*team\/app\s+2/);

  const refused = await runTsbuild(['rmi', busyboxId!], { root });
  t.is(refused.code, 1);
  t.regex(refused.stderr, /unable to delete \w+ \(must be forced\) - image is referenced in multiple repositories/);
  noStack(t, refused.stderr);

  const untag = await runTsbuild(['rmi', 'team/app:1'], { root });
  t.is(untag.code, 0, untag.stderr);
  t.is(untag.stdout, 'Untagged: team/app:1\n');

  // a name the image shares with none: the image keeps its other names
  const viaGroup = await runTsbuild(['image', 'rm', 'team/app:2'], { root });
  t.is(viaGroup.stdout, 'Untagged: team/app:2\n');
  const after = await runTsbuild(['image', 'ls', '--format', 'json'], { root });
  const rows = after.stdout.trim().split('\n').map((l) => JSON.parse(l) as { Repository: string; Tag: string; ID: string });
  t.deepEqual(rows.filter((r) => r.Repository === 'team/app'), []);
  t.true(rows.some((r) => r.Repository === 'busybox' && r.ID === busyboxId));

  // the last name of an image takes the image with it; an id several names share goes with -f
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nLABEL solo=1\n' });
  try {
    const built = await runTsbuild(['build', '--progress', 'quiet', '-t', 'solo', ctx], { root });
    const soloId = built.stdout.trim();
    t.is((await runTsbuild(['rmi', 'solo'], { root })).stdout, `Untagged: solo:latest\nDeleted: ${soloId}\n`);
    t.is((await runTsbuild(['images', '-a', '-q', '--no-trunc'], { root })).stdout.includes(soloId), false);
    await runTsbuild(['build', '--progress', 'quiet', '-t', 'gone:1', ctx], { root });
    t.is((await runTsbuild(['tag', 'gone:1', 'gone:2'], { root })).code, 0);
    t.is((await runTsbuild(['rmi', soloId.slice(7, 15)], { root })).code, 1);
    const forced = await runTsbuild(['rmi', '-f', soloId.slice(7, 15)], { root });
    t.is(forced.stdout, `Untagged: gone:1\nUntagged: gone:2\nDeleted: ${soloId}\n`, forced.stderr);
    t.is((await runTsbuild(['inspect', 'gone:1'], { root })).code, 1);
  } finally {
    removeDir(ctx);
  }
});

test('inspect prints docker\'s JSON shape; --format takes Go templates', async (t) => {
  const r = await runTsbuild(['inspect', 'busybox'], { root });
  t.is(r.code, 0, r.stderr);
  const [img] = JSON.parse(r.stdout) as Record<string, unknown>[];
  for (const key of ['Id', 'RepoTags', 'RepoDigests', 'Created', 'Config', 'RootFS', 'Architecture', 'Os', 'Size']) t.true(key in img, key);
  t.regex(img.Id as string, /^sha256:[0-9a-f]{64}$/);
  t.true((img.RepoTags as string[]).includes('busybox:latest'));
  t.regex((img.RepoDigests as string[])[0], /^busybox@sha256:[0-9a-f]{64}$/);
  t.is(img.Architecture, 'amd64');
  t.is(img.Os, 'linux');
  t.true(Number.isFinite(Date.parse(img.Created as string)), 'Created is a time');
  t.is((img.RootFS as { Type: string }).Type, 'layers');
  t.deepEqual((img.Config as { Cmd: string[] }).Cmd, ['sh']);
  const id = await runTsbuild(['inspect', '--format', '{{.Id}} {{json .Config.Cmd}} {{.Os}}', 'busybox'], { root });
  t.is(id.stdout, `${img.Id as string} ["sh"] linux\n`);
  // by id: the same image
  const byId = JSON.parse((await runTsbuild(['image', 'inspect', (img.Id as string).slice(7, 19)], { root })).stdout) as { Id: string }[];
  t.is(byId[0].Id, img.Id as string);
});

test('history lists the image\'s steps newest first with their sizes and times', async (t) => {
  const r = await runTsbuild(['history', untaggedId.slice(7, 19)], { root });
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.regex(lines[0], /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
  t.regex(lines[1], new RegExp(`^${untaggedId.slice(7, 19)}\\s+.*ago\\s+ENV STAGE=one\\s+0B`));
  t.regex(lines[2], /^<missing>\s+.*RUN \/bin\/sh -c echo untagged > \/proof\.txt/);
  const json = (await runTsbuild(['history', '--format', 'json', '--no-trunc', untaggedId], { root })).stdout.trim().split('\n').map((l) => JSON.parse(l) as { ID: string; CreatedAt: string });
  t.is(json[0].ID, untaggedId);
  t.regex(json[0].CreatedAt, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
});

test('configs and history carry created: build time by default, a no-change rebuild is the same image, SOURCE_DATE_EPOCH is reproducible across roots', async (t) => {
  const files = { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\nENV X=1\n', 'a.txt': 'a\n' };
  const ctx = contextDir(files);
  const roots = [join(work, 'sde-1'), join(work, 'sde-2')];
  try {
    const first = await runTsbuild(['build', '--progress', 'quiet', '-t', 'stamped', ctx], { root: roots[0] });
    const again = await runTsbuild(['build', '--progress', 'quiet', '-t', 'stamped', ctx], { root: roots[0] });
    t.is(first.stdout, again.stdout, 'a no-change rebuild gives the same image id');
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${join(roots[0], 'content')}:stamped:latest`], { encoding: 'utf8' })) as { Created: string | null };
    t.truthy(inspect.Created, 'skopeo sees a created time');
    t.true(Math.abs(Date.parse(inspect.Created!) - Date.now()) < 10 * 60_000);
    const config = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${join(roots[0], 'content')}:stamped:latest`], { encoding: 'utf8' })) as { history: { created?: string }[] };
    t.true(config.history.every((h) => typeof h.created === 'string'), 'every history entry has a time');

    const ids: string[] = [];
    for (const [i, r] of roots.entries()) {
      const env = i === 0 ? { SOURCE_DATE_EPOCH: '1700000000' } : {};
      const args = i === 0 ? ['build', '--progress', 'quiet', '-t', 'sde', ctx] : ['build', '--progress', 'quiet', '--build-arg', 'SOURCE_DATE_EPOCH=1700000000', '-t', 'sde', ctx];
      const b = await runTsbuild(args, { root: r, env });
      t.is(b.code, 0, b.stderr);
      t.notRegex(b.stderr, /not consumed/);
      ids.push(b.stdout);
      const created = await runTsbuild(['inspect', '-f', '{{.Created}}', 'sde'], { root: r });
      t.is(created.stdout, '2023-11-14T22:13:20Z\n');
    }
    t.is(ids[0], ids[1], 'the same image from two roots');
    const bad = await runTsbuild(['build', '--progress', 'quiet', ctx], { root: roots[0], env: { SOURCE_DATE_EPOCH: 'yesterday' } });
    t.is(bad.code, 1);
    t.regex(bad.stderr, /SOURCE_DATE_EPOCH="yesterday" is not a time/);
  } finally {
    removeDir(ctx);
  }
});

test('prune removes dangling images (and what only they held); tagged ones stay', async (t) => {
  const r = join(work, 'prune-root');
  const ctx = contextDir({ Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'dangling\n' });
  const tagged = contextDir({ Dockerfile: 'FROM scratch\nCOPY b.txt /b.txt\n', 'b.txt': 'kept\n' });
  try {
    const id = (await runTsbuild(['build', '--progress', 'quiet', ctx], { root: r })).stdout.trim();
    t.is((await runTsbuild(['build', '--progress', 'quiet', '-t', 'kept', tagged], { root: r })).code, 0);
    t.is((await runTsbuild(['images', '-a', '-q', '--no-trunc', '-f', 'dangling=true'], { root: r })).stdout, `${id}\n`);
    const p = await runTsbuild(['prune', '-f'], { root: r });
    t.is(p.code, 0, p.stderr);
    t.is((await runTsbuild(['images', '-a', '--format', '{{.Repository}}'], { root: r })).stdout, 'kept\n');
  } finally {
    removeDir(ctx);
    removeDir(tagged);
  }
});

test('an unknown image is a clear error from every command, without a stack', async (t) => {
  for (const args of [['inspect', 'nosuch:1'], ['history', 'nosuch:1'], ['rmi', 'nosuch:1'], ['tag', 'nosuch:1', 'x:1'], ['save', '-o', join(work, 'x.tar'), 'nosuch:1'], ['push', '127.0.0.1:9/nosuch:1'], ['inspect', 'sha256:0000000000000000000000000000000000000000000000000000000000000000']]) {
    const r = await runTsbuild(args, { root });
    t.is(r.code, 1, args.join(' '));
    t.regex(r.stderr, /ERROR: no such image: (nosuch:1|127\.0\.0\.1:9\/nosuch:1|sha256:0+)/, args.join(' '));
    noStack(t, r.stderr);
  }
  const bad = await runTsbuild(['tag', 'busybox', 'Bad Name'], { root });
  t.is(bad.code, 1);
  t.regex(bad.stderr, /invalid image reference "Bad Name"/);
});

test('a command whose stdout reader has gone away exits quietly (tsbuild images | head -1)', async (t) => {
  const child = spawn(process.execPath, [tsbuildBin, '--root', root, 'images', '-a', '--format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // the reader goes away at once, as `head -1` does after its line
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  t.true(code === 0 || code === 141, `exit code ${code}`);
  t.notRegex(stderr, /EPIPE|^\s+at /m, stderr);
});

test('version prints the package version; every image command has --help with examples', async (t) => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const v = await runTsbuild(['version']);
  t.regex(v.stdout, new RegExp(`Version:\\s+${pkg.version.replace(/\./g, '\\.')}`));
  t.is((await runTsbuild(['version', '--format', '{{.Version}}'])).stdout, `${pkg.version}\n`);
  for (const cmd of ['images', 'inspect', 'history', 'tag', 'rmi', 'push', 'pull', 'save', 'load', 'version']) {
    const h = await runTsbuild([cmd, '--help']);
    t.is(h.code, 0, cmd);
    t.regex(h.stdout, /Examples:\n  tsbuild /, cmd);
  }
});

test('load of a directory says what load takes and what to do', async (t) => {
  const load = await runTsbuild(['load', '-i', work], { root });
  t.is(load.code, 1);
  t.regex(load.stderr, /^ERROR: cannot load .*: it is a directory; load takes a tar archive/m);
  t.notRegex(load.stderr, /EISDIR|^\s+at /m);
});

test('rmi takes out a name whose image cannot be read any more (its config blob gone)', async (t) => {
  const r = join(work, 'broken');
  await buildBusybox(r);
  t.is((await runTsbuild(['tag', 'busybox', 'broken:1'], { root: r })).code, 0);
  const id = JSON.parse((await runTsbuild(['inspect', 'busybox'], { root: r })).stdout)[0].Id as string;
  rmSync(join(r, 'content', 'blobs', 'sha256', id.slice(7)));
  const listing = await runTsbuild(['images'], { root: r });
  t.is(listing.code, 1, 'the listing says the store is damaged');
  t.regex(listing.stderr, /^hint: remove it: tsbuild rmi (busybox:latest broken:1|broken:1 busybox:latest)$/m);
  // a sound image goes too, though the store holds one it cannot read
  const sound = await buildOther(r);
  t.is((await runTsbuild(['rmi', sound], { root: r })).code, 0);
  for (const name of ['busybox', 'broken:1']) {
    const removed = await runTsbuild(['rmi', name], { root: r });
    t.is(removed.code, 0, removed.stderr);
    t.regex(removed.stdout, /^Untagged: /m);
  }
  const images = await runTsbuild(['images'], { root: r });
  t.is(images.code, 0, images.stderr);
});

/** Builds a small image of its own in `r` (not on busybox) and returns its name. */
async function buildOther(r: string): Promise<string> {
  const ctx = contextDir({ Dockerfile: 'FROM scratch\nCOPY f /f\n', f: 'sound\n' });
  try {
    const b = await runTsbuild(['build', '--progress', 'quiet', '-t', 'sound:1', ctx], { root: r });
    if (b.code !== 0) throw new Error(b.stderr);
    return 'sound:1';
  } finally {
    removeDir(ctx);
  }
}
