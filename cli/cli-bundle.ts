// The CLI as one bundle (scripts/bundle-cli.ts): loading the ~165 source modules one by one took
// ~90 ms of every `tsbuild build` (resolving, reading, type-stripping and linking each), the
// bundle ~30 ms. The bin uses it only while it is exactly the sources it was made from: the
// manifest lists each input with its size and mtime, and one changed or removed input sends the
// bin back to the sources (a stat per input, ~1 ms; a new module is reached only through a changed
// one). So a developer's edit is never hidden by an old bundle; it only costs the bundle's speed
// until `npm run bundle`.
//
//   <repo>/dist/cli.json            the manifest: { dir, inputs: [[path, size, mtimeMs], …] }
//   <repo>/dist/cli-<hash>/main.js  the bundle, split at the CLI's lazy imports (so --help still
//                                   loads neither SQLite, tar nor the HTTP client)
//
// Each bundle has a directory of its own, named after its inputs, and the manifest is replaced
// atomically: a build running while the bundle is remade keeps importing its lazy chunks from
// the directory it started with.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface BundleManifest {
  /** The bundle's directory, relative to `dist/`. */
  dir: string;
  /** Every file of ours in it and each bundled package's package.json (relative to the repo), with its size and mtime when bundled. */
  inputs: [path: string, size: number, mtimeMs: number][];
}

export const manifestPath = (repo: string) => join(repo, 'dist', 'cli.json');

/** The stat of each input, as the manifest records it. */
export function describeInputs(repo: string, paths: readonly string[]): BundleManifest['inputs'] {
  return [...paths].sort().map((p) => {
    const s = statSync(join(repo, p));
    return [p, s.size, s.mtimeMs];
  });
}

/**
 * The bundle's entry (an absolute path), or undefined when there is none, TSBUILD_NO_BUNDLE is
 * set, or any input differs from when it was made. Never throws: any doubt means the sources.
 */
export function freshBundle(repo: string): string | undefined {
  if (process.env.TSBUILD_NO_BUNDLE) return undefined;
  try {
    const m = JSON.parse(readFileSync(manifestPath(repo), 'utf8')) as BundleManifest;
    if (typeof m.dir !== 'string' || !/^cli-[0-9a-f]+$/.test(m.dir) || !Array.isArray(m.inputs) || m.inputs.length === 0) return undefined;
    for (const [path, size, mtimeMs] of m.inputs) {
      // not join(): normalising ~230 paths cost more than stating them
      const s = statSync(`${repo}/${path}`, { throwIfNoEntry: false });
      if (!s || s.size !== size || s.mtimeMs !== mtimeMs) return undefined;
    }
    const entry = join(repo, 'dist', m.dir, 'main.js');
    return statSync(entry, { throwIfNoEntry: false })?.isFile() ? entry : undefined;
  } catch {
    return undefined;
  }
}
