// The seccomp profile every exec runs under, as data for the OCI spec's linux.seccomp: Docker's
// default profile (an allowlist, ./seccomp-rules.ts) evaluated for the exec's capability set, as
// dockerd does before handing a spec to runc. Anything not allowed fails with EPERM; a syscall newer
// than the runtime's libseccomp fails with ENOSYS (runc adds that stub), which libc takes as "not
// supported here" and falls back from, as it must under Docker.
//
// Only x86 hosts: x86_64 with the i386 and x32 ABIs, so `int 0x80` and x32 calls are filtered by the
// same rules (a call from an ABI not listed would kill the process).
import { dockerSeccompRules, expandNames, type SeccompRule, type SeccompRuleArg } from './seccomp-rules.ts';

export { AF_ALG, AF_VSOCK, cloneNamespaceFlags } from './seccomp-rules.ts';

export type SeccompArg = SeccompRuleArg;

export interface SeccompSyscall {
  names: string[];
  action: 'SCMP_ACT_ERRNO' | 'SCMP_ACT_ALLOW';
  errnoRet?: number;
  args?: SeccompArg[];
}

export interface SeccompProfile {
  defaultAction: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: SeccompSyscall[];
}

const EPERM = 1;

function applies(rule: SeccompRule, caps: ReadonlySet<string>): boolean {
  if (rule.caps && !rule.caps.every((c) => caps.has(c))) return false;
  if (rule.unlessCaps && rule.unlessCaps.some((c) => caps.has(c))) return false;
  return true;
}

function toSyscall(rule: SeccompRule): SeccompSyscall {
  const out: SeccompSyscall = { names: expandNames(rule.names), action: rule.action };
  if (rule.errnoRet !== undefined) out.errnoRet = rule.errnoRet;
  if (rule.args) out.args = rule.args;
  return out;
}

const profiles = new Map<string, SeccompProfile>();

/**
 * Docker's default profile for a process holding `capabilities` (names as in the OCI spec,
 * `CAP_CHOWN`). Pure; the same set gives the same (frozen, shared) profile object.
 */
export function createSeccompProfile(capabilities: readonly string[]): SeccompProfile {
  const key = [...new Set(capabilities)].sort().join(',');
  let profile = profiles.get(key);
  if (!profile) {
    const caps = new Set(capabilities);
    profile = Object.freeze({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: EPERM,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: dockerSeccompRules.filter((r) => applies(r, caps)).map(toSyscall),
    } satisfies SeccompProfile);
    profiles.set(key, profile);
  }
  return profile;
}

/** The syscalls a profile lets through whatever their arguments, for tests and the comparison script. */
export function allowedSyscalls(profile: SeccompProfile): Set<string> {
  return new Set(profile.syscalls.filter((s) => s.action === 'SCMP_ACT_ALLOW' && !s.args).flatMap((s) => s.names));
}
