// `FROM --platform=` values, read as BuildKit reads them (containerd's platforms.Parse): one to
// three `/`-separated components, each of letters, digits, `_` and `-`; the OS lower-cased and
// common architecture aliases normalised (x86_64 → amd64, aarch64 → arm64). A lone component is
// an OS (the architecture then is the build's) or an architecture (on linux).
import type { Platform } from './ops.ts';

const component = /^[A-Za-z0-9_-]+$/;
const knownOs = new Set(['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl', 'netbsd', 'openbsd', 'plan9', 'solaris', 'windows', 'zos']);
const knownArch = new Set(['386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'ppc64', 'ppc64le', 'loong64', 'mips', 'mipsle', 'mips64', 'mips64le', 'mips64p32', 'mips64p32le', 'ppc', 'riscv', 'riscv64', 's390', 's390x', 'sparc', 'sparc64', 'wasm']);

/** Why a platform text cannot be read, or the platform; `fallback` supplies what a lone OS leaves out. */
export function parsePlatformText(text: string, fallback: Platform): Platform | { error: string } {
  const parts = text.split('/');
  if (parts.length > 3) return { error: `"${text}" has too many components (os/arch/variant at most)` };
  for (const p of parts) {
    if (!component.test(p)) return { error: `"${p}" is an invalid component of "${text}": a platform component must match ^[A-Za-z0-9_-]+$` };
  }
  const os = parts[0].toLowerCase();
  if (parts.length === 1) {
    if (knownOs.has(os)) return { os, architecture: fallback.architecture, variant: fallback.variant };
    const arch = normalizeArch(os, undefined);
    if (knownArch.has(arch.architecture)) return { os: 'linux', ...arch };
    return { error: `"${text}" is an unknown operating system or architecture` };
  }
  const arch = normalizeArch(parts[1].toLowerCase(), parts[2]?.toLowerCase());
  return { os, architecture: arch.architecture, variant: arch.variant };
}

/** containerd's normalizeArch: the usual aliases, and the default variant dropped where it is implied. */
function normalizeArch(arch: string, variant: string | undefined): { architecture: string; variant?: string } {
  switch (arch) {
    case 'i386':
      return { architecture: '386' };
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return { architecture: 'amd64', variant: variant === 'v1' ? undefined : variant };
    case 'aarch64':
    case 'arm64':
      return { architecture: 'arm64', variant: variant === '8' || variant === 'v8' ? undefined : variant };
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    case 'arm':
      return { architecture: 'arm', variant: variant === undefined || variant === '7' ? 'v7' : /^[5-8]$/.test(variant) ? `v${variant}` : variant };
    default:
      return { architecture: arch, variant };
  }
}
