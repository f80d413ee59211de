// An ordered environment (`KEY=value` pairs) where setting a key replaces it in place, as the
// image config and LLB state keep it.
import type { EnvLookup } from '../shell-lex.ts';

export type EnvList = ReadonlyArray<readonly [string, string]>;

export function setEnv(env: EnvList, key: string, value: string): EnvList {
  const i = env.findIndex(([k]) => k === key);
  if (i < 0) return [...env, [key, value]];
  const out = [...env];
  out[i] = [key, value];
  return out;
}

export function envFromStrings(list: readonly string[] | undefined): EnvList {
  let env: EnvList = [];
  for (const entry of list ?? []) {
    const eq = entry.indexOf('=');
    env = eq < 0 ? setEnv(env, entry, '') : setEnv(env, entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

export const envToStrings = (env: EnvList): string[] => env.map(([k, v]) => `${k}=${v}`);

export function envLookup(env: EnvList): EnvLookup {
  const map = new Map(env);
  return (name) => map.get(name);
}

export function getEnv(env: EnvList, key: string): string | undefined {
  return env.find(([k]) => k === key)?.[1];
}
