// `tsbuild login` / `tsbuild logout`: no engine and no state root, only the Docker config file and
// the registry (src/registry/login.ts). Insecure registries come from tsbuild.toml when one is read.
import type { Credentials } from '../src/registry/index.ts';

export interface LoginInput {
  /** As typed; default Docker Hub. */
  server?: string;
  credentials: Credentials;
  /** Hosts reached over plain HTTP (loopback always is). */
  insecureRegistries?: readonly string[];
  /** Default: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
  configPath?: string;
}

export interface LoginReport {
  server: string;
  path: string;
  /** The credential helper holding the secret; undefined: it is in the file, base64, unencrypted. */
  helper?: string;
}

export async function runLogin(input: LoginInput): Promise<LoginReport> {
  const { loginToRegistry } = await import('../src/registry/index.ts');
  return loginToRegistry(input);
}

export async function runLogout(input: { server?: string; configPath?: string }): Promise<{ server: string; removed: boolean }> {
  const { logoutFromRegistry } = await import('../src/registry/index.ts');
  return logoutFromRegistry(input);
}
