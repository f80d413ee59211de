// `RUN --mount=type=cache,target=/root/.cache,sharing=locked`: the flag's CSV text → a MountSpec,
// checked the way BuildKit's instructions layer checks it, so a mistake names the option at fault.
// Pure: expansion and `from` resolution happen in run-mounts.ts.
import { closest } from '../../src/errors/index.ts';

export const MOUNT_TYPES = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'] as const;
export type MountType = (typeof MOUNT_TYPES)[number];
const SHARING = ['shared', 'private', 'locked'] as const;
type Sharing = (typeof SHARING)[number];

const KEYS = ['type', 'from', 'source', 'src', 'target', 'dst', 'destination', 'readonly', 'ro', 'readwrite', 'rw', 'id', 'sharing', 'required', 'size', 'mode', 'uid', 'gid', 'env'];

export interface MountSpec {
  type: MountType;
  from?: string;
  source?: string;
  target?: string;
  readonly: boolean;
  id?: string;
  sharing?: Sharing;
  required: boolean;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  /** type=secret: the environment variable that gets the value (Dockerfile 1.10). */
  env?: string;
}

/** A mistake in one --mount value; the caller adds the Dockerfile location. */
export class MountSpecError extends Error {
  readonly hint?: string;
  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

/** Parses one --mount value; `expand` is applied to each value (not to keys). */
export function parseMountSpec(text: string, expand: (value: string) => string = (v) => v): MountSpec {
  const m: MountSpec = { type: 'bind', readonly: false, required: false };
  let readonlySet = false;
  for (const field of splitCsv(text)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro' || key === 'readwrite' || key === 'rw') {
        m.readonly = key === 'readonly' || key === 'ro';
        readonlySet = true;
      } else if (key === 'required') {
        if (m.type !== 'secret' && m.type !== 'ssh') throw new MountSpecError(`unexpected key 'required' for mount type '${m.type}'`);
        m.required = true;
      } else throw new MountSpecError(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    const raw = field.slice(eq + 1);
    if (key === 'from' && /\$./.test(raw)) throw new MountSpecError("'from' doesn't support variable expansion, define alias stage instead");
    const value = expand(raw);
    switch (key) {
      case 'type': {
        const type = value.toLowerCase();
        if (!(MOUNT_TYPES as readonly string[]).includes(type)) throw new MountSpecError(`unsupported mount type "${value}"`, didYouMean(value, MOUNT_TYPES) ?? `use one of ${MOUNT_TYPES.join(', ')}`);
        m.type = type as MountType;
        break;
      }
      case 'from':
        m.from = value;
        break;
      case 'source':
      case 'src':
        m.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = value;
        break;
      case 'readonly':
      case 'ro':
        m.readonly = parseBool(key, value);
        readonlySet = true;
        break;
      case 'readwrite':
      case 'rw':
        m.readonly = !parseBool(key, value);
        readonlySet = true;
        break;
      case 'required':
        if (m.type !== 'secret' && m.type !== 'ssh') throw new MountSpecError(`unexpected key 'required' for mount type '${m.type}'`);
        m.required = parseBool(key, value);
        break;
      case 'size':
        if (m.type !== 'tmpfs') throw new MountSpecError(`unexpected key 'size' for mount type '${m.type}'`, 'size applies to type=tmpfs');
        m.size = parseBytes(value);
        break;
      case 'id':
        m.id = value;
        break;
      case 'sharing': {
        const sharing = value.toLowerCase();
        if (!(SHARING as readonly string[]).includes(sharing)) throw new MountSpecError(`unsupported sharing value "${value}"`, didYouMean(value, SHARING) ?? `use one of ${SHARING.join(', ')}`);
        m.sharing = sharing as Sharing;
        break;
      }
      case 'mode':
        if (!/^[0-7]+$/.test(value) || Number.parseInt(value, 8) > 0o7777) throw new MountSpecError(`invalid value ${value} for mode`, 'use an octal mode such as 0644');
        m.mode = Number.parseInt(value, 8);
        break;
      case 'uid':
      case 'gid':
        if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) throw new MountSpecError(`invalid value ${value} for ${key}`, `${key} is a number`);
        m[key] = Number(value);
        break;
      case 'env':
        if (value === '' || value.includes('=')) throw new MountSpecError(`invalid value "${value}" for env`, 'name an environment variable, e.g. env=API_TOKEN');
        m.env = value;
        break;
      default:
        throw new MountSpecError(`unexpected key '${key}' in '${field}'`, didYouMean(key, KEYS));
    }
  }

  if (m.type !== 'secret' && m.type !== 'ssh' && m.type !== 'cache') {
    for (const k of ['mode', 'uid', 'gid'] as const) if (m[k] !== undefined) throw new MountSpecError(`${k} not allowed for "${m.type}" type mounts`, `${k} applies to cache, secret and ssh mounts`);
  }
  // bind, secret and ssh mounts are read-only unless asked otherwise; cache and tmpfs are writable
  if (!readonlySet) m.readonly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.type === 'secret') {
    if (m.from !== undefined) throw new MountSpecError('secret mount should not have a from');
    if (m.sharing !== undefined) throw new MountSpecError('secret mount should not define sharing');
    if (!m.source && !m.target && !m.id) throw new MountSpecError('invalid secret mount. one of source, target required', 'name the secret with id=NAME');
    if (m.source && m.id) throw new MountSpecError("both source and id can't be set");
  }
  if (m.env !== undefined && m.type !== 'secret') throw new MountSpecError(`unexpected key 'env' for mount type '${m.type}'`, 'env applies to type=secret');
  if (m.type === 'ssh' && m.source) throw new MountSpecError('ssh does not support source');
  if (m.sharing !== undefined && m.type !== 'cache') throw new MountSpecError(`invalid cache sharing set for ${m.type} mount`, 'sharing applies to type=cache');
  if (m.type === 'tmpfs' && m.from !== undefined) throw new MountSpecError('tmpfs mount should not have a from');
  return m;
}

function didYouMean(word: string, options: readonly string[]): string | undefined {
  const near = closest(word, options);
  return near ? `did you mean ${near}?` : undefined;
}

/** Go's strconv.ParseBool. */
function parseBool(key: string, value: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new MountSpecError(`invalid value for ${key}: ${value}`, 'use true or false');
}

const UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** docker/go-units RAMInBytes: `64m`, `1g`, `512kb`, `1.5GiB`; powers of 1024. */
export function parseBytes(value: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(value);
  if (!m) throw new MountSpecError(`invalid value for size: ${value}`, 'use a size such as 64m or 1g');
  return Math.floor(Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]);
}

/** One CSV record as Go's encoding/csv reads it: commas separate, double quotes protect, `""` is a quote. */
export function splitCsv(text: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= text.length) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new MountSpecError(`failed to parse csv mounts: unterminated quote in ${JSON.stringify(text)}`);
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i++];
      }
      if (i < text.length && text[i] !== ',') throw new MountSpecError(`failed to parse csv mounts: extraneous text after a quoted field in ${JSON.stringify(text)}`);
    } else {
      const comma = text.indexOf(',', i);
      const end = comma < 0 ? text.length : comma;
      field = text.slice(i, end);
      i = end;
    }
    fields.push(field);
    i++; // past the comma (or the end)
  }
  return fields.filter((f) => f !== '');
}
