// `tsbuild logout [SERVER]`, as `docker logout`: removes the registry's saved credentials from
// the Docker config and its credential helper.
import type { Command } from 'commander';
import { logoutRegistry } from '../../control/index.ts';

export function registerLogout(program: Command): void {
  program
    .command('logout')
    .description('log out from a registry (default: Docker Hub)')
    .argument('[server]', 'registry host, e.g. registry.example.com:5000')
    .action(async (server: string | undefined) => {
      const { server: name, removed } = await logoutRegistry({ server });
      process.stdout.write(removed ? `Removing login credentials for ${name}\n` : `Not logged in to ${name}\n`);
    });
}
