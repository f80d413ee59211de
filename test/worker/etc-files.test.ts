// The container's /etc/resolv.conf and /etc/hosts (worker/net/etc-files.ts), as BuildKit makes them.
import test from 'ava';
import { containerHosts, containerResolvConf, fallbackNameservers, parseExtraHost, readHostResolvConf, systemdResolvConf } from '../../worker/net/etc-files.ts';

const fallback = fallbackNameservers.map((a) => `nameserver ${a}\n`).join('');

test('a reachable nameserver is kept with the search and options lines', (t) => {
  const host = 'search corp.example\nnameserver 10.255.255.53\noptions ndots:2\n';
  t.is(containerResolvConf(host, 'sandbox'), host);
});

test('loopback nameservers are dropped in a private namespace; none left means the public fallbacks', (t) => {
  t.is(containerResolvConf('nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n', 'sandbox'), `options edns0 trust-ad\nsearch lan\n${fallback}`);
  t.is(containerResolvConf('nameserver 127.0.0.1\nnameserver ::1\nnameserver 192.0.2.53\n', 'sandbox'), 'nameserver 192.0.2.53\n');
  t.is(containerResolvConf('', 'none'), fallback);
});

test('host networking keeps the host\'s file, loopback resolver included', (t) => {
  t.is(containerResolvConf('nameserver 127.0.0.53\n', 'host'), 'nameserver 127.0.0.53\n');
  t.is(containerResolvConf('# nothing\n', 'host'), `# nothing\n${fallback}`);
});

test('a host on systemd-resolved is read through its upstream file, as BuildKit does', (t) => {
  const files: Record<string, string> = { '/etc/resolv.conf': 'nameserver 127.0.0.53\n', [systemdResolvConf]: 'nameserver 198.51.100.1\n' };
  t.is(readHostResolvConf((p) => files[p]), 'nameserver 198.51.100.1\n');
  t.is(readHostResolvConf((p) => (p === '/etc/resolv.conf' ? 'nameserver 127.0.0.53\n' : undefined)), 'nameserver 127.0.0.53\n');
  t.is(readHostResolvConf(() => undefined), '');
});

test('/etc/hosts: localhost, the hostname, then --add-host entries (IPv6 too)', (t) => {
  t.is(containerHosts('buildkitsandbox', ['db:10.0.0.2', 'v6=[2001:db8::1]']),
    '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\tbuildkitsandbox\n10.0.0.2\tdb\n2001:db8::1\tv6\n');
  t.deepEqual(parseExtraHost('a:2001:db8::1'), { name: 'a', ip: '2001:db8::1' });
  t.throws(() => parseExtraHost('nope'), { message: /expected name:ip/ });
});
