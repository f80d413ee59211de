// ADD's remote sources: an http(s) URL becomes an http source holding one file, a git URL
// (`https://host/repo.git#ref:subdir`, `git@host:repo.git`, `ssh://`, `git://`) a git source
// holding the checkout. Telling them apart follows BuildKit: an http(s) URL is a git repository
// only when its path ends in `.git`.
import { posix } from 'node:path';

export interface GitRef {
  /** The repository URL without the fragment. */
  remote: string;
  ref?: string;
  /** A directory inside the repository to copy instead of its root. */
  subdir?: string;
}

export function parseGitRef(src: string): GitRef | undefined {
  const hash = src.indexOf('#');
  const remote = hash < 0 ? src : src.slice(0, hash);
  const fragment = hash < 0 ? '' : src.slice(hash + 1);
  let isGit = /^git@[^:/]+:/.test(remote) || /^(ssh|git):\/\//i.test(remote);
  if (!isGit && /^https?:\/\//i.test(remote)) {
    try {
      isGit = new URL(remote).pathname.endsWith('.git');
    } catch {
      isGit = false;
    }
  }
  if (!isGit) return undefined;
  const colon = fragment.indexOf(':');
  const ref = colon < 0 ? fragment : fragment.slice(0, colon);
  const subdir = colon < 0 ? '' : fragment.slice(colon + 1);
  return { remote, ref: ref || undefined, subdir: subdir ? posix.resolve('/', subdir) : undefined };
}

export const isHttpUrl = (src: string): boolean => /^https?:\/\/./i.test(src);

/** The name an http source saves its file under: the URL path's last element, as BuildKit picks it. */
export function httpFilename(url: string): string {
  try {
    const base = posix.basename(new URL(url).pathname);
    return base === '' || base === '.' || base === '/' ? '__unnamed__' : base;
  } catch {
    return '__unnamed__';
  }
}

/** `sha256:<64 hex>`, the only form an ADD --checksum takes. */
export const isDigest = (text: string): boolean => /^sha(256:[a-f0-9]{64}|384:[a-f0-9]{96}|512:[a-f0-9]{128})$/.test(text);
