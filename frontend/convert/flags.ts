// `--name=value` flags before an instruction's arguments, checked against what the instruction
// accepts. String flags need a value; bool flags take none or true/false; list flags repeat.
import { closest } from '../../src/errors/index.ts';

export type FlagKind = 'string' | 'bool' | 'strings';
export type FlagSpec = Readonly<Record<string, FlagKind>>;

export interface ParsedFlags {
  strings: Map<string, string>;
  bools: Map<string, boolean>;
  lists: Map<string, string[]>;
}

export class FlagError extends Error {
  readonly hint?: string;
  /** The unknown flag's name, when that is the mistake. */
  readonly flag?: string;
  constructor(message: string, hint?: string, flag?: string) {
    super(message);
    this.hint = hint;
    this.flag = flag;
  }
}

export function parseFlags(flags: readonly string[], spec: FlagSpec): ParsedFlags {
  const out: ParsedFlags = { strings: new Map(), bools: new Map(), lists: new Map() };
  const seen = new Set<string>();
  for (const flag of flags) {
    if (!flag.startsWith('--')) throw new FlagError(`invalid flag: ${flag}`);
    const body = flag.slice(2);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? undefined : body.slice(eq + 1);
    const kind = spec[name];
    if (kind === undefined) {
      const near = closest(name, Object.keys(spec));
      throw new FlagError(`unknown flag: --${name}`, near ? `did you mean --${near}?` : undefined, name);
    }
    if (seen.has(name) && kind !== 'strings') throw new FlagError(`duplicate flag specified: --${name}`);
    seen.add(name);
    switch (kind) {
      case 'string':
        if (value === undefined) throw new FlagError(`missing a value on flag: --${name}`);
        out.strings.set(name, value);
        break;
      case 'bool': {
        const v = (value ?? 'true').toLowerCase();
        if (v !== 'true' && v !== 'false') throw new FlagError(`expecting boolean value for flag --${name}, not: ${value}`);
        out.bools.set(name, v === 'true');
        break;
      }
      case 'strings':
        if (value === undefined) throw new FlagError(`missing a value on flag: --${name}`);
        out.lists.set(name, [...(out.lists.get(name) ?? []), value]);
        break;
    }
  }
  return out;
}
