// `-o ...,compression=zstd,compression-level=19,force-compression=true`: how an output that leaves
// the machine (oci, docker, a push) stores its layers, parsed once into a LayerCompression. The
// keys and their meaning are docker buildx's; the default (no key given) is gzip at level 4 (worker/layer/layer-blob.ts says why).
import { ErrorCodes, invalid } from '../src/errors/index.ts';
import type { LayerCompression } from '../exporter/index.ts';

/** The `-o` keys this module reads. */
export const compressionKeys = ['compression', 'compression-level', 'force-compression'] as const;

const levels = { gzip: { min: 0, max: 9 }, zstd: { min: 1, max: 22 } } as const;

/** The compression `fields` ask for; undefined when they name none of compressionKeys. */
export function parseOutputCompression(fields: ReadonlyMap<string, string>): LayerCompression | undefined {
  if (!compressionKeys.some((k) => fields.has(k))) return undefined;
  const name = fields.get('compression') ?? 'gzip';
  if (name !== 'gzip' && name !== 'zstd' && name !== 'uncompressed') {
    throw invalid(ErrorCodes.OPTION_INVALID, `--output: unknown compression "${name}"`, { hint: 'compression= takes gzip, zstd or uncompressed' });
  }
  const out: LayerCompression = { compression: name, force: parseBool(fields, 'force-compression') };
  const levelText = fields.get('compression-level');
  if (levelText !== undefined && name !== 'uncompressed') {
    const { min, max } = levels[name];
    const level = /^-?\d+$/.test(levelText) ? Number(levelText) : NaN;
    if (!(level >= min && level <= max)) {
      throw invalid(ErrorCodes.OPTION_INVALID, `--output: compression-level "${levelText}" is not a ${name} level`, { hint: `${name} levels are ${min} to ${max}` });
    }
    out.level = level;
  }
  return out;
}

function parseBool(fields: ReadonlyMap<string, string>, key: string): boolean {
  const v = fields.get(key);
  if (v === undefined || v === 'false') return false;
  if (v === 'true' || v === '') return true;
  throw invalid(ErrorCodes.OPTION_INVALID, `--output: ${key}="${v}" is not true or false`);
}
