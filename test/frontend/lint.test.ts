// Each Dockerfile check with a Dockerfile that breaks it and one that does not, plus the
// `# check=` configuration. Messages follow BuildKit's wording.
import test from 'ava';
import { lintDockerfile, LINT_RULES } from '../../frontend/index.ts';
import { isTsbuildError } from '../../src/errors/index.ts';

const lint = (dockerfile: string, opts: { buildArgs?: Record<string, string>; target?: string } = {}) => lintDockerfile({ dockerfile, dockerfilePath: 'Dockerfile', ...opts });
const found = (dockerfile: string, rule: string, opts?: Parameters<typeof lint>[1]) =>
  lint(dockerfile, opts).violations.filter((v) => v.rule === rule).map((v) => `${v.location.line}: ${v.message}`);

const cases: Array<[rule: string, bad: string, expected: string[], good: string]> = [
  ['StageNameCasing', 'FROM busybox AS Build\n', ["1: Stage name 'Build' should be lowercase"], 'FROM busybox AS build\n'],
  ['FromAsCasing', 'FROM busybox as build\n', ["1: 'as' and 'FROM' keywords' casing do not match"], 'from busybox as build\n'],
  ['NoEmptyContinuation', 'FROM busybox\nRUN echo \\\n\n  hi\n', ['4: Empty continuation line'], 'FROM busybox\nRUN echo \\\n  hi\n'],
  ['ConsistentInstructionCasing', 'FROM busybox\nRUN a\nrun b\n', ["3: Command 'run' should match the case of the command majority (uppercase)"], 'from busybox\nrun a\n'],
  ['DuplicateStageName', 'FROM busybox AS a\nFROM busybox AS a\n', ['2: Duplicate stage name "a", stage names should be unique'], 'FROM busybox AS a\nFROM busybox AS b\n'],
  ['ReservedStageName', 'FROM busybox AS scratch\n', ['1: Stage name should not use the same name as reserved stage "scratch"'], 'FROM busybox AS base\n'],
  ['JSONArgsRecommended', 'FROM busybox\nENTRYPOINT my-app serve\n', ['2: JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals'], 'FROM busybox\nENTRYPOINT ["my-app", "serve"]\nFROM busybox\nSHELL ["/bin/bash", "-c"]\nCMD serve\n'],
  ['MaintainerDeprecated', 'FROM busybox\nMAINTAINER me\n', ['2: Maintainer instruction is deprecated in favor of using label'], 'FROM busybox\nLABEL org.opencontainers.image.authors=me\n'],
  ['UndefinedArgInFrom', 'ARG VERSION=1\nFROM busybox:${VERSOIN}\n', ["2: FROM argument 'VERSOIN' is not declared (did you mean VERSION?)"], 'ARG VERSION=1\nFROM busybox:${VERSION}\nFROM --platform=$BUILDPLATFORM busybox\n'],
  ['UndefinedVar', 'FROM scratch\nENV PATH=$PAHT:/app\nCOPY $SRC /x\n', ["2: Usage of undefined variable '$PAHT' (did you mean $PATH?)", "3: Usage of undefined variable '$SRC'"], 'FROM scratch\nARG SRC\nENV A=1\nCOPY $SRC $A /x\nRUN echo $UNSET_IN_RUN_IS_THE_SHELLS\n'],
  ['WorkdirRelativePath', 'FROM busybox\nWORKDIR app\n', ['2: Relative workdir "app" can have unexpected results if the base image changes'], 'FROM busybox\nWORKDIR /app\nWORKDIR sub\nFROM 0\n'],
  ['MultipleInstructionsDisallowed', 'FROM busybox\nCMD ["a"]\nHEALTHCHECK NONE\nCMD ["b"]\n', ['2: Multiple CMD instructions should not be used in the same stage because only the last one will be used'], 'FROM busybox\nCMD ["a"]\nFROM busybox\nCMD ["b"]\n'],
  ['LegacyKeyValueFormat', 'FROM busybox\nENV A 1\nLABEL b 2\n', ['2: "ENV key=value" should be used instead of legacy "ENV key value" format', '3: "LABEL key=value" should be used instead of legacy "LABEL key value" format'], 'FROM busybox\nENV A=1\nLABEL b=2\n'],
  ['SecretsUsedInArgOrEnv', 'FROM busybox\nARG GITHUB_TOKEN\nENV DB_PASSWORD=x\n', ['2: Do not use ARG or ENV instructions for sensitive data (ARG "GITHUB_TOKEN")', '3: Do not use ARG or ENV instructions for sensitive data (ENV "DB_PASSWORD")'], 'FROM busybox\nARG PUBLIC_KEY\nENV TOKEN_FILE=/run/secrets/t\nARG KEYBOARD\n'],
  ['InvalidDefaultArgInFrom', 'ARG TAG\nFROM busybox:${TAG}\n', ['2: Default value for ARG busybox:${TAG} results in empty or invalid base image name'], 'ARG TAG=1.36\nFROM busybox:${TAG}\n'],
  ['FromPlatformFlagConstDisallowed', 'FROM --platform=linux/amd64 busybox AS build\n', ['1: FROM --platform flag should not use constant value "linux/amd64"'], 'FROM --platform=linux/amd64 busybox AS build-amd64\nFROM --platform=$BUILDPLATFORM busybox\n'],
  ['ExposeProtoCasing', 'FROM busybox\nEXPOSE 80/TCP 53/udp\n', ["2: Defined protocol '80/TCP' in EXPOSE instruction should be lowercase"], 'FROM busybox\nEXPOSE 80/tcp 53 $PORT/UDP\n'],
  ['ExposeInvalidFormat', 'FROM busybox\nEXPOSE 8080:80 127.0.0.1:53:53/udp 443\n', ["2: EXPOSE instruction should not define an IP address or host-port mapping, found '8080:80'", "2: EXPOSE instruction should not define an IP address or host-port mapping, found '127.0.0.1:53:53/udp'"], 'FROM busybox\nEXPOSE 80 8000-8010/udp\n'],
  ['RedundantTargetPlatform', 'FROM --platform=$TARGETPLATFORM busybox\n', ['1: Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior'], 'FROM --platform=$BUILDPLATFORM busybox\n'],
];

for (const [rule, bad, expected, good] of cases) {
  test(`${rule}: reported, and quiet on a clean Dockerfile`, (t) => {
    t.deepEqual(found(bad, rule), expected);
    t.deepEqual(found(good, rule), []);
  });
}

test('every registered rule has a case here, a description and a unique name', (t) => {
  const names = LINT_RULES.map((r) => r.name);
  t.is(new Set(names).size, names.length);
  t.deepEqual([...names].sort(), cases.map((c) => c[0]).sort());
  for (const r of LINT_RULES) t.true(r.description.length > 10 && !r.description.includes('http'));
});

test('a violation carries file, line, rule, message, description and the line text', (t) => {
  const [v] = lint('FROM busybox\nMAINTAINER me\n').violations;
  t.deepEqual(v, { rule: 'MaintainerDeprecated', message: 'Maintainer instruction is deprecated in favor of using label', description: 'The MAINTAINER instruction is deprecated, use a label instead to define an image author', location: { file: 'Dockerfile', line: 2, endLine: undefined, text: 'MAINTAINER me' } });
});

test('# check=skip and error=true configure the checks; a comment skips one instruction', (t) => {
  const df = 'FROM busybox\nMAINTAINER me\nENV A 1\n';
  t.deepEqual(lint(`# check=skip=MaintainerDeprecated\n${df}`).violations.map((v) => v.rule), ['LegacyKeyValueFormat']);
  t.deepEqual(lint(`# check=skip=all\n${df}`).violations, []);
  const strict = lint(`# check=skip=LegacyKeyValueFormat;error=true\n${df}`);
  t.true(strict.failOnViolation);
  t.deepEqual(strict.violations.map((v) => v.rule), ['MaintainerDeprecated']);
  t.deepEqual(lint('FROM busybox\n# check=skip=MaintainerDeprecated\nMAINTAINER me\nMAINTAINER you\n').violations.map((v) => v.location.line), [4]);
  // the build arg wins over the directive, as in BuildKit
  t.deepEqual(lint(`# check=error=true\n${df}`, { buildArgs: { BUILDKIT_DOCKERFILE_CHECK: 'skip=all' } }).violations, []);
  const e = t.throws(() => lint('# check=skip=X;fail=yes\nFROM busybox\n'));
  t.true(isTsbuildError(e));
  t.is(e?.message, 'Dockerfile:1: failed to parse check options: invalid check option "fail" (use skip=RULE,... or error=true)');
});

test('with a target, instruction checks look only at the stages it needs', (t) => {
  const df = 'FROM busybox AS a\nCMD a b\nFROM busybox AS b\nCMD c d\n';
  t.deepEqual(found(df, 'JSONArgsRecommended', { target: 'a' }).map((l) => l.split(':')[0]), ['2']);
  t.deepEqual(found(df, 'JSONArgsRecommended').map((l) => l.split(':')[0]), ['2', '4']);
});

test('UndefinedVar on an image stage reports only likely typos: the image env is unknown', (t) => {
  t.deepEqual(found('FROM golang\nENV GOFLAGS=$GOPATH\nARG VERSION=1\nLABEL v=$VERSON\n', 'UndefinedVar'), ["4: Usage of undefined variable '$VERSON' (did you mean $VERSION?)"]);
  // a stage on an earlier scratch stage knows its environment
  t.deepEqual(found('FROM scratch AS base\nENV APP=1\nFROM base\nCOPY $APP $OUT /\n', 'UndefinedVar'), ["4: Usage of undefined variable '$OUT'"]);
});

test('build warnings carry the checks; # check=error=true fails the build', async (t) => {
  const { build, rejects } = await import('./_build.ts');
  const def = await build('FROM busybox\nCMD serve\n');
  t.deepEqual(def.warnings.map((w) => w.message), ['JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals']);
  const e = await t.throwsAsync(build('# check=error=true\nFROM busybox\nCMD serve\n'));
  t.is(e?.message, 'Dockerfile: lint violation found for rules: JSONArgsRecommended');
  t.truthy(rejects);
});

test('an ARG used in FROM but never declared is warned about during the build', async (t) => {
  const { build } = await import('./_build.ts');
  const def = await build('FROM busybox:${TAG:-1}\n');
  t.deepEqual(def.warnings.map((w) => w.message), ["UndefinedArgInFrom: FROM argument 'TAG' is not declared"]);
  const unused = await build('FROM busybox\n', { buildArgs: { NOPE: '1' } });
  t.deepEqual(unused.warnings.map((w) => w.message), ['One or more build-args [NOPE] were not consumed']);
});
