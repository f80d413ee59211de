// Who owns what a copy writes, and the mode of the directories it makes around its sources, as
// BuildKit's copier does them (the oracle cases copy-from-stage, copy-dir-dest-mode and
// context-root-mode compare the same against Docker).
import test from 'ava';
import { chmodSync, lchownSync, lstatSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { copy, fsOf, withCopy } from './_copy.ts';

const owner = (p: string) => {
  const s = lstatSync(p);
  return [s.uid, s.gid];
};
const mode = (p: string) => lstatSync(p).mode & 0o7777;

test('without --chown a snapshot source keeps its owners and a local context becomes 0:0', (t) =>
  withCopy({ 'src/f': 'F', 'src/sub/g': 'G' }, async (w, ctx, apply) => {
    symlinkSync('f', join(ctx, 'src/link'));
    for (const p of ['src', 'src/f', 'src/sub', 'src/sub/g', 'src/link']) lchownSync(join(ctx, p), 7, 8);
    const staged = await apply([copy(['/src'], '/out/', { chown: { user: '7', group: '8' } })]);
    const base = await w.busybox();
    const id = await w.worker.run({ kind: 'file', base: 0, actions: [copy(['/out'], '/kept/'), copy(['/out/f'], '/one')] }, [{ type: 'snapshot', id: base }, { type: 'snapshot', id: staged }], w.ctx);
    for (const p of ['kept/f', 'kept/sub', 'kept/sub/g', 'kept/link', 'one']) t.deepEqual(owner(fsOf(w, id, p)), [7, 8], p);
    t.deepEqual(owner(fsOf(w, id, 'kept')), [0, 0], 'the dest the copy makes is root\'s');

    const local = await apply([copy(['/src'], '/ctx/')]);
    for (const p of ['ctx', 'ctx/f', 'ctx/sub/g', 'ctx/link']) t.deepEqual(owner(fsOf(w, local, p)), [0, 0], p);
  }));

test('a missing dest of a directory copy is made 0755 and owned by --chown; --chmod applies only inside', (t) =>
  withCopy({ 'tree/t': 'T', 'tree/sub/u': 'U' }, async (w, ctx, apply) => {
    chmodSync(join(ctx, 'tree'), 0o700);
    chmodSync(join(ctx, 'tree/sub'), 0o750);
    const id = await apply([
      copy(['/tree'], '/plain'),
      copy(['/tree'], '/chm/', { chmod: 0o640 }),
      copy(['/tree'], '/owned/tree/', { chown: { user: 'app' }, chmod: 0o750 }),
    ]);
    t.is(mode(fsOf(w, id, 'plain')), 0o755);
    t.is(mode(fsOf(w, id, 'plain/sub')), 0o750);
    t.is(mode(fsOf(w, id, 'chm')), 0o755);
    t.is(mode(fsOf(w, id, 'chm/sub')), 0o640);
    t.is(mode(fsOf(w, id, 'chm/t')), 0o640);
    for (const p of ['owned', 'owned/tree']) t.deepEqual([mode(fsOf(w, id, p)), ...owner(fsOf(w, id, p))], [0o755, 1000, 1001], p);
    t.deepEqual([mode(fsOf(w, id, 'owned/tree/t')), ...owner(fsOf(w, id, 'owned/tree/t'))], [0o750, 1000, 1001]);
  }));

test('an existing dest keeps its mode and owner, and the context root\'s own mode is never copied', (t) =>
  withCopy({ 'tree/t': 'T', 'file': 'F' }, async (w, ctx, apply) => {
    chmodSync(ctx, 0o700);
    const made = await apply([{ action: 'mkdir', path: '/exist', mode: 0o711, makeParents: false, chown: { user: '5', group: '6' } }]);
    const id = await w.worker.run(
      { kind: 'file', base: 0, actions: [copy(['/tree'], '/exist', { chown: { user: 'app' }, chmod: 0o600 }), copy(['/'], '/app/'), copy(['/'], '/plain')] },
      [{ type: 'snapshot', id: made }, { type: 'local', dir: ctx, excludePatterns: [] }],
      w.ctx,
    );
    t.deepEqual([mode(fsOf(w, id, 'exist')), ...owner(fsOf(w, id, 'exist'))], [0o711, 5, 6]);
    t.deepEqual(owner(fsOf(w, id, 'exist/t')), [1000, 1001]);
    t.is(mode(fsOf(w, id, 'app')), 0o755);
    t.is(mode(fsOf(w, id, 'plain')), 0o755);
    t.is(mode(fsOf(w, id, 'plain/tree')), 0o755);
  }));

test('a symbolic --chmod changes each copied entry\'s own mode; X only for dirs and executables', (t) =>
  withCopy({ 'tree/run': 'R', 'tree/data': 'D', 'tree/sub/x': 'X' }, async (w, ctx, apply) => {
    chmodSync(join(ctx, 'tree/run'), 0o700);
    chmodSync(join(ctx, 'tree/data'), 0o600);
    chmodSync(join(ctx, 'tree/sub'), 0o700);
    const id = await apply([copy(['/tree'], '/t/', { chmodSymbolic: 'u=rwX,go=rX' }), copy(['/tree/data'], '/d', { chmodSymbolic: '+x' })]);
    t.is(mode(fsOf(w, id, 't')), 0o755, 'the made dest stays 0755');
    t.is(mode(fsOf(w, id, 't/run')), 0o755);
    t.is(mode(fsOf(w, id, 't/data')), 0o644);
    t.is(mode(fsOf(w, id, 't/sub')), 0o755);
    t.is(mode(fsOf(w, id, 'd')), 0o711);
  }));
