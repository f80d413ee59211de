// `tsbuild config [--format json]`: prints the effective configuration: every key the config file
// can set, its value, and where it came from (FILE:LINE or the default).
import type { Command } from 'commander';
import { describeConfig, resolveStateRoot, type ConfigReport } from '../../control/index.ts';
import { ErrorCodes, invalid } from '../../src/errors/index.ts';

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('show the effective configuration and where each value comes from')
    .option('--format <format>', 'table (default) or json')
    .addHelpText('after', `
The config file is the first that exists of: --config FILE, $TSBUILD_CONFIG, <root>/tsbuild.toml,
$XDG_CONFIG_HOME/tsbuild/tsbuild.toml. Flags of tsbuild build override it key by key.

Examples:
  tsbuild config
  tsbuild --config ./ci.toml config --format json`)
    .action(async (flags: { format?: string }, cmd: Command) => {
      const format = flags.format ?? 'table';
      if (format !== 'table' && format !== 'json') throw invalid(ErrorCodes.OPTION_INVALID, `unknown --format "${format}"`, { hint: 'one of table, json' });
      const report = await describeConfig(resolveStateRoot((cmd.optsWithGlobals() as { root?: string }).root));
      process.stdout.write(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatConfig(report));
    });
}

export function formatConfig(report: ConfigReport): string {
  let out = report.path ? `config file: ${report.path}\n` : `config file: none (looked for ${report.searched.join(', ')})\n`;
  let table = '';
  const width = Math.max(...report.rows.map((r) => r.key.length - r.key.indexOf('.') + (r.value === undefined ? 0 : JSON.stringify(r.value).length + 3)));
  for (const r of report.rows) {
    // a key without a table (registry-mirrors) sits before every table, as TOML needs it
    const dot = r.key.indexOf('.');
    const [t, key] = dot < 0 ? ['', r.key] : [r.key.slice(0, dot), r.key.slice(dot + 1)];
    if (t !== table) {
      out += t ? `\n[${t}]\n` : '';
      table = t;
    }
    const left = r.value === undefined ? `# ${key}` : `${key} = ${JSON.stringify(r.value)}`;
    const right = r.value === undefined ? `default: ${r.defaultText}` : `from ${r.source}`;
    out += `${left.padEnd(width + 2)}  # ${right}; ${r.description}\n`;
  }
  return out;
}
