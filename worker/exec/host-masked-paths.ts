// Masked paths that depend on the host: Docker masks each CPU's
// /sys/devices/system/cpu/cpuN/thermal_throttle, whose counters leak host activity across containers
// (GHSA-6fw5-f8r9-fgfm, moby daemon/pkg/oci/defaults.go). The runtime skips a masked path that does
// not exist, so every possible CPU is listed without looking for the directory; the CPU list is read
// once, when the first spec is built, never at import.
import { readFileSync } from 'node:fs';

let cached: string[] | undefined;

/** `0-3,8` (the kernel's cpu list format) as CPU numbers; empty for text it does not recognise. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return [];
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    // more than 8192 CPUs is not a real machine: refuse rather than build a huge list
    if (to < from || to > 8192) return [];
    for (let cpu = from; cpu <= to; cpu++) out.push(cpu);
  }
  return out;
}

export function cpuThermalThrottlePaths(): string[] {
  if (!cached) {
    let possible = '';
    try {
      possible = readFileSync('/sys/devices/system/cpu/possible', 'utf8');
    } catch {
      // no sysfs (not Linux, or a restricted sandbox): nothing to mask
    }
    cached = parseCpuList(possible).map((cpu) => `/sys/devices/system/cpu/cpu${cpu}/thermal_throttle`);
  }
  return cached;
}
