// `--cache-to` / `--cache-from` as docker buildx reads them:
//   type=registry,ref=REF[,mode=min|max][,compression=gzip][,oci-mediatypes=true][,image-manifest=true][,ignore-error=true]
//   type=local,dest=DIR[,mode=...]        (--cache-to)      type=local,src=DIR   (--cache-from)
//   type=inline                           (--cache-to: the cache graph in the image config; import it
//                                          with --cache-from type=registry,ref=IMAGE)
//   REF                                   (--cache-from shorthand for type=registry,ref=REF)
// The cache format is docs/remote-cache.md's.
import { resolve } from 'node:path';
import { ErrorCodes, invalid } from '../src/errors/index.ts';
import { parseReference } from '../src/registry/reference.ts';

export type CacheMode = 'min' | 'max';

export type CacheExportSpec =
  | { type: 'registry'; ref: string; mode: CacheMode; ignoreError: boolean; cacheMounts?: boolean }
  | { type: 'local'; dest: string; mode: CacheMode; ignoreError: boolean; cacheMounts?: boolean }
  /** The cache graph inside the image's own config (its layers are the image's): mode=min only. */
  | { type: 'inline'; mode: 'min'; ignoreError: boolean };

export type CacheImportSpec = { type: 'registry'; ref: string } | { type: 'local'; src: string };

const exportKeys: Record<string, readonly string[]> = {
  registry: ['type', 'ref', 'mode', 'compression', 'compression-level', 'force-compression', 'oci-mediatypes', 'image-manifest', 'ignore-error', 'cache-mounts'],
  local: ['type', 'dest', 'mode', 'compression', 'compression-level', 'force-compression', 'oci-mediatypes', 'image-manifest', 'ignore-error', 'cache-mounts'],
  inline: ['type', 'mode'],
};
const importKeys: Record<string, readonly string[]> = { registry: ['type', 'ref'], local: ['type', 'src', 'digest', 'tag'] };

function fields(text: string, flag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw invalid(ErrorCodes.OPTION_INVALID, `invalid ${flag} "${text}": "${part}" is not key=value`, { hint: `e.g. ${flag} type=registry,ref=registry.example/app:cache` });
    out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

function checkKeys(f: Map<string, string>, valid: Record<string, readonly string[]>, flag: string): string {
  const type = f.get('type') ?? 'registry';
  const keys = valid[type];
  if (!keys) throw invalid(ErrorCodes.OPTION_INVALID, `${flag}: unsupported type "${type}"`, { hint: `one of ${Object.keys(valid).join(', ')}` });
  for (const k of f.keys()) if (!keys.includes(k)) throw invalid(ErrorCodes.OPTION_INVALID, `${flag} type=${type}: unknown key "${k}"`, { hint: `valid keys: ${keys.join(', ')}` });
  return type;
}

function refOf(f: Map<string, string>, flag: string): string {
  const ref = f.get('ref');
  if (!ref) throw invalid(ErrorCodes.OPTION_INVALID, `${flag} type=registry needs ref=REF`);
  parseReference(ref);
  return ref;
}

export function parseCacheTo(text: string): CacheExportSpec {
  const flag = '--cache-to';
  const f = fields(text, flag);
  const type = checkKeys(f, exportKeys, flag);
  const mode = f.get('mode') ?? 'min';
  if (mode !== 'min' && mode !== 'max') throw invalid(ErrorCodes.OPTION_INVALID, `${flag}: mode must be min or max, not "${mode}"`);
  const compression = f.get('compression');
  if (compression !== undefined && compression !== 'gzip') throw invalid(ErrorCodes.OPTION_INVALID, `${flag}: compression=${compression} is not supported for cache exports yet`, { hint: 'the cache is exported gzip-compressed' });
  const ignore = f.get('ignore-error');
  if (ignore !== undefined && ignore !== 'true' && ignore !== 'false') throw invalid(ErrorCodes.OPTION_INVALID, `${flag}: ignore-error must be true or false`);
  // as buildx: a failed cache export fails the build unless ignore-error=true... but the issue asks a warning by default
  const ignoreError = ignore !== 'false';
  if (type === 'inline') {
    if (mode !== 'min') throw invalid(ErrorCodes.OPTION_INVALID, `${flag} type=inline supports mode=min only: an image carries its own layers, not other stages'`, { hint: 'use type=registry or type=local for mode=max' });
    return { type, mode, ignoreError };
  }
  const mounts = f.get('cache-mounts');
  if (mounts !== undefined && mounts !== 'true' && mounts !== 'false') throw invalid(ErrorCodes.OPTION_INVALID, `${flag}: cache-mounts must be true or false`);
  const cacheMounts = mounts === 'true' ? { cacheMounts: true } : {};
  if (type === 'local') {
    const dest = f.get('dest');
    if (!dest) throw invalid(ErrorCodes.OPTION_INVALID, `${flag} type=local needs dest=DIR`);
    return { type, dest: resolve(dest), mode, ignoreError, ...cacheMounts };
  }
  return { type: 'registry', ref: refOf(f, flag), mode, ignoreError, ...cacheMounts };
}

export function parseCacheFrom(text: string): CacheImportSpec {
  const flag = '--cache-from';
  if (!text.includes('=')) return { type: 'registry', ref: (parseReference(text), text) };
  const f = fields(text, flag);
  const type = checkKeys(f, importKeys, flag);
  if (type === 'local') {
    const src = f.get('src');
    if (!src) throw invalid(ErrorCodes.OPTION_INVALID, `${flag} type=local needs src=DIR`);
    return { type, src: resolve(src) };
  }
  return { type: 'registry', ref: refOf(f, flag) };
}
