// The local image store: names → manifest descriptors. The SQLite `tags` table is the source of
// truth; the content store's index.json mirrors it so the store stays a valid, named OCI layout
// (`skopeo inspect oci:<root>/content:app:latest`). index.json is rewritten inside the same
// write transaction that changes a tag, so two processes tagging at once never lose each other's tag.
//
//   const images = openImageStore({ content, db });
//   images.tag('app', manifestDescriptor);        // stored as docker.io/library/app:latest
//   images.resolve('app:latest')?.digest;
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../state/index.ts';
import { transaction } from '../state/index.ts';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../image/index.ts';
import { IndexMediaTypes, MaxImageDocumentBytes, RefNameAnnotation, parseConfig, parseManifestOrIndex, type DocumentOrigin } from '../image/index.ts';
import type { Platform } from '../llb/index.ts';
import { ErrorCodes, TsbuildError, invalid } from '../errors/index.ts';
// straight from the two modules needed, so opening the store does not load the HTTP client
import { familiarName, formatReference, parseReference } from '../registry/reference.ts';
import { DefaultPlatform, selectManifest } from '../registry/platform.ts';
import type { BlobReader, ContentStore } from './store.ts';

export interface ImageRecord {
  /** Familiar form, as shown to people: `app:latest`. */
  name: string;
  /** Normalised form, the table key: `docker.io/library/app:latest`. */
  fullName: string;
  digest: string;
  mediaType: string;
  size: number;
  created: Date;
  /** An image no tag names (a build without -t, a load of an unnamed image): `<none>:<none>` in `tsbuild images`. */
  dangling?: boolean;
}

export interface ImageStore {
  /** Points `name` at `descriptor` (replacing an older target). Idempotent. Throws REFERENCE_INVALID. */
  tag(name: string, descriptor: Descriptor): void;
  /** The descriptor `name` points at, or undefined. A digest reference resolves when that blob is stored. */
  resolve(name: string): Descriptor | undefined;
  list(): ImageRecord[];
  /** Removes the name (the blobs stay until garbage collection). Returns whether it existed. */
  untag(name: string): boolean;
  /**
   * Keeps an image no tag names (a build without -t): listed as dangling until tagged, removed, or
   * pruned (a prune drops dangling records first: they hold no blob, see src/state/leases.ts).
   * Does nothing when a tag already names it. Idempotent.
   */
  keep(descriptor: Descriptor): void;
  /** Removes every tag and dangling record naming manifest `digest`; returns the names removed (familiar form). */
  remove(digest: string): string[];
  /**
   * Notes that the registry of `name` (any reference; its repository is what counts) has image
   * `imageId` under manifest or index `digest`: what a push sent or a pull got, as docker keeps it.
   */
  recordRepoDigest(name: string, digest: string, imageId: string): void;
  /** The digests recorded for image `imageId`, newest first: `{ repository, digest }`, the repository in full form. */
  repoDigests(imageId: string): { repository: string; digest: string }[];
  /** Forgets what recordRepoDigest noted of `imageId` (the image has left the store). */
  forgetRepoDigests(imageId: string): void;
}

// Dangling images live in the tags table under a key no reference can spell (no schema change);
// unlike tags they hold nothing from GC: a prune removes their records first (control/prune.ts).
const danglingPrefix = '<none>@';
const isDangling = (key: string) => key.startsWith(danglingPrefix);

interface TagRow {
  name: string;
  digest: string;
  media_type: string;
  size: number;
  created: number;
}

function tagName(name: string): string {
  const ref = parseReference(name);
  if (ref.digest !== undefined) throw invalid(ErrorCodes.REFERENCE_INVALID, `cannot tag an image as "${name}": a tag name has no digest`);
  return formatReference(ref);
}

export function openImageStore(opts: { content: ContentStore; db: Database }): ImageStore {
  const { content, db } = opts;
  const indexPath = join(content.dir, 'index.json');

  // Entries not named by a tag (placed there by someone else) are kept as they are.
  const writeIndex = () => {
    let foreign: Descriptor[] = [];
    try {
      const old = JSON.parse(readFileSync(indexPath, 'utf8')) as ImageIndex;
      foreign = (old.manifests ?? []).filter((d) => d.annotations?.[RefNameAnnotation] === undefined);
    } catch {
      // a missing or corrupt index.json is rebuilt from the table
    }
    const rows = (db.prepare('SELECT name, digest, media_type, size, created FROM tags ORDER BY name').all() as unknown as TagRow[]).filter((r) => !isDangling(r.name));
    const manifests: Descriptor[] = [
      ...foreign,
      ...rows.map((r) => ({ mediaType: r.media_type, digest: r.digest, size: r.size, annotations: { [RefNameAnnotation]: familiarName(parseReference(r.name)) } })),
    ];
    const tmp = `${indexPath}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }, null, 2));
      renameSync(tmp, indexPath);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new TsbuildError(`cannot write ${indexPath}: ${(e as Error).message}`, { code: ErrorCodes.STATE_ERROR, kind: 'unavailable', cause: e });
    }
  };

  return {
    tag(name, descriptor) {
      const key = tagName(name);
      transaction(db, () => {
        db.prepare(
          `INSERT INTO tags (name, digest, media_type, size, created) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(name) DO UPDATE SET digest = excluded.digest, media_type = excluded.media_type, size = excluded.size, created = excluded.created`,
        ).run(key, descriptor.digest, descriptor.mediaType, descriptor.size, Date.now());
        // a tagged image is no longer dangling
        db.prepare('DELETE FROM tags WHERE name = ?').run(`${danglingPrefix}${descriptor.digest}`);
        writeIndex();
      });
    },
    resolve(name) {
      const ref = parseReference(name);
      if (ref.digest !== undefined) {
        try {
          const bytes = readFileSync(content.path(ref.digest));
          const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: string; manifests?: unknown };
          const mediaType = parsed.mediaType ?? (parsed.manifests ? IndexMediaTypes[0] : 'application/vnd.oci.image.manifest.v1+json');
          return { mediaType, digest: ref.digest, size: bytes.length };
        } catch {
          return undefined;
        }
      }
      const row = db.prepare('SELECT name, digest, media_type, size, created FROM tags WHERE name = ?').get(formatReference(ref)) as TagRow | undefined;
      return row ? { mediaType: row.media_type, digest: row.digest, size: row.size } : undefined;
    },
    list() {
      const rows = db.prepare('SELECT name, digest, media_type, size, created FROM tags ORDER BY name').all() as unknown as TagRow[];
      return rows.map((r) => ({
        ...(isDangling(r.name) ? { name: '<none>:<none>', dangling: true } : { name: familiarName(parseReference(r.name)) }),
        fullName: r.name,
        digest: r.digest,
        mediaType: r.media_type,
        size: r.size,
        created: new Date(r.created),
      }));
    },
    untag(name) {
      const key = tagName(name);
      return transaction(db, () => {
        const changes = Number(db.prepare('DELETE FROM tags WHERE name = ?').run(key).changes);
        if (changes > 0) writeIndex();
        return changes > 0;
      });
    },
    keep(descriptor) {
      transaction(db, () => {
        if (db.prepare('SELECT 1 FROM tags WHERE digest = ? LIMIT 1').get(descriptor.digest)) return;
        db.prepare('INSERT INTO tags (name, digest, media_type, size, created) VALUES (?, ?, ?, ?, ?)').run(`${danglingPrefix}${descriptor.digest}`, descriptor.digest, descriptor.mediaType, descriptor.size, Date.now());
      });
    },
    remove(digest) {
      return transaction(db, () => {
        const names = (db.prepare('SELECT name FROM tags WHERE digest = ?').all(digest) as { name: string }[]).map((r) => r.name);
        if (names.length === 0) return [];
        db.prepare('DELETE FROM tags WHERE digest = ?').run(digest);
        const tagged = names.filter((n) => !isDangling(n));
        if (tagged.length > 0) writeIndex();
        return tagged.map((n) => familiarName(parseReference(n)));
      });
    },
    recordRepoDigest(name, digest, imageId) {
      const repository = formatReference({ ...parseReference(name), tag: undefined, digest: undefined });
      // known already (a re-push): nothing is written, so such a push changes nothing lasting (leaveOpenAtExit)
      if (db.prepare('SELECT 1 FROM repo_digests WHERE repository = ? AND digest = ? AND image_id = ?').get(repository, digest, imageId)) return;
      db.prepare('INSERT OR REPLACE INTO repo_digests (repository, digest, image_id, recorded) VALUES (?, ?, ?, ?)').run(repository, digest, imageId, Date.now());
    },
    repoDigests(imageId) {
      return db.prepare('SELECT repository, digest FROM repo_digests WHERE image_id = ? ORDER BY recorded DESC, repository, digest').all(imageId) as unknown as { repository: string; digest: string }[];
    },
    forgetRepoDigests(imageId) {
      db.prepare('DELETE FROM repo_digests WHERE image_id = ?').run(imageId);
    },
  };
}

/**
 * The manifest and config of a stored image. An index is followed to the entry for `platform`
 * (default linux/amd64). `name` is how messages name the image (default its digest). Throws
 * BLOB_NOT_FOUND when a blob is missing, IMAGE_INVALID when a document is not a valid one.
 */
export async function readImage(
  content: BlobReader,
  digest: string,
  platform: Platform = DefaultPlatform,
  name: string = digest,
): Promise<{ digest: string; manifest: ImageManifest; config: ImageConfig }> {
  let manifestDigest = digest;
  let parsed = await readJsonBlob(content, digest, (b, o) => parseManifestOrIndex(b, o), name);
  if ('manifests' in parsed) {
    manifestDigest = selectManifest(parsed, platform, name).digest;
    parsed = await readJsonBlob(content, manifestDigest, (b, o) => parseManifestOrIndex(b, o), name);
    if ('manifests' in parsed) throw invalid(ErrorCodes.IMAGE_INVALID, `image ${name}: index ${manifestDigest} is listed as the ${platform.os}/${platform.architecture} image, but it is an index too`);
  }
  const manifest = parsed;
  const config = await readJsonBlob(content, manifest.config.digest, parseConfig, name);
  return { digest: manifestDigest, manifest, config };
}

// configs of real images are a few kB; pull and load refuse any larger than this
const maxDocumentBytes = MaxImageDocumentBytes;

/** A stored JSON blob, checked against its digest (a damaged store says so), then parsed by `parse`. */
async function readJsonBlob<T>(content: BlobReader, digest: string, parse: (bytes: Buffer, origin: Omit<DocumentOrigin, 'document'>) => T, name: string): Promise<T> {
  // a descriptor may name a layer where a document belongs: do not read gigabytes to find out
  const size = (await content.info(digest))?.size ?? 0;
  if (size > maxDocumentBytes) throw invalid(ErrorCodes.IMAGE_INVALID, `image ${name}: blob ${digest} is ${size} bytes, too large for a manifest, index or config (at most ${maxDocumentBytes})`);
  const bytes = await content.readBytes(digest);
  const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (actual !== digest) {
    throw new TsbuildError(`the content store is damaged: blob ${digest} holds content with digest ${actual}`, { code: ErrorCodes.DIGEST_MISMATCH, kind: 'precondition', hint: `remove ${content.path(digest)} and build or pull the image again` });
  }
  return parse(bytes, { image: name, digest });
}
