// Whether a chunk of a layer is worth handing to deflate at all. Random or already compressed
// bytes (a .gz, a .jpg, /dev/urandom) do not shrink, and zlib takes as long to find that out
// (30–40 MB/s here, at any level) as to compress text: such a chunk is written as stored deflate
// blocks instead, a copy. The test is a chi-square of byte counts in a few windows spread over the
// chunk: integers only, so the same chunk gets the same answer on every machine and so the same
// blob digest. A window of random bytes scores about 255 ± 23, of gzip or zstd output 250–1300
// (deflate gains under 0.5% on those); text, code, binaries and tar headers score thousands to
// hundreds of thousands. A chunk is stored only when every window looks random: when in doubt, compress.

/** Bytes per sampled window, and how many windows a chunk gets (spread evenly over it). */
const windowSize = 8 << 10;
const windows = 4;
/** chi-square bound: above every window of compressed data measured, below the 4,500 of a window deflate shrank by 1%. */
const maxChiSquare = 2048;

const counts = new Uint32Array(256);

/** True when every sampled window of `chunk` is indistinguishable from random bytes. */
export function looksRandom(chunk: Uint8Array): boolean {
  if (chunk.length < windowSize * windows) return false;
  const step = Math.floor((chunk.length - windowSize) / (windows - 1));
  for (let w = 0; w < windows; w++) {
    if (!windowLooksRandom(chunk, w * step)) return false;
  }
  return true;
}

function windowLooksRandom(chunk: Uint8Array, start: number): boolean {
  counts.fill(0);
  const end = start + windowSize;
  for (let i = start; i < end; i++) counts[chunk[i]]++;
  // chi-square = 256 * sum(c^2) / n - n; kept in integers (all below 2^53): 256 * sum(c^2) - n^2 < bound * n
  let sumSquares = 0;
  for (let b = 0; b < 256; b++) sumSquares += counts[b] * counts[b];
  return 256 * sumSquares - windowSize * windowSize < maxChiSquare * windowSize;
}
