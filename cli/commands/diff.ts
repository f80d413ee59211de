// `tsbuild diff A B`: compares two images file by file (path, type, mode, owner, size, content
// digest, link target, xattrs) and by the config fields a Dockerfile controls. Exit 0 when they
// are the same, 1 when they differ, as diff(1).
import type { Command } from 'commander';
import { diffImages, resolveStateRoot, type ImageDiff } from '../../control/index.ts';
import { ErrorCodes, invalid } from '../../src/errors/index.ts';
import { formatError } from '../format-error.ts';

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('compare two images file by file and config by config')
    .argument('<a>', 'an image: a tag, digest or id of the local store, an OCI layout directory, or an image tarball')
    .argument('<b>', 'the image to compare it with')
    .option('--format <format>', 'text (default) or json')
    .addHelpText('after', `
Timestamps and user/group names are left out: two builds of the same inputs should show no difference.
Exit status: 0 the same, 1 different, 2 trouble (an image not found or not readable, bad usage).

Examples:
  tsbuild diff app:1 app:2
  tsbuild build -o type=oci,dest=a.tar . && tsbuild --root /tmp/other build -o type=oci,dest=b.tar . && tsbuild diff a.tar b.tar`)
    .action(async (a: string, b: string, flags: { format?: string }, cmd: Command) => {
      const format = flags.format ?? 'text';
      if (format !== 'text' && format !== 'json') throw invalid(ErrorCodes.OPTION_INVALID, `unknown --format "${format}"`, { hint: 'one of text, json' });
      let diff: ImageDiff;
      try {
        diff = await diffImages(resolveStateRoot((cmd.optsWithGlobals() as { root?: string }).root), a, b);
      } catch (e) {
        // as diff(1): 1 means "they differ", so trouble is 2
        process.stderr.write(formatError(e));
        process.exitCode = 2;
        return;
      }
      process.stdout.write(format === 'json' ? `${JSON.stringify(diff, null, 2)}\n` : formatDiff(diff));
      if (!diff.identical) process.exitCode = 1;
    });
}

export function formatDiff(d: ImageDiff): string {
  let out = `--- ${d.a.name} (${d.a.id.slice(0, 19)})\n+++ ${d.b.name} (${d.b.id.slice(0, 19)})\n`;
  if (d.identical) return `${out}the same: every file and the config\n`;
  const lines = [...d.onlyA.map((l) => ({ l, s: '-' })), ...d.onlyB.map((l) => ({ l, s: '+' })), ...d.changed.flatMap((c) => [{ l: c.a, s: '-' }, { l: c.b, s: '+' }])];
  // by path, then - before +
  lines.sort((x, y) => (x.l.split('\t')[0] < y.l.split('\t')[0] ? -1 : x.l.split('\t')[0] > y.l.split('\t')[0] ? 1 : x.s === '-' ? -1 : 1));
  if (lines.length > 0) out += `files: ${d.changed.length} changed, ${d.onlyA.length} only in ${d.a.name}, ${d.onlyB.length} only in ${d.b.name}\n${lines.map((x) => `${x.s} ${x.l}\n`).join('')}`;
  if (d.config) out += `config:\n${formatConfigDiff(d.config.a, d.config.b)}`;
  return out;
}

/**
 * The lines of two normalized configs (2-space indented JSON) that differ, field by field: a change
 * inside a field (one Env entry, one label) follows that field's line as context, so `+ "sh"` says
 * which list it is in. Trailing commas are left out: a list's last entry is not "changed" by one
 * added after it.
 */
function formatConfigDiff(a: string, b: string): string {
  const fields = (text: string) => {
    const byField = new Map<string, string[]>();
    let field = '';
    for (const raw of text.split('\n')) {
      const line = raw.replace(/,$/, '');
      if (line === '' || line === '{' || line === '}') continue;
      if (/^ {2}"/.test(line)) field = line;
      byField.set(field, [...(byField.get(field) ?? []), line]);
    }
    return byField;
  };
  const [fa, fb] = [fields(a), fields(b)];
  const name = (line: string) => /^ {2}("[^"]*")/.exec(line)?.[1] ?? line;
  const keys = new Map<string, string>();
  for (const f of [...fa.keys(), ...fb.keys()]) if (!keys.has(name(f))) keys.set(name(f), f);
  let out = '';
  for (const [key] of [...keys].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
    const la = [...fa].find(([f]) => name(f) === key)?.[1] ?? [];
    const lb = [...fb].find(([f]) => name(f) === key)?.[1] ?? [];
    const removed = la.filter((l) => !lb.includes(l));
    const added = lb.filter((l) => !la.includes(l));
    if (removed.length === 0 && added.length === 0) continue;
    const header = la[0] ?? lb[0];
    if (!removed.includes(header) && !added.includes(header)) out += `  ${header}\n`;
    out += removed.map((l) => `- ${l}\n`).join('') + added.map((l) => `+ ${l}\n`).join('');
  }
  return out;
}
