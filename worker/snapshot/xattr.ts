// Overlay's opaque-directory marker lives in the trusted.overlay.opaque xattr. Node has no xattr
// API, so this uses attr's getfattr/setfattr (Debian package `attr`), batched per tree.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';

const run = promisify(execFile);
export const opaqueXattr = 'trusted.overlay.opaque';

export async function setOpaque(path: string): Promise<void> {
  try {
    await run('setfattr', ['-h', '-n', opaqueXattr, '-v', 'y', path]);
  } catch (e) {
    throw new TsbuildError(`cannot mark ${path} opaque: ${(e as Error).message}`, { code: ErrorCodes.STATE_ERROR, kind: 'unavailable', hint: 'install the attr package (setfattr)', cause: e });
  }
}

/**
 * Every directory strictly below `dir` marked opaque, as absolute paths (`dir` itself is never
 * reported: a layer's opaque markers belong to its subdirectories). A tree without subdirectories
 * has none, so no getfattr runs: many RUN layers (`echo N > /fN`) are like that, and the spawn
 * costs more than reading the tree.
 */
export async function listOpaque(dir: string): Promise<Set<string>> {
  const found = new Set<string>();
  if (!hasSubdirectory(dir)) return found;
  let stdout = '';
  try {
    ({ stdout } = await run('getfattr', ['-R', '-P', '--absolute-names', '-n', opaqueXattr, dir], { maxBuffer: 256 * 1024 * 1024 }));
  } catch (e) {
    // exit 1 just means some files lack the attribute; what was found is still on stdout
    const err = e as { stdout?: string; code?: unknown };
    if (err.code === 'ENOENT') throw new TsbuildError('getfattr not found: cannot read overlay opaque markers', { code: ErrorCodes.STATE_ERROR, kind: 'unavailable', hint: 'install the attr package' });
    stdout = err.stdout ?? '';
  }
  let file: string | undefined;
  const self = resolve(dir);
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) file = unescapeOctal(line.slice(8));
    else if (file && file !== self && line.startsWith(`${opaqueXattr}="y"`)) found.add(file);
  }
  return found;
}

/** Whether `path` itself (a directory, not followed if a link) carries the opaque marker. */
export async function isOpaque(path: string): Promise<boolean> {
  try {
    const { stdout } = await run('getfattr', ['-h', '--absolute-names', '--only-values', '-n', opaqueXattr, path]);
    return stdout === 'y';
  } catch (e) {
    const err = e as { code?: unknown };
    if (err.code === 'ENOENT') throw new TsbuildError('getfattr not found: cannot read overlay opaque markers', { code: ErrorCodes.STATE_ERROR, kind: 'unavailable', hint: 'install the attr package' });
    // exit 1: no such attribute
    return false;
  }
}

function hasSubdirectory(dir: string): boolean {
  try {
    return readdirSync(dir, { withFileTypes: true }).some((e) => e.isDirectory());
  } catch {
    return true; // let getfattr report what is wrong with it
  }
}

// getfattr escapes newlines, backslashes and other specials in names as \ooo
function unescapeOctal(s: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length + 0 && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString())) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString(), 8));
      i += 3;
    } else bytes.push(raw[i]);
  }
  return Buffer.from(bytes).toString('utf8');
}
