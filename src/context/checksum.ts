// The content checksum of the paths a copy reads: what makes a cache key follow the files. It
// covers path, type, mode, owner, symlink target and bytes, never timestamps, so `touch` keeps the
// key and the same tree on another machine gives the same key.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createIgnoreMatcher, type IgnoreMatcher } from './ignore.ts';
import { resolveInRoot } from './safe-path.ts';
import { expandSources } from './sources.ts';

/** sha256 (`sha256:<hex>`) over the selected sources of `dir` and everything below them. */
export async function checksumSources(dir: string, src: readonly string[], excludePatterns: readonly string[]): Promise<string> {
  const matcher = createIgnoreMatcher(excludePatterns);
  const hash = createHash('sha256');
  for (const rel of expandSources(dir, src, excludePatterns, { allowWildcardEmpty: true })) {
    hash.update(`source ${rel}\0`);
    await hashTree(hash, resolveInRoot(dir, rel, { followLast: false }), rel, matcher);
  }
  return `sha256:${hash.digest('hex')}`;
}

async function hashTree(hash: Hash, abs: string, rel: string, matcher: IgnoreMatcher): Promise<void> {
  const s = lstatSync(abs);
  const type = s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : s.isFile() ? 'file' : 'other';
  hash.update(`${rel}\0${type}\0${(s.mode & 0o7777).toString(8)}\0${s.uid}:${s.gid}\0`);
  if (s.isSymbolicLink()) hash.update(`${readlinkSync(abs)}\0`);
  else if (s.isFile()) {
    const fileHash = createHash('sha256');
    await pipeline(createReadStream(abs), fileHash);
    hash.update(`${s.size}\0${fileHash.digest('hex')}\0`);
  } else if (s.isDirectory()) {
    for (const name of readdirSync(abs).sort()) {
      const childRel = rel === '.' ? name : `${rel}/${name}`;
      // an excluded dir is still walked when an exception may re-include something below it
      if (matcher.ignores(childRel) && !(matcher.hasExceptions && lstatSync(join(abs, name)).isDirectory())) continue;
      await hashTree(hash, join(abs, name), childRel, matcher);
    }
  }
}
