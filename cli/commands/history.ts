// `tsbuild history IMAGE` (also `tsbuild image history`): how each layer of an image was made,
// newest first, as `docker history` prints it.
import type { Command } from 'commander';
import type { HistoryRow } from '../../control/index.ts';
import { ago, columns, humanSize } from '../human.ts';
import { examples, withEngine } from '../engine-command.ts';
import { formatItems } from '../go-template.ts';
import { goTime } from './images.ts';

interface HistoryFlags {
  quiet?: boolean;
  trunc?: boolean;
  human?: boolean;
  format?: string;
}

export function registerHistory(program: Command, name = 'history'): void {
  program
    .command(name)
    .description('show the history of an image')
    .argument('<image>', 'a name or id')
    .option('-q, --quiet', 'print only image ids')
    .option('--no-trunc', 'do not shorten the output')
    .option('-H, --human [bool]', 'sizes and dates in human-readable form', (v) => v !== 'false', true)
    .option('--format <format>', 'json, or a Go template such as "{{.CreatedBy}}"')
    .addHelpText('after', examples('tsbuild history app:latest', 'tsbuild history --no-trunc app', 'tsbuild history --format json app'))
    .action(async (image: string, flags: HistoryFlags, cmd: Command) => {
      const rows = await withEngine(cmd, (e) => e.history(image));
      process.stdout.write(formatHistory(rows, flags));
    });
}

export function formatHistory(rows: HistoryRow[], flags: HistoryFlags, now = Date.now()): string {
  const trunc = flags.trunc !== false;
  const id = (r: HistoryRow) => (trunc && r.id !== '<missing>' ? r.id.slice(7, 19) : r.id);
  if (flags.quiet) return rows.map((r) => `${id(r)}\n`).join('');
  const human = flags.human !== false;
  const created = (r: HistoryRow) => (r.created === '' ? 'N/A' : human ? ago(Date.parse(r.created), now) : r.created);
  const size = (r: HistoryRow) => (human ? humanSize(r.size) : String(r.size));
  const by = (r: HistoryRow) => (trunc && r.createdBy.length > 45 ? `${r.createdBy.slice(0, 44)}…` : r.createdBy).replace(/\s*\n\s*/g, ' ');
  if (flags.format !== undefined) {
    const items = rows.map((r) => ({ Comment: r.comment, CreatedAt: r.created === '' ? '' : goTime(Date.parse(r.created)), CreatedBy: by(r), CreatedSince: created(r), ID: id(r), Size: size(r) }));
    return formatItems(items, flags.format);
  }
  return columns([['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], ...rows.map((r) => [id(r), created(r), by(r), size(r), r.comment])]);
}
