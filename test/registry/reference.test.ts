// Reference parsing must agree with Docker's normalisation, or `FROM busybox` means something else.
import test from 'ava';
import { familiarName, formatReference, normalizeReference, parseReference, registryHost } from '../../src/registry/index.ts';

const digest = `sha256:${'a'.repeat(64)}`;

const cases: [string, string, string][] = [
  // input, normalised, familiar
  ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
  ['library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ['index.docker.io/user/app:v1', 'docker.io/user/app:v1', 'user/app:v1'],
  ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
  ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
  ['localhost:5000/a/b/c:tag', 'localhost:5000/a/b/c:tag', 'localhost:5000/a/b/c:tag'],
  ['127.0.0.1:5000/app', '127.0.0.1:5000/app:latest', '127.0.0.1:5000/app:latest'],
  ['ghcr.io/org/app:1.0-rc_1', 'ghcr.io/org/app:1.0-rc_1', 'ghcr.io/org/app:1.0-rc_1'],
  [`app@${digest}`, `docker.io/library/app@${digest}`, `app@${digest}`],
  [`reg.io:443/app:1@${digest}`, `reg.io:443/app:1@${digest}`, `reg.io:443/app:1@${digest}`],
  ['my-app__x.y', 'docker.io/library/my-app__x.y:latest', 'my-app__x.y:latest'],
];

for (const [input, normalised, familiar] of cases) {
  test(`${input} → ${normalised}`, (t) => {
    const ref = parseReference(input);
    t.is(formatReference(ref), normalised);
    t.is(familiarName(ref), familiar);
    t.is(normalizeReference(familiar), normalised);
  });
}

const invalid: [string, RegExp][] = [
  ['', /empty/],
  ['App', /lowercase/],
  ['app:', /not a valid tag/],
  ['app:-x', /not a valid tag/],
  ['app@sha256:123', /not a sha256 digest/],
  ['a//b', /repository name is empty/],
  ['a/b_-c', /not a valid repository name component/],
  ['a/-b', /not a valid repository name component/],
  [`a/${'x'.repeat(300)}`, /longer than 255/],
  ['bad_host:5000/app', /not a valid registry host/],
];

for (const [input, why] of invalid) {
  test(`"${input.slice(0, 20)}" is rejected`, (t) => {
    const e = t.throws(() => parseReference(input));
    t.is((e as { code?: string }).code, 'REFERENCE_INVALID');
    t.regex(e!.message, why);
  });
}

test('the lowercase hint is given only when lowercase makes a name, and keeps the tag as typed', (t) => {
  const hint = (input: string) => (t.throws(() => parseReference(input)) as { hint?: string }).hint;
  t.is(hint('App:V1'), 'try "app:V1"');
  t.is(hint('Bad Ref'), undefined);
  t.regex(t.throws(() => parseReference('Bad Ref'))!.message, /"Bad Ref" is not a valid repository name component/);
});

test('a host with uppercase letters is a registry host, as in Docker', (t) => {
  t.is(parseReference('Registry.local/app').domain, 'Registry.local');
});

test('Docker Hub is reached at registry-1.docker.io', (t) => {
  t.is(registryHost('docker.io'), 'registry-1.docker.io');
  t.is(registryHost('127.0.0.1:5000'), '127.0.0.1:5000');
});
