// `--output` text → a typed OutputSpec, once, as docker buildx reads it: comma-separated
// key=value fields where double quotes protect commas (`"name=a:1,b:1"`), `-o DIR` for
// type=local, `-o -` for a tar of the files on stdout. Keys a type does not know are refused
// with the ones it does (control/output-keys.ts).
import { resolve } from 'node:path';
import { ErrorCodes, invalid } from '../src/errors/index.ts';
import type { LayerCompression, ManifestOptions, OutputAnnotations, OutputSpec } from '../exporter/index.ts';
import { parseReference } from '../src/registry/reference.ts';
import { OutputTypes, describeOutputKeys, isOutputKey, isOutputType } from './output-keys.ts';
import type { OutputType } from './output-keys.ts';
import { parseOutputCompression } from './output-compression.ts';

/** Splits on commas outside double quotes; `""` inside quotes is one quote, as a CSV field. */
export function splitOutputFields(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      if (quoted && text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = !quoted;
    } else if (c === ',' && !quoted) {
      fields.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) throw invalid(ErrorCodes.OPTION_INVALID, `invalid --output "${text}": a double quote is not closed`);
  fields.push(field);
  return fields;
}

// as Go's strconv.ParseBool, which buildx uses for these keys
const trueWords = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const falseWords = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

function parseBool(type: string, key: string, value: string): boolean {
  if (trueWords.has(value)) return true;
  if (falseWords.has(value)) return false;
  throw invalid(ErrorCodes.OPTION_INVALID, `--output type=${type}: ${key}=${value} is not true or false`);
}

const annotationPrefixes: readonly [string, keyof OutputAnnotations][] = [
  ['annotation-manifest-descriptor.', 'manifestDescriptor'],
  ['annotation-manifest.', 'manifest'],
  ['annotation-index.', 'index'],
  ['annotation.', 'manifest'],
];

function manifestOptions(type: string, fields: Map<string, string>): ManifestOptions & { compression?: LayerCompression } {
  const annotations: OutputAnnotations = { manifest: {}, index: {}, manifestDescriptor: {} };
  let any = false;
  for (const [key, value] of fields) {
    const found = annotationPrefixes.find(([p]) => key.startsWith(p));
    if (!found) continue;
    annotations[found[1]][key.slice(found[0].length)] = value;
    any = true;
  }
  const oci = fields.get('oci-mediatypes');
  const ociMediaTypes = oci === undefined ? undefined : parseBool(type, 'oci-mediatypes', oci);
  if (ociMediaTypes === false && any) {
    throw invalid(ErrorCodes.OPTION_INVALID, `--output type=${type}: an image with Docker's media types (oci-mediatypes=false) cannot carry annotations`, {
      hint: 'drop oci-mediatypes=false, or the annotation keys',
    });
  }
  const compression = parseOutputCompression(fields);
  const rewrite = fields.get('rewrite-timestamp');
  const rewriteTimestamp = rewrite === undefined ? undefined : parseBool(type, 'rewrite-timestamp', rewrite);
  return { ...(ociMediaTypes === undefined ? {} : { ociMediaTypes }), ...(any ? { annotations } : {}), ...(compression ? { compression } : {}), ...(rewriteTimestamp === undefined ? {} : { rewriteTimestamp }) };
}

/** `type=oci,dest=app.tar` → an OutputSpec. Throws OPTION_INVALID (or REFERENCE_INVALID for a bad name=). */
export function parseOutputSpec(text: string): OutputSpec {
  // buildx's shorthands: `-o -` is a tar of the files on stdout, `-o DIR` a directory of them
  if (text === '-') return { type: 'tar', dest: '-' };
  if (!text.includes('=')) return parseOutputSpec(`type=local,dest=${text}`);
  const fields = new Map<string, string>();
  for (const part of splitOutputFields(text)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw invalid(ErrorCodes.OPTION_INVALID, `invalid --output "${text}": "${part}" is not key=value`);
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  // as buildx: only the bare shorthands above imply a type (`-o dest=x` is most likely a typo of one)
  const typeText = fields.get('type');
  if (typeText === undefined) throw invalid(ErrorCodes.OPTION_INVALID, `invalid --output "${text}": type is required`, { hint: `add type=: ${OutputTypes.map((t) => `type=${t}`).join(', ')}; -o DIR is type=local,dest=DIR` });
  if (!isOutputType(typeText)) throw invalid(ErrorCodes.OPTION_INVALID, `unknown output type "${typeText}"`, { hint: `one of ${OutputTypes.join(', ')}` });
  const type: OutputType = typeText;
  for (const key of fields.keys()) {
    if (!isOutputKey(type, key)) {
      throw invalid(ErrorCodes.OPTION_INVALID, `--output type=${type}: unknown key "${key}"`, { hint: `type=${type} takes ${describeOutputKeys(type)}` });
    }
  }
  const dest = fields.get('dest');
  const needDest = () => {
    if (!dest) throw invalid(ErrorCodes.OPTION_INVALID, `--output type=${type} needs dest=PATH`);
    return dest === '-' ? dest : resolve(dest);
  };
  // as buildx, `name=` lists several names with commas (quote the field: "name=a:1,b:1")
  const names = (fields.get('name') ?? '').split(/[\s,;]+/).filter(Boolean);
  for (const name of names) parseReference(name);
  switch (type) {
    case 'image':
    case 'registry': {
      const push = type === 'registry' || (fields.has('push') && parseBool(type, 'push', fields.get('push')!));
      return { type: 'image', names, push, ...manifestOptions(type, fields) };
    }
    case 'oci': {
      const tar = fields.has('tar') ? parseBool(type, 'tar', fields.get('tar')!) : true;
      const to = needDest();
      if (to === '-' && !tar) throw invalid(ErrorCodes.OPTION_INVALID, '--output type=oci,tar=false writes a directory, which cannot go to stdout', { hint: 'name a directory: dest=./layout' });
      return { type: 'oci', dest: to, tar, names, ...manifestOptions(type, fields) };
    }
    case 'docker':
      // no dest: loaded into the local Docker daemon, as buildx does
      return { type: 'docker', ...(dest ? { dest: needDest() } : {}), names, ...manifestOptions(type, fields) };
    case 'local': {
      const to = needDest();
      if (to === '-') throw invalid(ErrorCodes.OPTION_INVALID, '--output type=local writes a directory, which cannot go to stdout', { hint: 'use type=tar,dest=- (or -o -)' });
      // the files of an image over the host's own: /bin, /etc/passwd, links replaced by directories
      if (to === '/') throw invalid(ErrorCodes.OPTION_INVALID, '--output type=local,dest=/ would write the image over this machine\'s own files', { hint: 'name a directory of its own, e.g. dest=./out' });
      return { type: 'local', dest: to };
    }
    case 'tar':
      return { type: 'tar', dest: needDest() };
    default: {
      const never: never = type;
      throw invalid(ErrorCodes.OPTION_INVALID, `unknown output type "${String(never)}"`);
    }
  }
}

/** The output that writes to stdout (`dest=-`), if any. */
export function stdoutOutput(outputs: readonly OutputSpec[]): OutputSpec | undefined {
  return outputs.find((o) => o.type !== 'image' && o.dest === '-');
}
