// The capabilities this process may hand on: a privileged step gets "all" of them, but runc cannot
// give a container a capability outside its own bounding set (some hosts and CI containers drop
// CAP_SYS_RESOURCE or others), and would then fail the step with "unable to apply caps".
import { readFileSync } from 'node:fs';
import { allCapabilities } from './spec.ts';

let held: string[] | undefined;

/** allCapabilities filtered by this process's bounding set (/proc/self/status CapBnd), read once. */
export function heldCapabilities(): string[] {
  if (held) return held;
  let mask = -1n;
  try {
    const hex = readFileSync('/proc/self/status', 'utf8').match(/^CapBnd:\s*([0-9a-f]+)$/m)?.[1];
    if (hex) mask = BigInt(`0x${hex}`);
  } catch {
    // no procfs: ask for everything and let the runtime say what it refuses
  }
  held = allCapabilities.filter((_, bit) => mask === -1n || (mask & (1n << BigInt(bit))) !== 0n);
  return held;
}
