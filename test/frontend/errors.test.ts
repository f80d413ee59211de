// What a user sees for Dockerfile mistakes: one line naming file, line and cause, a code, a
// location, and a hint where we can guess the fix. Never a stack trace.
import test from 'ava';
import { createBuildDefinition, parseDockerfile } from '../../frontend/index.ts';
import { ErrorCodes, isTsbuildError, type TsbuildError } from '../../src/errors/index.ts';

const build = (dockerfile: string, extra: { target?: string; buildArgs?: Record<string, string> } = {}) =>
  createBuildDefinition({
    dockerfile,
    dockerfilePath: 'Dockerfile',
    buildArgs: extra.buildArgs ?? {},
    target: extra.target,
    platform: { os: 'linux', architecture: 'amd64' },
    namedContexts: {},
    excludePatterns: [],
    resolveImage: async (ref) => ({ ref, digest: 'sha256:' + 'c'.repeat(64), config: { os: 'linux', architecture: 'amd64', config: {}, rootfs: { type: 'layers', diff_ids: [] } } }),
  });

async function rejects(t: import('ava').ExecutionContext, dockerfile: string, message: string | RegExp, extra: Parameters<typeof build>[1] = {}): Promise<TsbuildError> {
  const e = await t.throwsAsync(build(dockerfile, extra));
  t.true(isTsbuildError(e), String(e));
  const err = e as TsbuildError;
  t.is(err.kind, 'invalid');
  if (typeof message === 'string') t.is(err.message, message);
  else t.regex(err.message, message);
  return err;
}

test('unknown instruction suggests the closest one', async (t) => {
  const e = await rejects(t, 'FROM busybox\nRUNN make\n', 'Dockerfile:2: unknown instruction: RUNN');
  t.is(e.code, ErrorCodes.DOCKERFILE_UNKNOWN_INSTRUCTION);
  t.is(e.hint, 'did you mean RUN?');
  t.deepEqual(e.location, { file: 'Dockerfile', line: 2, column: 1, endLine: undefined, text: 'RUNN make' });
});

test('unknown stage in --from and --target suggests the closest name', async (t) => {
  const df = 'FROM busybox AS builder\nRUN x\nFROM scratch\nCOPY --from=buildr /x /x\n';
  const e = await rejects(t, df, 'Dockerfile:4:13: stage "buildr" not found');
  t.is(e.code, ErrorCodes.STAGE_NOT_FOUND);
  t.is(e.hint, 'did you mean "builder"?');
  const target = await rejects(t, df, 'stage "buildre" not found', { target: 'buildre' });
  t.is(target.hint, 'did you mean "builder"?');
  await rejects(t, 'FROM busybox\nCOPY --from=3 /x /x\n', 'Dockerfile:2:13: stage "3" not found');
});

test('unknown flags', async (t) => {
  const e = await rejects(t, 'FROM busybox\nCOPY --foo=1 a b\n', 'Dockerfile:2:6: COPY: unknown flag: --foo');
  t.is(e.location?.line, 2);
  const near = await rejects(t, 'FROM busybox\nCOPY --chwon=1 a b\n', 'Dockerfile:2:6: COPY: unknown flag: --chwon');
  t.is(near.hint, 'did you mean --chown?');
});

test('argument counts', async (t) => {
  await rejects(t, 'FROM busybox\nCOPY onlyone\n', /^Dockerfile:2: COPY requires at least two arguments/);
  await rejects(t, 'FROM busybox\nWORKDIR\n', 'Dockerfile:2: WORKDIR requires exactly one argument');
  await rejects(t, 'FROM busybox as\n', 'Dockerfile:1: FROM requires either one or three arguments');
  await rejects(t, 'FROM busybox AS 1st\n', /^Dockerfile:1: invalid name for build stage: "1st"/);
  await rejects(t, 'FROM busybox\nEXPOSE\n', 'Dockerfile:2: EXPOSE requires at least one argument');
});

test('parse errors name the line and cause', async (t) => {
  const e = t.throws(() => parseDockerfile('FROM busybox\n\nENV PATH\n', 'sub/Dockerfile.dev')) as TsbuildError;
  t.is(e.message, 'sub/Dockerfile.dev:3: ENV must have two arguments');
  t.is(e.code, ErrorCodes.DOCKERFILE_SYNTAX);
  t.is(e.location?.text, 'ENV PATH');
  const json = t.throws(() => parseDockerfile('FROM busybox\nCMD ["a", 1]\n', 'Dockerfile')) as TsbuildError;
  t.is(json.message, 'Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only');
  const heredoc = t.throws(() => parseDockerfile('FROM busybox\nRUN <<EOF\necho hi\n', 'Dockerfile')) as TsbuildError;
  t.is(heredoc.message, 'Dockerfile:2: unterminated heredoc');
  const escape = t.throws(() => parseDockerfile('# escape=x\nFROM busybox\n', 'Dockerfile')) as TsbuildError;
  t.regex(escape.message, /^Dockerfile:1: invalid escape token 'x'/);
});

test('an empty Dockerfile is refused clearly', async (t) => {
  await rejects(t, '', 'Dockerfile: file with no instructions');
  await rejects(t, '# only a comment\n\n', 'Dockerfile: file with no instructions');
});

test('instructions before FROM and bad values', async (t) => {
  await rejects(t, 'RUN x\nFROM busybox\n', /^Dockerfile:1: RUN before the first FROM/);
  await rejects(t, 'FROM busybox\nCOPY --chmod=rwx a b\n', 'Dockerfile:2:6: invalid chmod parameter: rwx');
  await rejects(t, 'FROM busybox\nENV A=${B\n', /^Dockerfile:2: failed to process "\$\{B": syntax error: missing '}'/);
  await rejects(t, 'FROM busybox\nONBUILD FROM x\n', "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger");
  await rejects(t, 'FROM busybox\nRUN --network=wifi x\n', 'Dockerfile:2: unsupported network mode: wifi');
});

test('STOPSIGNAL takes what moby parses: a table name (SIG optional) or any non-zero number', async (t) => {
  for (const sig of ['SIGTERM', 'term', 'SIGRTMIN+3', 'RTMAX-14', '9', '9999', '+15']) {
    const def = await build(`FROM busybox\nSTOPSIGNAL ${sig}\n`);
    t.is(def.config.config.StopSignal, sig);
  }
  for (const sig of ['SIGFOO', '0', 'RTMIN+16', 'RTMAX-15', '9.5']) {
    const e = await rejects(t, `FROM busybox\nSTOPSIGNAL ${sig}\n`, `Dockerfile:2: invalid signal: ${sig}`);
    t.regex(e.hint ?? '', /SIGTERM/);
  }
});

test('a physical line over 65535 bytes is refused as BuildKit refuses it, naming its size; 65535 is fine', async (t) => {
  const ok = await build(`FROM busybox\nLABEL x=${'a'.repeat(65535 - 'LABEL x='.length)}\n`);
  t.is(ok.config.config.Labels?.x.length, 65535 - 8);
  const e = await rejects(t, `FROM busybox\nRUN echo ${'é'.repeat(40000)}\n`, 'Dockerfile:2: dockerfile line greater than max allowed size of 65535 (this line has 80009 bytes)');
  t.is(e.location?.line, 2);
  t.regex(e.hint ?? '', /split it over several lines/);
});

test('EXPOSE parses port specs as BuildKit: IP and host port checked then dropped, port 0 and a bare / allowed', async (t) => {
  const ports = async (spec: string) => Object.keys((await build(`FROM busybox\nEXPOSE ${spec}\n`)).config.config.ExposedPorts ?? {});
  t.deepEqual(await ports('0 80/ 1.2.3.4:81:81 [::1]:82:82 8000-8001:83 84:90/UDP 5000/sctp'), ['0/tcp', '80/tcp', '81/tcp', '82/tcp', '83/tcp', '90/udp', '5000/sctp']);
  const bad: Array<[string, string]> = [
    ['abc:80:80', 'invalid IP address: abc'],
    ['x:80', 'invalid hostPort: x'],
    ['80-81:90-92', 'invalid ranges specified for container and host Ports: 90-92 and 80-81'],
    ['65536', 'invalid containerPort: 65536'],
    ['1-0', 'invalid containerPort: 1-0'],
    ['/tcp', 'invalid port "/tcp": no port specified'],
    ['80/xyz', 'invalid proto: xyz'],
  ];
  for (const [spec, message] of bad) {
    const e = await rejects(t, `FROM busybox\nEXPOSE ${spec}\n`, `Dockerfile:2:8: ${message}`);
    t.regex(e.hint ?? '', /\[IP:\]\[HOST_PORT:\]PORT/);
  }
});

test('HEALTHCHECK durations are Go durations: 0s means the default, under 1ms is refused naming the flag', async (t) => {
  const hc = async (flags: string) => (await build(`FROM busybox\nHEALTHCHECK ${flags} CMD true\n`)).config.config.Healthcheck;
  t.like(await hc('--interval=0s --timeout=.5s --start-period=1m30s --retries=+3'), { Interval: 0, Timeout: 5e8, StartPeriod: 90e9, Retries: 3 });
  const short = await rejects(t, 'FROM busybox\nHEALTHCHECK --interval=500us CMD true\n', 'Dockerfile:2:13: --interval=500us cannot be less than 1ms');
  t.is(short.hint, 'use at least 1ms, or 0s for the default');
  await rejects(t, 'FROM busybox\nHEALTHCHECK --start-period=-1s CMD true\n', 'Dockerfile:2:13: --start-period=-1s cannot be less than 1ms');
  const unitless = await rejects(t, 'FROM busybox\nHEALTHCHECK --timeout=5 CMD true\n', 'Dockerfile:2:13: invalid duration for --timeout: 5');
  t.regex(unitless.hint ?? '', /with a unit/);
  await rejects(t, 'FROM busybox\nHEALTHCHECK --retries=0x10 CMD true\n', 'Dockerfile:2: invalid --retries value: 0x10');
});

test('a malformed FROM --platform names the line and the bad component (issue 13)', async (t) => {
  const e = await rejects(t, 'FROM --platform=linux/amd64!x busybox\nRUN true\n', /^Dockerfile:1: invalid platform "linux\/amd64!x": "amd64!x" is an invalid component/);
  t.is(e.location?.line, 1);
  t.is(e.hint, 'write it as os/arch[/variant], e.g. linux/amd64');
  await rejects(t, 'FROM --platform=linux/amd64/v2/x busybox\n', /too many components/);
  await rejects(t, 'FROM --platform=nonsense busybox\n', /unknown operating system or architecture/);
  await rejects(t, 'ARG P=linux/../amd64\nFROM --platform=$P busybox\n', /"\.\." is an invalid component/);
});

test('FROM --platform aliases are normalised as BuildKit does', async (t) => {
  for (const [text, want] of [['linux/x86_64', 'amd64'], ['Linux/aarch64', 'arm64'], ['linux', 'amd64'], ['arm64', 'arm64']] as const) {
    let seen: { os: string; architecture: string } | undefined;
    await createBuildDefinition({
      dockerfile: `FROM --platform=${text} busybox\n`, dockerfilePath: 'Dockerfile', buildArgs: {}, platform: { os: 'linux', architecture: 'amd64' }, namedContexts: {}, excludePatterns: [],
      resolveImage: async (ref, platform) => {
        seen = platform;
        return { ref, digest: 'sha256:' + 'c'.repeat(64), config: { os: 'linux', architecture: platform.architecture, config: {}, rootfs: { type: 'layers', diff_ids: [] } } };
      },
    });
    t.is(seen?.os, 'linux', text);
    t.is(seen?.architecture, want, text);
  }
});
