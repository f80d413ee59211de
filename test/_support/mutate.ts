// Seeded mutations for the hostile-input fuzz test: the same seed gives the same inputs, so a
// failure found in CI replays here with TSBUILD_FUZZ_SEED=<seed>.

export type Rng = () => number;

/** mulberry32: small, fast, and good enough to pick mutations. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const int = (rng: Rng, max: number): number => Math.floor(rng() * max);
export const pick = <T>(rng: Rng, items: readonly T[]): T => items[int(rng, items.length)];

/** One byte-level damage: flipped bits, a cut, inserted or overwritten bytes, a repeated chunk. */
export function mutateBytes(rng: Rng, input: Buffer): { bytes: Buffer; how: string } {
  const b = Buffer.from(input);
  const at = int(rng, Math.max(1, b.length));
  switch (int(rng, 6)) {
    case 0: {
      const n = 1 + int(rng, 8);
      for (let i = 0; i < n; i++) b[int(rng, b.length)] ^= 1 << int(rng, 8);
      return { bytes: b, how: `${n} bits flipped` };
    }
    case 1:
      return { bytes: b.subarray(0, at), how: `cut at ${at} of ${b.length}` };
    case 2: {
      const junk = Buffer.from(Array.from({ length: 1 + int(rng, 64) }, () => int(rng, 256)));
      return { bytes: Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]), how: `${junk.length} bytes inserted at ${at}` };
    }
    case 3: {
      const len = Math.min(b.length - at, 1 + int(rng, 512));
      b.fill(pick(rng, [0x00, 0xff, 0x20, 0x30]), at, at + len);
      return { bytes: b, how: `${len} bytes overwritten at ${at}` };
    }
    case 4: {
      const len = Math.min(b.length - at, 1 + int(rng, 1024));
      return { bytes: Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]), how: `${len} bytes repeated at ${at}` };
    }
    default:
      return { bytes: Buffer.concat([b.subarray(0, 4), Buffer.from(Array.from({ length: 200 }, () => int(rng, 256)))]), how: 'magic kept, junk after' };
  }
}

const oddValues: readonly unknown[] = [
  null, 0, -1, 1e308, 2 ** 53 + 1, '', 'x'.repeat(100_000), '../../../etc/shadow', 'sha256:' + 'z'.repeat(64), [], {}, true, false,
  Array.from({ length: 10_000 }, (_, i) => i), { a: { b: { c: { d: {} } } } }, '\u001b[2J\u0000', -0.5,
];

/** Every path to a value inside a JSON document, the root excluded. */
function paths(doc: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (doc !== null && typeof doc === 'object') {
    for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
      const p = [...prefix, Array.isArray(doc) ? Number(k) : k];
      out.push(p);
      if (out.length < 5000) paths(v, p, out);
    }
  }
  return out;
}

/** One structural damage to a JSON document: a value of another type, a removed key, a duplicated entry. */
export function mutateJson(rng: Rng, doc: unknown): { doc: unknown; how: string } {
  const copy = structuredClone(doc) as Record<string, unknown>;
  const all = paths(copy);
  if (all.length === 0) return { doc: pick(rng, oddValues), how: 'document replaced' };
  const path = pick(rng, all);
  let parent: Record<string | number, unknown> = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const key = path[path.length - 1];
  const where = path.join('.');
  switch (int(rng, 3)) {
    case 0:
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
      return { doc: copy, how: `${where} removed` };
    case 1:
      if (Array.isArray(parent)) {
        parent.push(...Array.from({ length: 1 + int(rng, 3) }, () => structuredClone(parent[key as number])));
        return { doc: copy, how: `${where} repeated` };
      }
      parent[key] = pick(rng, oddValues);
      return { doc: copy, how: `${where} replaced` };
    default: {
      const v = pick(rng, oddValues);
      parent[key] = v;
      return { doc: copy, how: `${where} = ${JSON.stringify(v)?.slice(0, 40)}` };
    }
  }
}

const dockerfileBits: readonly string[] = [
  '--mount=type=cache,target=/x', '--mount=type=bind,from=nosuch', '--mount=type=secret,id=', '--from=0', '--from=999',
  '--chmod=99999', '--chown=4294967296:-1', '--network=xyz', '--platform=$BAD', '${', '${x:?}', '${x/[/y}', '<<EOF', '\\',
  '"', "'", '[', ']', '[ "a", ', '\u0000', '\u001b[31m', '\uFEFF', '\u202e', '𝕏', '99999999999999999999', '-1', '$((1))',
  'ARG', 'FROM', 'ONBUILD ONBUILD', 'HEALTHCHECK --interval=-1s CMD x', 'EXPOSE 99999/xyz', 'STOPSIGNAL SIGBOGUS', 'USER :',
  'WORKDIR ../../..', 'COPY --parents ** /', 'ADD --checksum=sha256:zz http://127.0.0.1:1/x /', 'SHELL []', 'ENV', 'LABEL =',
];

/** One damage to a Dockerfile: a line dropped, repeated or swapped, a bit of hostile syntax inserted, a byte flipped. */
export function mutateDockerfile(rng: Rng, text: string): { text: string; how: string } {
  const lines = text.split('\n');
  const at = int(rng, lines.length);
  switch (int(rng, 6)) {
    case 0:
      lines.splice(at, 1);
      return { text: lines.join('\n'), how: `line ${at + 1} dropped` };
    case 1:
      lines.splice(at, 0, ...Array.from({ length: 1 + int(rng, 3) }, () => lines[at]));
      return { text: lines.join('\n'), how: `line ${at + 1} repeated` };
    case 2: {
      const other = int(rng, lines.length);
      [lines[at], lines[other]] = [lines[other], lines[at]];
      return { text: lines.join('\n'), how: `lines ${at + 1} and ${other + 1} swapped` };
    }
    case 3: {
      const line = lines[at];
      const col = int(rng, line.length + 1);
      const bit = pick(rng, dockerfileBits);
      lines[at] = line.slice(0, col) + bit + line.slice(col);
      return { text: lines.join('\n'), how: `${JSON.stringify(bit)} inserted at ${at + 1}:${col}` };
    }
    case 4: {
      const { bytes, how } = mutateBytes(rng, Buffer.from(text));
      return { text: bytes.toString('utf8'), how };
    }
    default:
      lines.splice(at, 0, pick(rng, dockerfileBits) + ' ' + pick(rng, dockerfileBits));
      return { text: lines.join('\n'), how: `line inserted at ${at + 1}` };
  }
}
