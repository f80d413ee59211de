// What one context read saw, path by path: the record a cache miss compares to name the file that
// changed ("src/app.js content", "mode of run.sh", "added src/new.js"). The content checksum of a
// read (./checksum.ts) is one hash over every entry's part; its `onPart` hook hands the same parts
// here, in order, and a listing is made of them only when it is needed (a step that runs), so a
// rebuild where nothing changed pays one array push per part.
//
// A listing is compact: per path its type, mode, owner and a 16-hex-digit id of its bytes (or link
// target), sorted by path; stored deflated, once per checksum (solver/cache-index.ts).
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * Path (relative to the context) → what the read saw there, as sorted lines
 * `path\0type\0mode\0uid:gid\0content`: content is a 16-hex-digit id of a file's bytes or a
 * symlink's target, empty for other types. Lines sort by path, as `\0` sorts before any character.
 */
export type Listing = readonly string[];

export interface ListingCollector {
  /** Pass as `checksumSources(…, { onPart })`. */
  onPart(part: string): void;
  /** The listing of the parts seen so far (made on first call); undefined past `maxParts`. */
  listing(): Listing | undefined;
  /** How many parts it holds. */
  readonly held: number;
}

// The parts are held until the plan says which steps run: about 100 bytes each. A read of more than
// ~100,000 entries is not listed (its miss names no file) rather than hold memory in proportion
// to whatever a context holds.
const defaultMaxParts = 200_000;

export function createListingCollector(opts: { maxParts?: number } = {}): ListingCollector {
  const maxParts = opts.maxParts ?? defaultMaxParts;
  let held = 0;
  // The lines as they are made, NUL-joined as encodeListing joins them, in UTF-8 chunks: a part is
  // a rope of its template's pieces (~250 bytes of V8 heap for a 60-byte line), and holding 40,000
  // of them until the plan was most of a one-file rebuild's live heap while its COPY ran.
  let chunks: Buffer[] | undefined = [];
  let text = '';
  let lines = 0;
  // a file's or symlink's header, waiting for the part after it
  let header: string | undefined;
  let sources = 0;
  // the first line of the second source: from there a path listed before is not listed again
  let secondSourceLine: number | undefined;
  let made: Listing | undefined;
  const addLine = (line: string) => {
    text = lines === 0 ? line : `${text}\0${line}`;
    lines++;
    if (text.length >= 65_536) {
      chunks!.push(Buffer.from(text, 'utf8'));
      text = '';
    }
  };
  return {
    onPart(part) {
      if (!chunks) return;
      if (held >= maxParts) {
        chunks = undefined;
        text = '';
        return;
      }
      held++;
      if (header !== undefined) {
        addLine(header + contentOf(header, part));
        header = undefined;
        return;
      }
      const a = part.indexOf('\0');
      const b = part.indexOf('\0', a + 1);
      if (b < 0) {
        // a source marker
        if (++sources === 2) secondSourceLine = lines;
        return;
      }
      const type = part.slice(a + 1, b);
      if (type === 'file' || type === 'symlink') header = part;
      else addLine(part);
    },
    listing: () => {
      if (made || !chunks) return made;
      if (header !== undefined) addLine(header + contentOf(header, ''));
      header = undefined;
      // a chunk after the first starts with the NUL that ends the line before it
      const all = Buffer.concat([...chunks, Buffer.from(text, 'utf8')]).toString('utf8');
      return (made = listingOfLines(all, secondSourceLine));
    },
    get held() {
      return chunks ? held : 0;
    },
  };
}

// The parts, as ./checksum.ts hashes them: `source <rel>\0` before each selected source; per entry
// a header `<rel>\0<type>\0<mode>\0<uid:gid>\0`, then for a symlink `<target>\0`, for a file
// `<size>\0<hex>\0`. A header has four NULs, a source marker one: they never look alike. The
// header is the line's start as it is, so a 20,000-file read is listed in a few milliseconds.
function contentOf(header: string, tail: string): string {
  const a = header.indexOf('\0');
  const type = header.slice(a + 1, header.indexOf('\0', a + 1));
  if (type === 'symlink') return shortHash(tail);
  const i = tail.indexOf('\0');
  return tail.slice(i + 1, i + 17);
}

/** The listing of NUL-joined lines, the ones from `dedupeFrom` on without a path listed before them (two sources may select one path: its first line stands). */
function listingOfLines(text: string, dedupeFrom: number | undefined): Listing {
  const lines = splitLines(text);
  if (dedupeFrom !== undefined) {
    const seen = new Set(lines.slice(0, dedupeFrom).map(pathOf));
    let kept = dedupeFrom;
    for (let i = dedupeFrom; i < lines.length; i++) {
      const path = pathOf(lines[i]);
      if (seen.has(path)) continue;
      seen.add(path);
      lines[kept++] = lines[i];
    }
    lines.length = kept;
  }
  return lines.sort();
}

const shortHash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

// Lines are joined by NUL too, the one byte no path holds (a newline may be in a file name): every
// line has five fields. Deflate's fastest level: listings are written while a build whose files
// changed waits.
export function encodeListing(listing: Listing): Buffer {
  return deflateRawSync(listing.join('\0'), { level: 1 });
}

// Each line is a slice of the inflated text, found by its NULs: splitting into fields and joining
// them again made five strings and a copy per path (a 20,000-path listing: ~8 MB of garbage).
export function decodeListing(data: Uint8Array): Listing {
  return splitLines(inflateRawSync(data).toString('utf8'));
}

/** Lines joined by NUL, each with five fields: slices of the text, found by their NULs. */
function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  while (start < text.length) {
    // past the line's four NULs to the one that ends it (or the text's end)
    let end = start;
    for (let k = 0; k < 4 && end >= 0; k++) end = text.indexOf('\0', end) + 1 || -1;
    if (end < 0) break;
    const next = text.indexOf('\0', end);
    lines.push(text.slice(start, next < 0 ? text.length : next));
    if (next < 0) break;
    start = next + 1;
  }
  return lines;
}

interface Fields {
  path: string;
  type: string;
  mode: string;
  owner: string;
  content: string;
}

function fieldsOf(line: string): Fields {
  const [path, type, mode, owner, content] = line.split('\0');
  return { path, type, mode, owner, content: content ?? '' };
}

const pathOf = (line: string) => line.slice(0, line.indexOf('\0'));

/** One difference between two listings of the same read. */
export type ListingChange =
  | { path: string; change: 'added' | 'removed' | 'content' }
  | { path: string; change: 'mode' | 'owner' | 'type'; from: string; to: string };

/** What changed from `before` to `after`, sorted by path. Directories count only for mode, owner and type. */
export function diffListings(before: Listing, after: Listing): ListingChange[] {
  const changes: ListingChange[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    if (j < after.length && i < before.length && before[i] === after[j]) {
      i++;
      j++;
      continue;
    }
    const bp = i < before.length ? pathOf(before[i]) : undefined;
    const ap = j < after.length ? pathOf(after[j]) : undefined;
    if (ap === undefined || (bp !== undefined && bp < ap)) {
      changes.push({ path: bp!, change: 'removed' });
      i++;
    } else if (bp === undefined || ap < bp) {
      changes.push({ path: ap, change: 'added' });
      j++;
    } else {
      const x = fieldsOf(before[i++]);
      const y = fieldsOf(after[j++]);
      if (x.type !== y.type) changes.push({ path: ap, change: 'type', from: x.type, to: y.type });
      else if (x.content !== y.content) changes.push({ path: ap, change: 'content' });
      else if (x.mode !== y.mode) changes.push({ path: ap, change: 'mode', from: x.mode, to: y.mode });
      else if (x.owner !== y.owner) changes.push({ path: ap, change: 'owner', from: x.owner, to: y.owner });
    }
  }
  return changes;
}

/**
 * One phrase for the changes: each named when there are up to three ("src/app.js content changed,
 * mode of run.sh changed (644 → 755)"), else counted under their common directory with the first three named.
 */
export function describeListingChanges(changes: readonly ListingChange[]): string {
  const one = (c: ListingChange): string => {
    switch (c.change) {
      case 'added':
        return `added ${c.path}`;
      case 'removed':
        return `removed ${c.path}`;
      case 'content':
        return `${c.path} content changed`;
      case 'mode':
        return `mode of ${c.path} changed (${c.from} → ${c.to})`;
      case 'owner':
        return `owner of ${c.path} changed (${c.from} → ${c.to})`;
      case 'type':
        return `${c.path} changed from ${c.from} to ${c.to}`;
    }
  };
  if (changes.length <= 3) return changes.map(one).join(', ');
  const under = commonDir(changes.map((c) => c.path));
  const counts = new Map<string, number>([['changed', 0], ['added', 0], ['removed', 0]]);
  for (const c of changes) {
    const word = c.change === 'added' || c.change === 'removed' ? c.change : 'changed';
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  const counted = [...counts].filter(([, n]) => n > 0).map(([word, n]) => `${n} ${word}`).join(', ');
  const named = changes.slice(0, 3).map((c) => c.path).join(', ');
  return `${changes.length} files${under ? ` under ${under}/` : ''} (${counted}: ${named}, …)`;
}

function commonDir(paths: readonly string[]): string {
  let prefix = paths[0].split('/').slice(0, -1);
  for (const p of paths.slice(1)) {
    const dirs = p.split('/').slice(0, -1);
    let i = 0;
    while (i < prefix.length && i < dirs.length && prefix[i] === dirs[i]) i++;
    prefix = prefix.slice(0, i);
  }
  return prefix.join('/');
}
