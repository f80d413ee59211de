// `tsbuild config`, `--config FILE`, `$TSBUILD_CONFIG` and the [build] table, through the CLI a
// user runs: which file is read, what each key's value is and where it came from, and that a
// [build] default changes what a build does while a flag still overrides it.
import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const dir = tempDir('tsbuild-config-cli-');
const root = join(dir, 'root');
const env = { XDG_CONFIG_HOME: join(dir, 'xdg'), TSBUILD_CONFIG: '' };
test.after.always(() => removeDir(dir));

test.serial('without a file: every key at its default, and where tsbuild looked', async (t) => {
  const r = await runTsbuild(['config'], { root, env });
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.startsWith(`config file: none (looked for ${join(root, 'tsbuild.toml')}, ${join(dir, 'xdg', 'tsbuild', 'tsbuild.toml')})\n`), r.stdout);
  t.regex(r.stdout, /^\[limits\]$/m);
  t.regex(r.stdout, /^# memory +# default: unlimited; memory of each RUN/m);
  t.regex(r.stdout, /^# keep-storage +# default: 10% of the filesystem, at most 20 GiB: [\d.]+ GiB here;/m);
  t.regex(r.stdout, /^# network +# default: default;/m);
});

test.serial('the root\'s file: values with FILE:LINE; json; --config and $TSBUILD_CONFIG win; a missing one is an error', async (t) => {
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'tsbuild.toml'), '# mine\n[limits]\nmemory = "2g"\n\n[build]\nmax-parallelism = 3\n');
  const r = await runTsbuild(['config'], { root, env });
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.startsWith(`config file: ${join(root, 'tsbuild.toml')}\n`));
  t.regex(r.stdout, new RegExp(`^memory = "2g" +# from ${join(root, 'tsbuild.toml')}:3;`, 'm'));
  t.regex(r.stdout, new RegExp(`^max-parallelism = 3 +# from ${join(root, 'tsbuild.toml')}:6;`, 'm'));

  const json = JSON.parse((await runTsbuild(['config', '--format', 'json'], { root, env })).stdout) as { path: string; rows: { key: string; value: unknown; source: string }[] };
  t.is(json.path, join(root, 'tsbuild.toml'));
  t.deepEqual(json.rows.find((x) => x.key === 'limits.memory'), { key: 'limits.memory', value: '2g', source: `${join(root, 'tsbuild.toml')}:3`, defaultText: 'unlimited', description: 'memory of each RUN, e.g. "2g"' });
  t.is(json.rows.find((x) => x.key === 'limits.cpus')?.source, 'default');

  const other = join(dir, 'ci.toml');
  writeFileSync(other, '[gc]\nenabled = false\n');
  for (const run of [runTsbuild(['--config', other, 'config'], { root, env }), runTsbuild(['config'], { root, env: { ...env, TSBUILD_CONFIG: other } })]) {
    const o = await run;
    t.is(o.code, 0, o.stderr);
    t.true(o.stdout.startsWith(`config file: ${other}\n`), o.stdout);
    t.regex(o.stdout, new RegExp(`^enabled = false +# from ${other}:2;`, 'm'));
    t.regex(o.stdout, /^# memory +# default/m);
  }
  const missing = await runTsbuild(['--config', join(dir, 'nope.toml'), 'config'], { root, env });
  t.is(missing.code, 1);
  t.regex(missing.stderr, new RegExp(`the config file ${join(dir, 'nope.toml')} \\(from --config\\) does not exist`));
  t.notRegex(missing.stderr, /\n\s+at /);
});

test.serial('a bad key stops every command with the file and line, before anything runs', async (t) => {
  const bad = join(dir, 'bad.toml');
  writeFileSync(bad, '[build]\nnetwork = "bridge"\n');
  for (const args of [['config'], ['build', '.']]) {
    const r = await runTsbuild(['--config', bad, ...args], { root, env });
    t.is(r.code, 1, args.join(' '));
    t.regex(r.stderr, new RegExp(`${bad}:2: build\\.network must be one of "default", "sandbox", "none", "host"`));
  }
});

test.serial('[build] network = "none" is the build\'s default; --network on the command line overrides it', async (t) => {
  await buildBusybox(root);
  const cfg = join(dir, 'none.toml');
  writeFileSync(cfg, '[build]\nnetwork = "none"\n');
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN ip -o link | cut -d: -f2 | tr -d " " | sed "s/^/link=/" | sed "s/@.*//"\n' });
  try {
    const links = async (args: string[]) => {
      const r = await runTsbuild(['--config', cfg, 'build', '--progress', 'plain', '--no-cache', ...args, ctx], { root, env });
      t.is(r.code, 0, r.stderr);
      return [...r.stderr.matchAll(/^#\d+ [\d.]+ link=(\S+)$/gm)].map((m) => m[1]).sort();
    };
    t.deepEqual(await links([]), ['lo']);
    t.true((await links(['--network', 'default'])).length > 1);
  } finally {
    removeDir(ctx);
  }
});

test.serial('[build] runtime chooses the OCI runtime RUN steps start with', async (t) => {
  // crun (1.8) gives a container /dev/core (a link to /proc/kcore), runc does not: what a step can see of the choice
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN if [ -L /dev/core ]; then echo runtime=crun; else echo runtime=runc; fi\n' });
  const seen = async (file: string | undefined) => {
    const r = await runTsbuild([...(file ? ['--config', file] : []), 'build', '--progress', 'plain', '--no-cache', ctx], { root, env });
    t.is(r.code, 0, r.stderr);
    return /^#\d+ [\d.]+ runtime=(\w+)$/m.exec(r.stderr)?.[1];
  };
  try {
    const runc = join(dir, 'runc.toml');
    writeFileSync(runc, '[build]\nruntime = "runc"\n');
    t.is(await seen(runc), 'runc');
    const { execFileSync } = await import('node:child_process');
    let hasCrun = true;
    try {
      execFileSync('sh', ['-c', 'command -v crun']);
    } catch {
      hasCrun = false;
    }
    if (hasCrun) {
      const crun = join(dir, 'crun.toml');
      writeFileSync(crun, '[build]\nruntime = "crun"\n');
      t.is(await seen(crun), 'crun');
    } else t.log('crun is not installed: only runc checked');
  } finally {
    removeDir(ctx);
  }
});
