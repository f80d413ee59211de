// The container's /etc/hosts and /etc/resolv.conf, made from the host's as BuildKit makes them
// (executor/oci/resolvconf.go, hosts.go). Pure text functions, plus one writer for the bundle:
// the files are bind-mounted read-only over the rootfs, so they never land in a layer.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkMode } from '../../src/llb/index.ts';

// libnetwork's defaults when filtering leaves no nameserver: Google's public resolvers
export const fallbackNameservers = ['8.8.8.8', '8.8.4.4', '2001:4860:4860::8888', '2001:4860:4860::8844'];

/** Where a host running systemd-resolved keeps the upstream servers (its stub is 127.0.0.53). */
export const systemdResolvConf = '/run/systemd/resolve/resolv.conf';

const isLoopback = (addr: string) => /^127\./.test(addr) || addr === '::1' || addr === '0:0:0:0:0:0:0:1';

function nameservers(text: string): string[] {
  return text.split('\n').map((l) => l.trim().match(/^nameserver\s+(\S+)/)?.[1]).filter((a): a is string => a !== undefined);
}

/**
 * The resolv.conf a container with this network mode gets. A private namespace cannot reach the
 * host's loopback, so loopback nameservers (127.0.0.53 of systemd-resolved, a local dnsmasq) are
 * dropped; when none is left, the public fallbacks go in, as BuildKit and Docker do. Host mode
 * shares the host's loopback and keeps the file as it is, unless it names no server at all.
 */
export function containerResolvConf(host: string, network: NetworkMode): string {
  if (network === 'host' && nameservers(host).length > 0) return host;
  const kept = host.split('\n').filter((l) => {
    const addr = l.trim().match(/^nameserver\s+(\S+)/)?.[1];
    return addr === undefined || !isLoopback(addr.replace(/%.*$/, ''));
  });
  let text = kept.join('\n').replace(/\n{3,}/g, '\n\n').replace(/^\n+/, '');
  if (nameservers(text).length === 0) {
    text = text.replace(/\n*$/, text.trim() === '' ? '' : '\n') + fallbackNameservers.map((a) => `nameserver ${a}\n`).join('');
  }
  return text.endsWith('\n') || text === '' ? text : `${text}\n`;
}

/** The host resolv.conf to start from: systemd-resolved's upstream list when /etc/resolv.conf only names its stub. */
export function readHostResolvConf(read: (path: string) => string | undefined = readQuiet): string {
  const etc = read('/etc/resolv.conf') ?? '';
  const servers = nameservers(etc);
  if (servers.length > 0 && servers.every((s) => s === '127.0.0.53')) return read(systemdResolvConf) ?? etc;
  return etc;
}

/** /etc/hosts: localhost, the hostname, then each `--add-host name:ip` (`name=ip` also accepted, as buildx). */
export function containerHosts(hostname: string, extraHosts: readonly string[]): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `127.0.0.1\t${hostname}`];
  for (const entry of extraHosts) {
    const { name, ip } = parseExtraHost(entry);
    lines.push(`${ip}\t${name}`);
  }
  return lines.join('\n') + '\n';
}

/** `name:ip` or `name=ip`; the ip may itself hold colons (IPv6). Throws on anything else. */
export function parseExtraHost(entry: string): { name: string; ip: string } {
  const m = entry.match(/^([^:=\s]+)[:=](\S+)$/);
  if (!m) throw new Error(`invalid host entry "${entry}": expected name:ip`);
  return { name: m[1], ip: m[2].replace(/^\[(.*)\]$/, '$1') };
}

/** Writes both files into the bundle and returns their paths, for the spec's read-only binds. */
export async function writeEtcFiles(bundle: string, opts: { hostname: string; extraHosts: readonly string[]; network: NetworkMode }): Promise<{ hostsPath: string; resolvConfPath: string }> {
  const hostsPath = join(bundle, 'hosts');
  const resolvConfPath = join(bundle, 'resolv.conf');
  // two small new files: written at once, not in three round trips each (open, write, close) through
  // libuv's threads, which wait their turn behind other steps' work (docs/runtime.md, stop 19)
  writeFileSync(hostsPath, containerHosts(opts.hostname, opts.extraHosts));
  writeFileSync(resolvConfPath, containerResolvConf(readHostResolvConf(), opts.network));
  return { hostsPath, resolvConfPath };
}

function readQuiet(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
