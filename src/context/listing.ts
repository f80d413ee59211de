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

export interface ListingEntry {
  type: string;
  /** Octal permission bits, as the checksum hashes them. */
  mode: string;
  /** `uid:gid`. */
  owner: string;
  /** A short id of a file's bytes or a symlink's target; empty for other types. */
  content: string;
}

/** Path (relative to the context) → what the read saw there. */
export type Listing = ReadonlyMap<string, ListingEntry>;

export interface ListingCollector {
  /** Pass as `checksumSources(…, { onPart })`. */
  onPart(part: string): void;
  /** The listing of the parts seen so far (made on first call). */
  listing(): Listing;
}

export function createListingCollector(): ListingCollector {
  const parts: string[] = [];
  let made: Listing | undefined;
  return {
    onPart: (part) => void parts.push(part),
    listing: () => (made ??= listingOfParts(parts)),
  };
}

// The parts, as ./checksum.ts hashes them: `source <rel>\0` before each selected source; per entry
// a header `<rel>\0<type>\0<mode>\0<uid:gid>\0`, then for a symlink `<target>\0`, for a file
// `<size>\0<hex>\0`. A header has four NULs, a source marker one: they never look alike.
function listingOfParts(parts: readonly string[]): Listing {
  const out = new Map<string, ListingEntry>();
  let pending: ListingEntry | undefined;
  for (const part of parts) {
    if (pending) {
      const fields = part.split('\0');
      pending.content = pending.type === 'file' ? (fields[1] ?? '').slice(0, 16) : shortHash(fields[0]);
      pending = undefined;
      continue;
    }
    const fields = part.split('\0');
    if (fields.length !== 5) continue; // a source marker
    const [rel, type, mode, owner] = fields;
    const entry: ListingEntry = { type, mode, owner, content: '' };
    out.set(rel, entry);
    if (type === 'file' || type === 'symlink') pending = entry;
  }
  return out;
}

const shortHash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

export function encodeListing(listing: Listing): Buffer {
  const lines = [...listing.keys()].sort().map((p) => {
    const e = listing.get(p)!;
    return `${p}\0${e.type}\0${e.mode}\0${e.owner}\0${e.content}`;
  });
  return deflateRawSync(lines.join('\n'));
}

export function decodeListing(data: Uint8Array): Listing {
  const out = new Map<string, ListingEntry>();
  const text = inflateRawSync(data).toString('utf8');
  if (text === '') return out;
  for (const line of text.split('\n')) {
    const [path, type, mode, owner, content] = line.split('\0');
    out.set(path, { type, mode, owner, content: content ?? '' });
  }
  return out;
}

/** One difference between two listings of the same read. */
export type ListingChange =
  | { path: string; change: 'added' | 'removed' | 'content' }
  | { path: string; change: 'mode' | 'owner' | 'type'; from: string; to: string };

/** What changed from `before` to `after`, sorted by path. Directories count only for mode, owner and type. */
export function diffListings(before: Listing, after: Listing): ListingChange[] {
  const changes: ListingChange[] = [];
  for (const [path, a] of after) {
    const b = before.get(path);
    if (!b) changes.push({ path, change: 'added' });
    else if (b.type !== a.type) changes.push({ path, change: 'type', from: b.type, to: a.type });
    else if (b.content !== a.content) changes.push({ path, change: 'content' });
    else if (b.mode !== a.mode) changes.push({ path, change: 'mode', from: b.mode, to: a.mode });
    else if (b.owner !== a.owner) changes.push({ path, change: 'owner', from: b.owner, to: a.owner });
  }
  for (const path of before.keys()) if (!after.has(path)) changes.push({ path, change: 'removed' });
  return changes.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
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
