// `tsbuild version`: what `docker version` prints for its client, without opening a state root.
import { arch, platform } from 'node:os';
import type { Command } from 'commander';
import { examples } from '../engine-command.ts';
import { formatItems } from '../go-template.ts';

const goArch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export function registerVersion(program: Command, version: string): void {
  program
    .command('version')
    .description('show the tsbuild version')
    .option('-f, --format <format>', 'json, or a Go template such as "{{.Version}}"')
    .addHelpText('after', examples('tsbuild version', "tsbuild version --format '{{.Version}}'"))
    .action((flags: { format?: string }) => {
      const info = { Version: version, NodeVersion: process.version, Os: platform(), Arch: goArch[arch()] ?? arch() };
      if (flags.format !== undefined) {
        process.stdout.write(formatItems([info], flags.format));
        return;
      }
      process.stdout.write(`tsbuild:\n Version:           ${info.Version}\n Node.js version:   ${info.NodeVersion}\n OS/Arch:           ${info.Os}/${info.Arch}\n`);
    });
}
