// Proxy build args, as BuildKit treats them: predefined (no ARG line needed), given in any
// spelling (`HTTP_PROXY`, `http_proxy`, matched ignoring case), and set for every RUN in both
// spellings (its executor's proxyEnvList). They describe the network path, not the result, so
// they stay out of the op's digest and its cache key (BuildKit clears Meta.ProxyEnv there), out of
// the image config and out of the history.
import type { ExecOp } from './ops.ts';

export interface ProxyEnv {
  httpProxy?: string;
  httpsProxy?: string;
  ftpProxy?: string;
  noProxy?: string;
  allProxy?: string;
}

const names: readonly (readonly [keyof ProxyEnv, string])[] = [
  ['httpProxy', 'HTTP_PROXY'],
  ['httpsProxy', 'HTTPS_PROXY'],
  ['ftpProxy', 'FTP_PROXY'],
  ['noProxy', 'NO_PROXY'],
  ['allProxy', 'ALL_PROXY'],
];

/** The build args that are proxy settings, or undefined for none. Keys are taken in sorted order, so `http_proxy` wins over `HTTP_PROXY` (BuildKit's proxyEnvFromBuildArgs). */
export function proxyEnvFromBuildArgs(args: Readonly<Record<string, string>>): ProxyEnv | undefined {
  let out: ProxyEnv | undefined;
  for (const key of Object.keys(args).sort()) {
    const name = names.find(([, upper]) => upper === key.toUpperCase());
    if (name) (out ??= {})[name[0]] = args[key];
  }
  return out;
}

/** `env` with each set proxy added in both spellings, replacing the same names already there (containerd's WithEnv replaces or appends). */
export function withProxyEnv(env: readonly string[], proxy: ProxyEnv | undefined): string[] {
  if (!proxy) return [...env];
  const extra: string[] = [];
  for (const [field, upper] of names) {
    const v = proxy[field];
    if (v) extra.push(`${upper}=${v}`, `${upper.toLowerCase()}=${v}`);
  }
  const replaced = new Set(extra.map((e) => e.slice(0, e.indexOf('='))));
  return [...env.filter((e) => !replaced.has(e.includes('=') ? e.slice(0, e.indexOf('=')) : e)), ...extra];
}

/** The op as its digest and cache key see it: an exec op without its proxy settings. */
export function withoutProxyEnv<T extends { kind: string }>(op: T): T {
  if (op.kind !== 'exec' || !('proxyEnv' in op)) return op;
  const { proxyEnv: _, ...rest } = op as T & Pick<ExecOp, 'proxyEnv'>;
  return rest as T;
}
