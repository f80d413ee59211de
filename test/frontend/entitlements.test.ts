// RUN --network=host and --security=insecure need BuildKit's entitlements (--allow); the build's
// --network is every RUN's default. Checked while converting, so the error names the line.
import test from 'ava';
import { isTsbuildError, type TsbuildError } from '../../src/errors/index.ts';
import { build, exec } from './_build.ts';

async function denied(t: import('ava').ExecutionContext, dockerfile: string, message: string): Promise<TsbuildError> {
  const e = await t.throwsAsync(build(dockerfile));
  t.true(isTsbuildError(e), String(e));
  const err = e as TsbuildError;
  t.is(err.code, 'ENTITLEMENT_DENIED');
  t.is(err.kind, 'denied');
  t.is(err.message, message);
  t.is(err.location?.line, 2);
  t.truthy(err.location?.text);
  return err;
}

test('RUN --network=host without network.host is denied at its line, with the flag to add', async (t) => {
  const e = await denied(t, 'FROM busybox\nRUN --network=host true\n', 'Dockerfile:2:5: --network=host needs the entitlement network.host, which this build does not allow');
  t.is(e.hint, 'if you trust this Dockerfile, build with --allow network.host');
  t.is(exec((await build('FROM busybox\nRUN --network=host true\n', { entitlements: ['network.host'] })).root).network, 'host');
});

test('RUN --security=insecure without security.insecure is denied; allowed, the op asks to run privileged', async (t) => {
  const e = await denied(t, 'FROM busybox\nRUN --security=insecure true\n', 'Dockerfile:2:5: --security=insecure needs the entitlement security.insecure, which this build does not allow');
  t.regex(e.hint ?? '', /--allow security\.insecure/);
  const op = exec((await build('FROM busybox\nRUN --security=insecure true\n', { entitlements: ['security.insecure'] })).root);
  t.is(op.security, 'insecure');
  t.is(exec((await build('FROM busybox\nRUN true\n')).root).security, undefined);
});

test('the build\'s --network is the default of each RUN, and a RUN naming its own mode wins', async (t) => {
  t.is(exec((await build('FROM busybox\nRUN true\n')).root).network, 'sandbox');
  t.is(exec((await build('FROM busybox\nRUN true\n', { network: 'none' })).root).network, 'none');
  t.is(exec((await build('FROM busybox\nRUN --network=default true\n', { network: 'none' })).root).network, 'none');
  t.is(exec((await build('FROM busybox\nRUN --network=sandbox true\n', { network: 'none' })).root).network, 'sandbox');
  t.is(exec((await build('FROM busybox\nRUN --network=none true\n', { network: 'sandbox' })).root).network, 'none');
});

test('--add-host lines reach every RUN', async (t) => {
  t.deepEqual(exec((await build('FROM busybox\nRUN true\n', { extraHosts: ['db:10.0.0.2'] })).root).extraHosts, ['db:10.0.0.2']);
  t.is(exec((await build('FROM busybox\nRUN true\n')).root).extraHosts, undefined);
});
