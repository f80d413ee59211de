// `mkdir -p` that ends. Node's recursive mkdir (sync and async) loops forever, at full CPU, where a
// parent exists but cannot hold a new directory: under /proc or /sys mkdir answers ENOENT although
// the parent is there, so Node makes the parent (EEXIST), tries the child again, and so on (Bun met
// the same: oven-sh/bun#40600). `-o type=local,dest=/proc/x` hung tsbuild that way, deaf to Ctrl-C.
// This walk goes up once to the nearest existing entry and then down once, so any error is final.
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Creates `path` and its missing parents; resolves once it is a directory. Throws the first error, with its errno code. */
export async function makeDirs(path: string, opts: { mode?: number } = {}): Promise<void> {
  const dirs: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    const found = await stat(p).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (found?.isDirectory()) break;
    dirs.unshift(p);
    // an existing non-directory is left to mkdir, whose EEXIST names it
    if (found || dirname(p) === p) break;
  }
  for (const dir of dirs) {
    try {
      await mkdir(dir, opts.mode === undefined ? undefined : { mode: opts.mode });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await stat(dir)).isDirectory()) continue;
      // ENOENT once the parent is there: say so, rather than "no such file or directory"
      if (code === 'ENOENT') throw Object.assign(new Error(`cannot create directory ${dir}: ${dirname(dir)} takes no new directories`), { code, cause: e });
      throw e;
    }
  }
}
