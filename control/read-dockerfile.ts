// The Dockerfile is read like every other file a context supplies (src/context/read-bounded.ts):
// a context can commit a `Dockerfile` that is a symlink to /etc/shadow (whose lines the error
// excerpt would print), a FIFO or /proc/kmsg (a read that never ends and ignores SIGTERM). Inside
// the context, links are followed as the context sees them, never out of it; a regular file only,
// of bounded size. A `-f` outside the context is the user's own choice of path: followed, but it
// must still be a regular file.
import { realpathSync } from 'node:fs';
import { relative } from 'node:path';
import { readFileInRoot, readRegularFile } from '../src/context/index.ts';
import { ErrorCodes, TsbuildError } from '../src/errors/index.ts';

// far above any real Dockerfile (the largest in public projects are a few hundred kB)
export const maxDockerfileBytes = 16 * 1024 * 1024;

export function readDockerfile(contextDir: string, dockerfilePath: string, shownAs: string): string {
  const inside = relative(contextDir, dockerfilePath);
  const opts = { maxBytes: maxDockerfileBytes, what: shownAs };
  let bytes: Buffer | undefined;
  if (inside !== '' && !inside.startsWith('..') && !inside.startsWith('/')) bytes = readFileInRoot(contextDir, inside, opts);
  else {
    let real: string | undefined;
    try {
      real = realpathSync(dockerfilePath);
    } catch {
      // missing: reported below
    }
    bytes = real === undefined ? undefined : readRegularFile(real, opts);
  }
  if (bytes === undefined) {
    throw new TsbuildError(`cannot read ${shownAs}: it does not exist inside the build context`, {
      code: ErrorCodes.DOCKERFILE_NOT_FOUND,
      kind: 'not-found',
      hint: 'a Dockerfile that is a symbolic link must point to a file inside the context',
    });
  }
  return bytes.toString('utf8');
}
