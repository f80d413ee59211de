// Ages as docker prints them (go-units HumanDuration): `docker images`, `docker history` and
// `docker buildx du` users read "5 seconds ago" and "About an hour ago", never "1 minutes ago".
import test from 'ava';
import { ago, humanDuration } from '../../cli/human.ts';

test('every range of go-units\' HumanDuration, with its roundings', (t) => {
  const cases: [number, string][] = [
    [0.4, 'Less than a second'],
    [1, '1 second'],
    [59.9, '59 seconds'],
    [60, 'About a minute'],
    [119, 'About a minute'],
    [120, '2 minutes'],
    [3599, '59 minutes'],
    [3600, 'About an hour'],
    [5399, 'About an hour'],
    [5400, '2 hours'],
    [47 * 3600, '47 hours'],
    [48 * 3600, '2 days'],
    [13 * 86400, '13 days'],
    [14 * 86400, '2 weeks'],
    [59 * 86400, '8 weeks'],
    [60 * 86400, '2 months'],
    [729 * 86400, '24 months'],
    [730 * 86400, '2 years'],
  ];
  for (const [seconds, text] of cases) t.is(humanDuration(seconds), text, `${seconds} s`);
});

test('ago: a time in the future (another machine\'s clock) reads as just now', (t) => {
  const now = Date.parse('2026-12-04T01:00:00Z');
  t.is(ago(now - 5000, now), '5 seconds ago');
  t.is(ago(now + 5000, now), 'Less than a second ago');
});
