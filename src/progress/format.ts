// Numbers and warnings as buildx writes them, shared by the renderers.
import type { ProgressEvent } from './events.ts';
import { escapeControl } from './terminal-text.ts';

/** Bytes as BuildKit's progress prints them (tonistiigi/units, decimal): `38B`, `1.20kB`, `12.35MB`. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n}B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(2)}${units[i]}`;
}

export type WarningEvent = Extract<ProgressEvent, { type: 'build.warning' }>;

/**
 * The summary buildx prints once at the end of a build (plain and tty), or '' without warnings:
 * `\n 2 warnings found:\n - JSONArgsRecommended: … (line 3)\n - …\n`.
 */
export function formatWarningSummary(warnings: readonly WarningEvent[]): string {
  if (warnings.length === 0) return '';
  const n = warnings.length;
  const lines = warnings.map((w) => ` - ${oneLine(w.message)}${w.location ? ` (${w.location.file === 'Dockerfile' ? '' : `${w.location.file} `}line ${w.location.line})` : ''}`);
  return `\n ${n === 1 ? '1 warning found' : `${n} warnings found`}:\n${lines.join('\n')}\n`;
}

/** Text from a Dockerfile or a context as one line a reader can trust: controls escaped, newlines shown as `\n`. */
export const oneLine = (text: string) => escapeControl(text).replace(/\n/g, '\\n');
