import test from 'ava';
import { expandWord, processWord, processWords } from '../../frontend/index.ts';

const env: Record<string, string> = { PWD: '/home', SHELL: 'bash', NULL: '', FILE: 'dir/a.tar.gz', space: 'abc  def' };
const lookup = (k: string) => env[k];
const word = (w: string) => processWord(w, lookup);

const cases: Array<[string, string]> = [
  ['he$PWD', 'he/home'],
  ['he${PWD}x', 'he/homex'],
  ['he$1x', 'hex'],
  ['$.', '$.'],
  ['he\\$PWD', 'he$PWD'],
  ['he\\\\$PWD', 'he\\/home'],
  ['"he\\$PWD"', 'he$PWD'],
  ["'he$PWD'", 'he$PWD'],
  ['"he\'$PWD\'"', "he'/home'"],
  ['abc\\tdef', 'abctdef'],
  ['"abc\\tdef"', 'abc\\tdef'],
  ['hello\\', 'hello'],
  ['${XXX:-000}', '000'],
  ['${NULL:-000}', '000'],
  ['${NULL-000}', ''],
  ['${XXX-000}', '000'],
  ['${PWD:+yes}', 'yes'],
  ['${NULL:+yes}', ''],
  ['${NULL+yes}', 'yes'],
  ['${XXX:-${PWD:-yyy}}', '/home'],
  ['${PWD?}', '/home'],
  ['${FILE#*.}', 'tar.gz'],
  ['${FILE##*.}', 'gz'],
  ['${FILE%.*}', 'dir/a.tar'],
  ['${FILE%%.*}', 'dir/a'],
  ['${FILE/a/b}', 'dir/b.tar.gz'],
  ['${FILE//a/b}', 'dir/b.tbr.gz'],
  ['${aaa:-bbb}}', 'bbb}'],
];
for (const [input, expected] of cases) {
  test(`expands ${input}`, (t) => t.is(word(input), expected));
}

for (const bad of ['${}', '${PWD', "'open", '"open', '${XXX:?}', '${XXX?must be set}', '${PWD:=x}', '${:}']) {
  test(`rejects ${bad}`, (t) => {
    t.throws(() => word(bad));
  });
}

test('${V:?msg} puts the message in the error', (t) => {
  t.throws(() => word('${XXX:?must be set}'), { message: /XXX: must be set/ });
});

test('words split on spaces from expansions, not on quoted ones', (t) => {
  t.deepEqual(processWords('hello${space}bye', lookup), ['helloabc', 'defbye']);
  t.deepEqual(processWords('hello "${space}"bye', lookup), ['hello', 'abc  defbye']);
  t.deepEqual(processWords('hello\\ there', lookup), ['hello there']);
});

test('a backtick escape token escapes like a backslash', (t) => {
  t.is(processWord('C:\\dir`$PWD', lookup, { escapeToken: '`' }), 'C:\\dir$PWD');
});

test('reports which variables were used and which were unset', (t) => {
  const r = expandWord('$PWD ${NOPE:-x}', lookup);
  t.deepEqual([...r.matched], ['PWD']);
  t.deepEqual([...r.unmatched], ['NOPE']);
});

test('skipUnsetEnv keeps unset references as written', (t) => {
  t.is(processWord('$NOPE ${NOPE:-x} $PWD', lookup, { skipUnsetEnv: true }), '$NOPE ${NOPE:-x} /home');
});
