// Compares tsbuild's seccomp profile with a Docker default.json (moby/profiles seccomp), both
// evaluated as dockerd does on an amd64 host for tsbuild's default capabilities. Run after updating
// worker/exec/seccomp-rules.ts from a newer Docker:
//   node scripts/seccomp-vs-docker.ts path/to/default.json [CAP_SYS_ADMIN …]
// (capabilities after the file are added to the default set, to check the conditional rules)
// Prints each difference and exits 1 when there is one.
import { readFileSync } from 'node:fs';
import { createSeccompProfile, type SeccompProfile } from '../worker/exec/seccomp-profile.ts';
import { defaultCapabilities } from '../worker/exec/spec.ts';

interface DockerFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}
interface DockerRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[] | null;
  includes?: DockerFilter;
  excludes?: DockerFilter;
}

const file = process.argv[2];
if (!file) {
  console.error('usage: node scripts/seccomp-vs-docker.ts path/to/default.json');
  process.exit(2);
}
const docker = JSON.parse(readFileSync(file, 'utf8')) as { defaultAction: string; defaultErrnoRet?: number; syscalls: DockerRule[] };
const capabilities = [...defaultCapabilities, ...process.argv.slice(3)];
const caps = new Set(capabilities);

// dockerd's rule selection (moby/profiles seccomp_linux.go): includes need every cap and the host
// arch; excludes drop the rule on any cap or the host arch; minKernel holds on any kernel tsbuild runs on
function dockerApplies(r: DockerRule): boolean {
  const inc = r.includes ?? {};
  const exc = r.excludes ?? {};
  if (inc.caps && !inc.caps.every((c) => caps.has(c))) return false;
  if (inc.arches && !inc.arches.includes('amd64')) return false;
  if (exc.caps && exc.caps.some((c) => caps.has(c))) return false;
  if (exc.arches && exc.arches.includes('amd64')) return false;
  return true;
}

/** One line per syscall and condition, so two profiles compare as sets of lines. */
function lines(rules: { names: string[]; action: string; errnoRet?: number; args?: unknown[] | null }[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules) {
    const args = r.args && r.args.length ? JSON.stringify(r.args.map((a) => ({ valueTwo: 0, ...(a as object) }))) : '';
    for (const n of r.names) out.add(`${n} ${r.action}${r.errnoRet !== undefined ? `(${r.errnoRet})` : ''} ${args}`.trim());
  }
  return out;
}

const ours: SeccompProfile = createSeccompProfile(capabilities);
const theirs = lines(docker.syscalls.filter(dockerApplies));
const mine = lines(ours.syscalls);
const missing = [...theirs].filter((l) => !mine.has(l)).sort();
const extra = [...mine].filter((l) => !theirs.has(l)).sort();
for (const l of missing) console.log(`only in Docker's: ${l}`);
for (const l of extra) console.log(`only in tsbuild's: ${l}`);
if (docker.defaultAction !== ours.defaultAction || (docker.defaultErrnoRet ?? 1) !== ours.defaultErrnoRet) console.log(`default action differs: ${docker.defaultAction} vs ${ours.defaultAction}`);
console.log(`${theirs.size} rules in Docker's, ${mine.size} in tsbuild's, ${missing.length + extra.length} differences`);
process.exitCode = missing.length + extra.length ? 1 : 0;
