import test from 'ava';
import { createVertex, canonicalJson } from '../../src/llb/index.ts';

test('canonical JSON sorts keys at every depth and drops undefined', (t) => {
  t.is(canonicalJson({ b: 1, a: { d: undefined, c: [2, { z: 1, y: 2 }] } }), '{"a":{"c":[2,{"y":2,"z":1}]},"b":1}');
});

test('vertex digest ignores metadata but follows the op and its inputs', (t) => {
  const src = createVertex({ kind: 'source', source: 'local', name: 'context', excludePatterns: [] }, [], { name: 'a' });
  const same = createVertex({ kind: 'source', source: 'local', name: 'context', excludePatterns: [] }, [], { name: 'renamed' });
  const other = createVertex({ kind: 'source', source: 'local', name: 'other', excludePatterns: [] }, [], { name: 'a' });
  t.is(src.digest, same.digest);
  t.not(src.digest, other.digest);
  const file = (input: typeof src) => createVertex({ kind: 'file', actions: [{ action: 'mkdir', path: '/x', mode: 0o755, makeParents: true }] }, [input], { name: 'f' });
  t.not(file(src).digest, file(other).digest);
});
