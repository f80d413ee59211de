// Which program configures `sandbox` namespaces: slirp4netns when installed, ready in a tenth of
// pasta's time, which a build's first RUN (and every one of its parallel stages) waits for; pasta
// where the step needs the host's IPv6 to resolve names (slirp4netns gives steps IPv4 only, as
// Docker's default bridge does), or when slirp4netns is missing (docs/network.md says why both).
// TSBUILD_SANDBOX_NETWORK=pasta|slirp4netns (or the worker option) picks one.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, invalid } from '../../src/errors/index.ts';
import { createPastaSandbox, type NetworkSandbox } from './pasta.ts';
import { createSlirpSandbox } from './slirp.ts';
import { containerResolvConf, readHostResolvConf } from './etc-files.ts';

export const NetworkProviders = ['pasta', 'slirp4netns'] as const;
export type NetworkProvider = (typeof NetworkProviders)[number];

export function parseNetworkProvider(text: string): NetworkProvider {
  const p = NetworkProviders.find((n) => n === text);
  if (!p) throw invalid(ErrorCodes.OPTION_INVALID, `unknown sandbox network provider "${text}"`, { hint: `one of ${NetworkProviders.join(', ')}` });
  return p;
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((dir) => {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * The chosen provider: the preferred one, else slirp4netns when installed and a step's resolv.conf
 * names an IPv4 server, else pasta when installed, else slirp4netns when installed, else pasta
 * (whose error says what to install).
 */
export function chooseNetworkProvider(preferred?: NetworkProvider, installed: (cmd: string) => boolean = onPath, resolvConf: () => string = stepResolvConf): NetworkProvider {
  if (preferred) return preferred;
  const slirp = installed('slirp4netns');
  if (slirp && namesIpv4Server(resolvConf())) return 'slirp4netns';
  if (installed('pasta')) return 'pasta';
  return slirp ? 'slirp4netns' : 'pasta';
}

/** Whether resolv.conf text names a nameserver slirp4netns's IPv4-only network reaches. */
export function namesIpv4Server(resolvConf: string): boolean {
  return /^\s*nameserver\s+\d{1,3}(\.\d{1,3}){3}(\s|$)/m.test(resolvConf);
}

const stepResolvConf = () => containerResolvConf(readHostResolvConf(), 'sandbox');

export function sandboxFactory(provider: NetworkProvider, tmpDir: string): (name: string) => Promise<NetworkSandbox> {
  return provider === 'pasta' ? (name) => createPastaSandbox(name, tmpDir) : (name) => createSlirpSandbox(name, tmpDir);
}
