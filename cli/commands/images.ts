// `tsbuild images` (also `tsbuild image ls`): the images in the local store, like `docker images`.
// Dangling images (an untagged build or load) show as <none> with -a or --filter dangling=true.
import type { Command } from 'commander';
import type { ImageRow } from '../../control/index.ts';
import { ErrorCodes, invalid } from '../../src/errors/index.ts';
import { ago, columns, humanSize } from '../human.ts';
import { examples, withEngine } from '../engine-command.ts';
import { formatItems } from '../go-template.ts';
import { collect } from '../repeatable.ts';

interface ImagesFlags {
  all?: boolean;
  quiet?: boolean;
  format?: string;
  trunc?: boolean;
  digests?: boolean;
  filter?: string[];
}

export function registerImages(program: Command, name = 'images'): void {
  program
    .command(name)
    .description('list the images in the local store')
    .argument('[repository]', 'only this repository (or repository:tag)')
    .option('-a, --all', 'also dangling images (<none>: untagged builds and loads)')
    .option('-q, --quiet', 'print only image ids')
    .option('-f, --filter <filter>', 'dangling=true|false, reference=PATTERN (repeatable)', collect)
    .option('--format <format>', 'json, or a Go template such as "{{.Repository}}:{{.Tag}}"')
    .option('--digests', 'show digests')
    .option('--no-trunc', 'show whole image ids')
    .addHelpText('after', examples('tsbuild images', 'tsbuild images -a --format json', 'tsbuild images app', "tsbuild images --format '{{.Repository}}:{{.Tag}} {{.ID}}'"))
    .action(async (repository: string | undefined, flags: ImagesFlags, cmd: Command) => {
      const rows = filterRows(await withEngine(cmd, (e) => e.images()), repository, flags);
      process.stdout.write(formatImages(rows, flags));
    });
}

export function filterRows(rows: ImageRow[], repository: string | undefined, flags: ImagesFlags): ImageRow[] {
  let dangling: boolean | undefined;
  const patterns: RegExp[] = [];
  for (const f of flags.filter ?? []) {
    const eq = f.indexOf('=');
    const [key, value] = eq < 0 ? [f, ''] : [f.slice(0, eq), f.slice(eq + 1)];
    if (key === 'dangling' && (value === 'true' || value === 'false')) dangling = value === 'true';
    else if (key === 'reference' && value) patterns.push(glob(value));
    else throw invalid(ErrorCodes.OPTION_INVALID, `--filter ${f}: not a filter tsbuild images knows`, { hint: 'dangling=true, dangling=false or reference=PATTERN (e.g. reference=app:*)' });
  }
  if (repository !== undefined) patterns.push(glob(repository.includes(':') ? repository : `${repository}:*`));
  return rows.filter((r) => {
    if (dangling !== undefined) return r.dangling === dangling && matches(r, patterns);
    if (r.dangling && !flags.all) return false;
    return matches(r, patterns);
  });
}

function matches(r: ImageRow, patterns: RegExp[]): boolean {
  return patterns.every((p) => !r.dangling && p.test(`${r.repository}:${r.tag}`));
}

function glob(pattern: string): RegExp {
  const withTag = /:[^/]*$/.test(pattern) ? pattern : `${pattern}:*`;
  return new RegExp(`^${withTag.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
}

/** Go's default time layout, as docker prints CreatedAt: `2024-05-01 10:00:00 +0000 UTC`. */
export function goTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}

export function formatImages(rows: ImageRow[], flags: ImagesFlags, now = Date.now()): string {
  const id = (r: ImageRow) => (flags.trunc === false ? r.imageId : r.imageId.slice(7, 19));
  if (flags.quiet) return [...new Set(rows.map(id))].map((i) => `${i}\n`).join('');
  if (flags.format !== undefined) {
    const items = rows.map((r) => ({
      Containers: 'N/A',
      CreatedAt: goTime(r.created),
      CreatedSince: ago(r.created, now),
      Digest: r.digest,
      ID: id(r),
      Repository: r.repository,
      SharedSize: 'N/A',
      Size: humanSize(r.size),
      Tag: r.tag,
      UniqueSize: 'N/A',
      VirtualSize: humanSize(r.size),
    }));
    return formatItems(items, flags.format);
  }
  const head = ['REPOSITORY', 'TAG', ...(flags.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
  return columns([head, ...rows.map((r) => [r.repository, r.tag, ...(flags.digests ? [r.digest] : []), id(r), ago(r.created, now), humanSize(r.size)])]);
}
