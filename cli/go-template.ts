// `--format` as docker takes it: `json` (one JSON object a line), or a Go template over the
// object's fields: `{{.Repository}}:{{.Tag}}`, `{{json .Config}}`, `{{.Config.Env}}`, with a
// `table ` prefix for aligned columns under a header. Only field access and `json` are
// understood; anything else is refused with the list of fields, not printed half-evaluated.
import { ErrorCodes, invalid } from '../src/errors/index.ts';
import { columns } from './human.ts';

const action = /\{\{-?\s*(.*?)\s*-?\}\}/g;

/** Formats `items` as `format` says; returns the text to print (each item on its own line). */
export function formatItems(items: readonly object[], format: string): string {
  if (format === 'json') return items.map((i) => `${JSON.stringify(i)}\n`).join('');
  const table = format.startsWith('table');
  const body = (table ? format.slice(5).trimStart() : format).replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  // Go refuses `{{` without its `}}` rather than print it: so do we (a typo would otherwise print the template)
  if (body.replace(action, '').includes('{{')) throw invalid(ErrorCodes.OPTION_INVALID, `--format: an action is not closed in "${format}"`, { hint: 'close each {{ with }}, e.g. {{.ID}}' });
  const lines = items.map((i) => render(body, i));
  if (!table) return lines.map((l) => `${l}\n`).join('');
  const header = render(body, null);
  const rows = [header, ...lines].map((l) => l.split('\t'));
  const width = Math.max(...rows.map((r) => r.length));
  return columns(rows.map((r) => [...r, ...Array<string>(width - r.length).fill('')]));
}

/** `item` null renders the header: each field's name in capitals. */
function render(template: string, item: object | null): string {
  return template.replace(action, (_, expr: string) => {
    const m = /^(json\s+)?(\.[\w.]*)$/.exec(expr);
    if (!m) throw invalid(ErrorCodes.OPTION_INVALID, `--format: cannot evaluate "{{${expr}}}"`, { hint: `use fields such as {{.Field}} or {{json .}}${item ? `; fields: ${Object.keys(item).join(', ')}` : ''}` });
    const path = m[2] === '.' ? [] : m[2].slice(1).split('.');
    if (item === null) return path.length ? path.at(-1)!.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase() : '';
    let v: unknown = item;
    for (const key of path) {
      if (v === null || typeof v !== 'object' || !(key in v)) {
        if (v === item) throw invalid(ErrorCodes.OPTION_INVALID, `--format: "${key}" is not a field`, { hint: `fields: ${Object.keys(item).join(', ')}` });
        v = undefined;
        break;
      }
      v = (v as Record<string, unknown>)[key];
    }
    return m[1] ? JSON.stringify(v ?? null) : goString(v);
  });
}

/** A value as Go's fmt prints it in a template: slices as `[a b]`, maps as `map[k:v]`. */
function goString(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => `${k}:${goString(x)}`).join(' ')}]`;
  return String(v);
}
