// What the content store's O_DIRECT writer (./blob-file.ts) and reader (./direct-read.ts) must
// agree on. The reader goes past the page cache for exactly the blobs the writer mostly wrote past
// it, so the threshold is one number.

/** Direct I/O moves whole MiBs at whole-MiB offsets. */
export const directChunkBytes = 1 << 20;
/** The alignment asked of a buffer's address: a page, which suits any disk's logical block. */
export const directAlign = 4096;
/**
 * A blob's first bytes go through the page cache, and one smaller than this is read through it: a
 * small blob (a config, the layer of a few RUNs) is often read again at once (a push right after
 * the build compresses it), and a direct write would leave that reader to fetch it from the disk.
 */
export const cachedBytes = 16 << 20;

/**
 * The views of an allocation of `directChunkBytes + directAlign` to try, `first` first: Node cannot
 * say where a buffer's memory is, so the aligned one is found by a direct read or write that the
 * kernel accepts (a misaligned one fails with EINVAL before moving any byte). glibc puts an
 * mmapped allocation 16 bytes past a page, so 4080 is usually the one.
 */
export function viewsToTry(first = directAlign - 16): number[] {
  return [first, ...Array.from({ length: directAlign / 16 }, (_, i) => i * 16).filter((v) => v !== first)];
}
