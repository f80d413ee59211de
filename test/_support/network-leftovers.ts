// What a build may leave on the host's network: this root's namespaces, the pasta or slirp4netns
// processes serving
// them, and any interface or firewall rule. Tests take a snapshot before and compare after.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { listNetns, netnsPrefix } from '../../worker/net/netns.ts';

export interface HostNetwork {
  links: string[];
  ruleset: string;
}

export function hostNetwork(): HostNetwork {
  const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).split('\n').map((l) => l.split(':')[1]?.trim()).filter(Boolean).sort();
  let ruleset = '';
  // by its path: `npm test` puts node_modules/.bin first on PATH, where ava's file tracer is also
  // called `nft`, and the comparison then saw two empty strings
  const nft = ['/usr/sbin/nft', '/sbin/nft'].find((p) => existsSync(p));
  if (nft) ruleset = execFileSync(nft, ['list', 'ruleset'], { encoding: 'utf8' });
  return { links, ruleset };
}

/** This root's namespaces still named in /run/netns. */
export function rootNetns(root: string): string[] {
  return listNetns(netnsPrefix(root));
}

/** pasta or slirp4netns processes serving one of this root's namespaces. */
export function rootPastas(root: string): number[] {
  const prefix = netnsPrefix(root);
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (/^(pasta|slirp4netns)\0/.test(args) && args.includes(`/run/netns/${prefix}`)) out.push(Number(pid));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
