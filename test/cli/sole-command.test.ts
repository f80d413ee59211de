// cli/main.ts soleCommand: a command line registers only the command it runs, unless it asks for
// help or a version or names no command (then commander needs them all: help, "did you mean").
import test from 'ava';
import { soleCommand } from '../../cli/main.ts';
import { runTsbuild } from '../_support/tsbuild.ts';

const names = ['build', 'images', 'image', 'tag'];

test('the first word after the global options, when it names a command and nothing asks for help', (t) => {
  t.is(soleCommand(['build', '-t', 'x', '.'], names), 'build');
  t.is(soleCommand(['--root', 'build', 'images'], names), 'images', 'an option value is not a command');
  t.is(soleCommand(['--root=/r', '--config', 'c.toml', 'tag', 'a', 'b'], names), 'tag');
  t.is(soleCommand(['build', '--help'], names), undefined);
  t.is(soleCommand(['-v'], names), undefined);
  t.is(soleCommand(['biuld', '.'], names), undefined);
  t.is(soleCommand(['help', 'build'], names), undefined);
  t.is(soleCommand([], names), undefined);
});

test('a command line with one command behaves as with all of them: its errors, the suggestions for a typo', async (t) => {
  const typo = await runTsbuild(['biuld', '.']);
  t.is(typo.code, 2);
  t.regex(typo.stderr, /unknown command 'biuld'[\s\S]*Did you mean build\?/);
  const option = await runTsbuild(['build', '--no-such-flag', '.']);
  t.is(option.code, 2);
  t.regex(option.stderr, /unknown option '--no-such-flag'/);
  const missing = await runTsbuild(['tag', 'a']);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /missing required argument 'target'/i);
});
