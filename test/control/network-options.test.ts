// --network, --allow and --add-host, parsed once at the edge.
import test from 'ava';
import { parseAddHost, parseEntitlement, parseNetworkMode, resolveBuildOptions } from '../../control/options.ts';
import { contextDir, removeDir } from '../_support/tsbuild.ts';

test('--network default|none|host, --allow and --add-host parse as docker buildx reads them', (t) => {
  t.is(parseNetworkMode('default'), 'sandbox');
  t.is(parseNetworkMode('none'), 'none');
  t.is(parseNetworkMode('host'), 'host');
  t.throws(() => parseNetworkMode('bridge'), { message: 'unknown --network mode "bridge"' });
  t.is(parseEntitlement('network.host'), 'network.host');
  t.throws(() => parseEntitlement('network.all'), { message: /unknown --allow entitlement "network.all"/ });
  t.is(parseAddHost('db:10.0.0.2'), 'db:10.0.0.2');
  t.is(parseAddHost('v6=[2001:db8::1]'), 'v6:2001:db8::1');
  t.throws(() => parseAddHost('db:not-an-ip'), { message: /invalid --add-host "db:not-an-ip"/ });
});

test('--network host needs --allow network.host; the resolved options carry mode, entitlements and hosts', (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM scratch\n' });
  try {
    const e = t.throws(() => resolveBuildOptions({ context: ctx, network: 'host' }));
    t.like(e, { code: 'ENTITLEMENT_DENIED', kind: 'denied' });
    t.regex((e as { hint?: string }).hint ?? '', /--allow network\.host/);
    const o = resolveBuildOptions({ context: ctx, network: 'host', allow: ['network.host', 'network.host'], addHosts: ['a:1.2.3.4'] });
    t.like(o, { network: 'host', entitlements: ['network.host'], extraHosts: ['a:1.2.3.4'] });
    t.like(resolveBuildOptions({ context: ctx }), { network: 'sandbox', entitlements: [], extraHosts: [] });
  } finally {
    removeDir(ctx);
  }
});
