// The Node flags bin/tsbuild.js's shebang starts it with, so tools that start the bin through a
// given Node (the bench, with Node 24) run it as a user's shell does.
import { readFileSync } from 'node:fs';

/** `#!/usr/bin/env -S node --a --b` → ['--a', '--b']; [] for a plain `#!/usr/bin/env node`. */
export function shebangNodeFlags(bin: string): string[] {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0];
  const words = first.replace(/^#!\S+\s+(-S\s+)?/, '').split(/\s+/).filter(Boolean);
  return words[0] === 'node' ? words.slice(1) : [];
}
