// Which program configures `sandbox` namespaces: pasta when installed (docs/network.md says why),
// else slirp4netns. TSBUILD_SANDBOX_NETWORK=pasta|slirp4netns (or the worker option) picks one.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, invalid } from '../../src/errors/index.ts';
import { createPastaSandbox, type NetworkSandbox } from './pasta.ts';
import { createSlirpSandbox } from './slirp.ts';

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

/** The chosen provider: the preferred one, else pasta when installed, else slirp4netns when installed, else pasta (whose error says what to install). */
export function chooseNetworkProvider(preferred?: NetworkProvider, installed: (cmd: string) => boolean = onPath): NetworkProvider {
  if (preferred) return preferred;
  if (installed('pasta')) return 'pasta';
  return installed('slirp4netns') ? 'slirp4netns' : 'pasta';
}

export function sandboxFactory(provider: NetworkProvider, tmpDir: string): (name: string) => Promise<NetworkSandbox> {
  return provider === 'pasta' ? (name) => createPastaSandbox(name, tmpDir) : (name) => createSlirpSandbox(name, tmpDir);
}
