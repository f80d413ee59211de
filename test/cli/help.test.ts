// Help as a user reads it: every command has --help with its flags, the global flags and
// examples; build's flags sit in groups (a new flag must be given one); and the README's command
// list and the CLI's commands are the same set, so the two never drift.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runTsbuild } from '../_support/tsbuild.ts';

async function commands(): Promise<string[]> {
  const r = await runTsbuild(['--help']);
  const section = r.stdout.slice(r.stdout.indexOf('Commands:'));
  return [...section.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]).filter((c) => c !== 'help');
}

test('every command: --help exits 0 with its usage, the global flags and examples', async (t) => {
  const names = await commands();
  t.true(names.includes('build') && names.length >= 7, names.join(' '));
  for (const name of names) {
    const r = await runTsbuild([name, '--help']);
    t.is(r.code, 0, name);
    t.regex(r.stdout, new RegExp(`^Usage: tsbuild ${name} `, 'm'), name);
    t.regex(r.stdout, /^Global Options:\n(.*\n)*? {2}--root <dir>/m, name);
    t.regex(r.stdout, /^Examples:\n {2}tsbuild /m, name);
  }
});

test('build --help: every flag sits in a group (only -h is left under Options:)', async (t) => {
  const r = await runTsbuild(['build', '--help']);
  for (const heading of ['Input:', 'Output:', 'Cache:', 'RUN sandbox:', 'Execution:']) t.regex(r.stdout, new RegExp(`^${heading}$`, 'm'));
  const options = r.stdout.slice(r.stdout.indexOf('\nOptions:\n') + 10, r.stdout.indexOf('\nGlobal Options:'));
  t.deepEqual(options.trim().split('\n').map((l) => l.trim().split(/\s{2,}/)[0]), ['-h, --help']);
});

test('the README names every command, and every command it names exists', async (t) => {
  const names = await commands();
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const usage = readme.slice(readme.indexOf('## Using it'));
  const block = usage.slice(usage.indexOf('```sh'), usage.indexOf('```', usage.indexOf('```sh') + 5));
  const named = new Set([...block.matchAll(/^tsbuild ([a-z]+)/gm)].map((m) => m[1]));
  t.deepEqual([...named].sort(), [...names].sort());
});
