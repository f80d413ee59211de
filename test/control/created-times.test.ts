// The image times BuildKit sets (control/created-times.ts), as pure data.
import test from 'ava';
import { baseImagesOf, baseLayerCount, clampsLayerTimes, parseSourceDateEpoch, stampCreated } from '../../control/created-times.ts';
import type { ImageConfig } from '../../src/image/index.ts';

const config = (history: ImageConfig['history']): ImageConfig => ({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] }, history });
const t0 = Date.parse('2024-05-01T10:00:00Z');

test('each new entry takes its layer\'s time, an entry without a layer the one before it; base entries keep theirs; config.created is the last', (t) => {
  const out = stampCreated(config([
    { created: '2020-01-01T00:00:00Z', created_by: 'base layer' },
    { created_by: 'ENV A=1', empty_layer: true },
    { created_by: 'RUN one' },
    { created_by: 'CMD x', empty_layer: true },
    { created_by: 'RUN two' },
  ]), [t0 - 99_000, t0, t0 + 1500], { now: t0 + 60_000 });
  t.deepEqual(out.history!.map((h) => h.created), ['2020-01-01T00:00:00Z', '2020-01-01T00:00:00Z', '2024-05-01T10:00:00Z', '2024-05-01T10:00:00Z', '2024-05-01T10:00:01.500Z']);
  t.is(out.created, '2024-05-01T10:00:01.500Z');
});

test('entries before any time take the next one; nothing at all takes now', (t) => {
  t.deepEqual(stampCreated(config([{ created_by: 'ARG', empty_layer: true }, { created_by: 'COPY' }]), [t0], { now: 0 }).history!.map((h) => h.created), ['2024-05-01T10:00:00Z', '2024-05-01T10:00:00Z']);
  t.is(stampCreated(config(undefined), [], { now: t0 }).created, '2024-05-01T10:00:00Z');
});

test('SOURCE_DATE_EPOCH clamps every later time and is config.created; earlier base times stay', (t) => {
  const out = stampCreated(config([{ created: '2001-01-01T00:00:00Z', created_by: 'base' }, { created_by: 'RUN' }]), [t0, t0], { epoch: 1_000_000_000, now: t0 });
  t.deepEqual(out.history!.map((h) => h.created), ['2001-01-01T00:00:00Z', '2001-09-09T01:46:40Z']);
  t.is(out.created, '2001-09-09T01:46:40Z');
  t.is(parseSourceDateEpoch(''), undefined);
  t.is(parseSourceDateEpoch(' 0 '), 0);
  t.throws(() => parseSourceDateEpoch('1.5'), { message: /SOURCE_DATE_EPOCH="1.5" is not a time/ });
});

test('layer times are clamped whenever the epoch is set, unless an output says rewrite-timestamp=false', (t) => {
  t.true(clampsLayerTimes(0, [{ type: 'image' }]));
  t.true(clampsLayerTimes(1_700_000_000, [{ type: 'image', rewriteTimestamp: true }, { type: 'local' }]));
  t.false(clampsLayerTimes(undefined, [{ type: 'image', rewriteTimestamp: true }]));
  t.false(clampsLayerTimes(1_700_000_000, [{ type: 'image' }, { type: 'oci', rewriteTimestamp: false }]));
});

test('the base layers are the longest bottom run of diffs that starts an image the build resolved', async (t) => {
  t.is(baseLayerCount(['a', 'b', 'c'], []), 0);
  t.is(baseLayerCount(['a', 'b', 'c'], [['a', 'x'], ['a', 'b'], ['c']]), 2);
  t.is(baseLayerCount(['a', 'b'], [['a', 'b', 'c']]), 2, 'every layer a base\'s (FROM base with nothing added)');
  t.is(baseLayerCount(['z', 'a'], [['a']]), 0, 'a base layer not at the bottom is this build\'s (COPY --from)');
  const bases = baseImagesOf();
  const resolve = bases.note(async (ref: string) => ({ ref, config: { ...config([]), rootfs: { type: 'layers', diff_ids: [`${ref}-1`] } } }));
  await resolve('alpine');
  t.deepEqual(bases.diffIds(), [['alpine-1']]);
});
