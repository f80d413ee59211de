// Checks a parsed config file against its JSON Schema (src/config/schema.ts) with Ajv, and turns
// Ajv's first error into a TsbuildError naming the file, the line of the offending key and what
// that key accepts. Loaded only when a config file exists.
import { Ajv, type ErrorObject } from 'ajv';
import { ErrorCodes, invalid } from '../errors/index.ts';
import { configSchema, type KeySchema } from './schema.ts';

let compiled: ReturnType<Ajv['compile']> | undefined;

/** Throws CONFIG_INVALID for the first key the schema refuses. */
export function validateConfig(doc: Record<string, unknown>, path: string, text: string): void {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
    ajv.addKeyword({ keyword: 'defaultText', schemaType: 'string' });
    compiled = ajv.compile(configSchema);
  }
  if (compiled(doc)) return;
  const err = compiled.errors![0];
  const keys = err.instancePath.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  throw describe(err, keys, path, text);
}

function describe(err: ErrorObject, keys: string[], path: string, text: string) {
  const known = (table: string[]) => Object.keys(lookup(table)?.properties ?? {});
  if (err.keyword === 'additionalProperties') {
    const extra = String((err.params as { additionalProperty: string }).additionalProperty);
    const where = [...keys, extra];
    const table = keys.length === 0 ? 'the file' : `[${keys.join('.')}]`;
    const line = keyLine(text, where);
    return invalid(ErrorCodes.CONFIG_INVALID, `${at(path, line)}: unknown ${keys.length === 0 ? 'table' : 'key'} "${where.join('.')}"`, {
      hint: `known in ${table}: ${known(keys).join(', ')} (tsbuild config lists them)`,
      ...(line !== undefined && { location: { file: path, line, column: 1, text: text.split('\n')[line - 1] } }),
    });
  }
  const schema = lookup(keys) as KeySchema | undefined;
  const line = keyLine(text, keys);
  const name = keys.join('.');
  let what = err.message ?? 'is not valid';
  if (err.keyword === 'type') {
    const types = [(err.params as { type: string | string[] }).type].flat();
    what = keys.length === 1 ? `must be a table ([${name}])` : `must be ${types.map(article).join(' or ')}`;
  } else if (err.keyword === 'enum') {
    what = `must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return invalid(ErrorCodes.CONFIG_INVALID, `${at(path, line)}: ${name} ${what}`, {
    ...(schema?.description && { hint: `${name}: ${schema.description}` }),
    ...(line !== undefined && { location: { file: path, line, column: 1, text: text.split('\n')[line - 1] } }),
  });
}

const article = (t: string) => ({ integer: 'a whole number', array: 'a list', object: 'a table', boolean: 'true or false' })[t] ?? `a ${t}`;
const at = (path: string, line: number | undefined) => (line === undefined ? path : `${path}:${line}`);

function lookup(keys: string[]): { properties?: Record<string, unknown>; description?: string } | undefined {
  let node: unknown = configSchema;
  for (const k of keys) {
    if (/^\d+$/.test(k)) continue; // an item of a list: its key's schema says enough
    node = (node as { properties?: Record<string, unknown> }).properties?.[k];
    if (node === undefined) return undefined;
  }
  return node as { properties?: Record<string, unknown> };
}

/**
 * The 1-based line where `keys` (table, key) is set: `[table]` then `key =`, a dotted `table.key =`,
 * or an inline `table = { key = ... }`; the table's header when the key is not found. smol-toml
 * reports no positions for valid documents, and a config file is small, so a scan is enough.
 */
export function keyLine(text: string, keys: readonly string[]): number | undefined {
  const keyNames = keys.filter((k) => !/^\d+$/.test(k));
  const [table, key] = keyNames;
  const lines = text.split('\n');
  const bare = (s: string) => s.trim().replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  let current = '';
  let header: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].replace(/#.*$/, '').trim();
    const h = /^\[\s*([^\]]+?)\s*\]$/.exec(l);
    if (h) {
      current = h[1].split('.').map(bare).join('.');
      if (current === table) {
        if (key === undefined) return i + 1;
        header = i + 1;
      }
      continue;
    }
    const eq = l.indexOf('=');
    if (eq <= 0) continue;
    const lhs = l.slice(0, eq).split('.').map(bare).join('.');
    const full = current ? `${current}.${lhs}` : lhs;
    if (key === undefined ? full === table || full.startsWith(`${table}.`) : full === `${table}.${key}`) return i + 1;
    if (key !== undefined && full === table && l.slice(eq + 1).includes(key)) return i + 1;
  }
  return header;
}
