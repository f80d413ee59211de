// The canonical listing of an image: its root filesystem with the layers applied in order
// (whiteouts, opaque directories, hard links, symlinked parents resolved inside the root), one
// line per path, and the config fields a Dockerfile controls. `tsbuild diff` compares two images
// with it, and the differential tests judge tsbuild's outputs with it. The format is the shared
// oracle tools' (fslist.py) byte for byte, so one expected file serves both:
//   PATH \t TYPE \t MODE \t UID \t GID \t SIZE \t EXTRA [\t links=N] [\t xattr:K=V ...]
// Timestamps and user/group names are left out: they are what a rebuild may change and nobody reads.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { ErrorCodes, invalid } from '../errors/index.ts';
import type { ImageConfig } from './types.ts';

interface Node {
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  size?: number;
  sha?: string;
  target?: string;
  dev?: [number, number];
  xattrs: [string, string][];
}

const maxSymlinkHops = 40;

/** An image's filesystem, built by applying its layers in order. */
export class ImageFs {
  // "a/b" → inode; several paths share one Node for hard links; the root "" is implicit
  readonly #paths = new Map<string, Node>();

  /** Applies one layer blob (gzip, zstd or plain tar, told apart by their first bytes). */
  async applyLayer(blob: Readable, name: string): Promise<void> {
    const added = new Set<string>();
    const tar = extract();
    tar.on('entry', (header, stream, next) => {
      this.#entry(header, stream as unknown as Readable, added, name).then(() => next(), (e: unknown) => {
        stream.resume();
        next(e as Error);
      });
    });
    await pipeline(blob, decompressor(), tar);
  }

  async #entry(h: Header, body: Readable, added: Set<string>, layer: string): Promise<void> {
    const normal = normalize(h.name);
    if (normal === '') return void body.resume(); // the root directory's own entry
    const name = this.#resolveParent(normal, layer);
    const slash = name.lastIndexOf('/');
    const parent = slash < 0 ? '' : name.slice(0, slash);
    const base = name.slice(slash + 1);
    if (base === '.wh..wh..opq') {
      const prefix = parent ? `${parent}/` : '';
      for (const p of [...this.#paths.keys()]) if (p.startsWith(prefix) && !added.has(p)) this.#paths.delete(p);
      return void body.resume();
    }
    if (base.startsWith('.wh.')) {
      this.#removeTree(parent ? `${parent}/${base.slice(4)}` : base.slice(4));
      return void body.resume();
    }
    this.#mkparents(name, added);
    if (h.type === 'link') {
      const target = this.#resolveParent(normalize(h.linkname ?? ''), layer);
      const node = this.#paths.get(target);
      if (!node) throw invalid(ErrorCodes.IMAGE_INVALID, `layer ${layer}: hard link ${name} -> ${target}: the target is missing`);
      this.#removeTree(name);
      this.#paths.set(name, node);
      added.add(name);
      return void body.resume();
    }
    const xattrs = Object.entries(h.pax ?? {})
      .filter(([k]) => k.startsWith('SCHILY.xattr.'))
      .map(([k, v]) => [k.slice('SCHILY.xattr.'.length), v] as [string, string]);
    // ids past the header's octal field (262143) come in PAX records, which tar-stream leaves to us
    const id = (pax: string | undefined, plain: number | undefined) => (pax !== undefined && /^\d+$/.test(pax) ? Number(pax) : (plain ?? 0));
    const node: Node = { type: 'file', mode: (h.mode ?? 0) & 0o7777, uid: id((h.pax as Record<string, string> | undefined)?.uid, h.uid), gid: id((h.pax as Record<string, string> | undefined)?.gid, h.gid), xattrs };
    switch (h.type) {
      case 'file':
      case 'contiguous-file': {
        const hash = createHash('sha256');
        let size = 0;
        for await (const chunk of body) {
          hash.update(chunk as Buffer);
          size += (chunk as Buffer).length;
        }
        node.size = size;
        node.sha = hash.digest('hex');
        break;
      }
      case 'directory':
        node.type = 'dir';
        break;
      case 'symlink':
        node.type = 'symlink';
        node.target = h.linkname ?? '';
        node.mode = 0o777;
        break;
      case 'character-device':
      case 'block-device':
        node.type = h.type === 'character-device' ? 'char' : 'block';
        node.dev = [h.devmajor ?? 0, h.devminor ?? 0];
        break;
      case 'fifo':
        node.type = 'fifo';
        break;
      default:
        throw invalid(ErrorCodes.IMAGE_INVALID, `layer ${layer}: ${name}: unsupported tar entry type ${String(h.type)}`);
    }
    body.resume();
    const old = this.#paths.get(name);
    // a directory over a directory keeps what is below it; anything else replaces the subtree
    if (old && !(old.type === 'dir' && node.type === 'dir')) this.#removeTree(name);
    this.#paths.set(name, node);
    added.add(name);
  }

  #removeTree(path: string): void {
    const old = this.#paths.get(path);
    this.#paths.delete(path);
    if (old?.type !== 'dir') return;
    const prefix = `${path}/`;
    for (const p of [...this.#paths.keys()]) if (p.startsWith(prefix)) this.#paths.delete(p);
  }

  #mkparents(path: string, added: Set<string>): void {
    const missing: string[] = [];
    for (let d = dirOf(path); d && !this.#paths.has(d); d = dirOf(d)) missing.push(d);
    for (const d of missing.reverse()) {
      this.#paths.set(d, { type: 'dir', mode: 0o755, uid: 0, gid: 0, xattrs: [] });
      added.add(d);
    }
  }

  // symlinks in the parent components are followed, staying inside the root, as containerd's apply does
  #resolveParent(path: string, layer: string): string {
    const parts = path.split('/');
    const last = parts.pop()!;
    let comps = parts;
    let out: string[] = [];
    let hops = 0;
    for (let i = 0; i < comps.length; ) {
      const c = comps[i++];
      if (c === '' || c === '.') continue;
      if (c === '..') {
        out.pop();
        continue;
      }
      const node = this.#paths.get([...out, c].join('/'));
      if (node?.type === 'symlink') {
        if (++hops > maxSymlinkHops) throw invalid(ErrorCodes.IMAGE_INVALID, `layer ${layer}: too many symlinks resolving ${path}`);
        if (node.target!.startsWith('/')) out = [];
        comps = [...node.target!.split('/'), ...comps.slice(i)];
        i = 0;
        continue;
      }
      out.push(c);
    }
    return [...out, last].join('/').replace(/^\/+|\/+$/g, '');
  }

  /** The listing, one line per path, sorted by the paths' bytes. */
  lines(): string[] {
    const links = new Map<Node, number>();
    for (const n of this.#paths.values()) links.set(n, (links.get(n) ?? 0) + 1);
    const sorted = [...this.#paths.keys()].map((p) => [Buffer.from(p), p] as const).sort((a, b) => Buffer.compare(a[0], b[0]));
    return sorted.map(([, path]) => {
      const n = this.#paths.get(path)!;
      const extra = n.type === 'file' ? `sha256:${n.sha}` : n.type === 'symlink' ? `-> ${esc(n.target!)}` : n.dev ? `${n.dev[0]},${n.dev[1]}` : '-';
      const fields = [`/${esc(path)}`, n.type, n.mode.toString(8).padStart(4, '0'), String(n.uid), String(n.gid), n.type === 'file' ? String(n.size) : '-', extra];
      if (links.get(n)! > 1) fields.push(`links=${links.get(n)}`);
      for (const [k, v] of [...n.xattrs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) fields.push(`xattr:${esc(k)}=${esc(v)}`);
      return fields.join('\t');
    });
  }
}

/** The config fields a Dockerfile controls, absent and empty values dropped, as sorted JSON. */
export function normalizedConfig(image: ImageConfig): string {
  const cfg = (image.config ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const present = (v: unknown) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);
  for (const k of ['Env', 'Cmd', 'Entrypoint', 'Shell', 'OnBuild']) if (present(cfg[k])) out[k] = [...(cfg[k] as unknown[])];
  for (const k of ['WorkingDir', 'User', 'StopSignal']) if (present(cfg[k])) out[k] = cfg[k];
  for (const k of ['ExposedPorts', 'Volumes']) if (present(cfg[k])) out[k] = Object.keys(cfg[k] as object).sort();
  if (present(cfg.Labels)) out.Labels = sortKeys(cfg.Labels as Record<string, unknown>);
  if (present(cfg.Healthcheck)) {
    const hc = Object.entries(cfg.Healthcheck as Record<string, unknown>).filter(([, v]) => !(v === null || v === 0 || v === '' || (Array.isArray(v) && v.length === 0)));
    out.Healthcheck = sortKeys(Object.fromEntries(hc));
  }
  const author = (image as { author?: string }).author;
  if (author) out.author = author;
  out.Layers = image.rootfs?.diff_ids?.length ?? 0;
  out.os = image.os ?? '';
  out.architecture = image.architecture ?? '';
  return `${pythonJson(sortKeys(out))}\n`;
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// json.dumps(indent=2, sort_keys=True): nested objects sorted too, non-ASCII escaped as \uXXXX
function pythonJson(v: unknown, indent = ''): string {
  const inner = `${indent}  `;
  if (Array.isArray(v)) return v.length === 0 ? '[]' : `[\n${v.map((x) => inner + pythonJson(x, inner)).join(',\n')}\n${indent}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return entries.length === 0 ? '{}' : `{\n${entries.map(([k, x]) => `${inner}${asciiJson(k)}: ${pythonJson(x, inner)}`).join(',\n')}\n${indent}}`;
  }
  return typeof v === 'string' ? asciiJson(v) : JSON.stringify(v);
}

const asciiJson = (s: string) => JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function normalize(name: string): string {
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out.join('/');
}

const dirOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

function esc(s: string): string {
  let out = '';
  for (const ch of s) {
    const o = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (o < 0x20 || o === 0x7f) out += `\\x${o.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

/** A transform that decompresses gzip or zstd and passes a plain tar through, by its first bytes. */
function decompressor() {
  return async function* (source: AsyncIterable<Buffer>) {
    const it = source[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done) return;
    const head = first.value;
    const rest = (async function* () {
      yield head;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    })();
    const gzip = head[0] === 0x1f && head[1] === 0x8b;
    const zstd = head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528;
    if (!gzip && !zstd) return yield* rest;
    const z = gzip ? createGunzip() : createZstdDecompress();
    const feeding = pipeline(rest, z).catch((e: unknown) => z.destroy(e as Error));
    yield* z;
    await feeding;
  };
}
