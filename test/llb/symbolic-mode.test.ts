// --chmod in symbolic notation, against what chmod(1) (BSD setmode, as BuildKit's dchapes-mode) does.
import test from 'ava';
import { applySymbolicMode, parseSymbolicMode } from '../../src/llb/index.ts';

const apply = (text: string, mode: number, isDir = false) => applySymbolicMode(parseSymbolicMode(text)!, mode, isDir);

test('who, op and perms as chmod(1)', (t) => {
  t.is(apply('+x', 0o644), 0o755);
  t.is(apply('go-r', 0o755), 0o711);
  t.is(apply('a=,u+rw', 0o777), 0o600);
  t.is(apply('u=rwx,go=rx', 0o600), 0o755);
  t.is(apply('a-w', 0o666), 0o444);
  t.is(apply('u+r-w', 0o200), 0o400, 'several ops after one who');
});

test('X is executable only for directories or entries already executable by someone', (t) => {
  t.is(apply('u=rwX,go=rX', 0o600), 0o644);
  t.is(apply('u=rwX,go=rX', 0o700), 0o755);
  t.is(apply('u=rwX,go=rX', 0o600, true), 0o755);
  t.is(apply('+X', 0o610), 0o711);
});

test('copying classes: g=u, o=u-w, u+g', (t) => {
  t.is(apply('g=u', 0o744), 0o774);
  t.is(apply('o=u-w', 0o750), 0o755);
  t.is(apply('u+g', 0o070), 0o770);
});

test('set-id and sticky bits, ignored for "other" alone', (t) => {
  t.is(apply('u+s,g+s,+t', 0o755), 0o7755);
  t.is(apply('o+s', 0o755), 0o755);
  t.is(apply('o+t', 0o755), 0o755);
  t.is(apply('=', 0o7777), 0o1000, '= clears all but sticky when no who is given');
});

test('what is not a symbolic mode', (t) => {
  for (const text of ['', '755', 'rwx', 'u', 'u+z', 'x+u', 'u+r,', ',u+r', 'a+r;']) t.is(parseSymbolicMode(text), undefined, text);
});
