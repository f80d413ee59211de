// mount(2) and umount2(2) without starting a process each time. Node cannot make these calls
// itself, and starting mount(8) from Node forks the whole Node process and blocks its event loop
// until the child has exec'd: 5 ms at 50 MB, 30-90 ms on a loaded machine, twice per step
// (docs/runtime.md). So one small Perl process (Debian's `perl`; ~4 MB, started once per tsbuild
// process on the first mount) makes the calls for us, one line per request on its stdin, the
// errno back on its stdout. It exits when tsbuild does (its stdin closes), also after kill -9.
//
// Only what we know to be plain data for the kernel goes this way (overlay and tmpfs, with flag
// options from the table below); anything else, or a helper that cannot start, is left to
// mount(8) by the caller (`undefined` from mountSyscall).
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { getSystemErrorMessage, getSystemErrorName } from 'node:util';

// syscall.ph (perl's h2ph headers) gives the numbers for this architecture. Every field is hex,
// so a path can hold any byte; chdir for a mount whose lowerdirs are relative (worker/snapshot/mount.ts).
const script = String.raw`
use strict; use warnings;
require 'syscall.ph';
$| = 1;
print "ready\n";
while (my $line = <STDIN>) {
  chomp $line;
  my ($id, $op, @a) = map { pack('H*', $_) } split /\t/, $line, -1;
  my $r;
  if ($op eq 'mount') {
    my ($source, $target, $type, $flags, $data, $cwd) = @a;
    if (length $cwd) { chdir($cwd) or do { print "$id\t", ($!+0), "\n"; next } }
    $r = syscall(&SYS_mount, $source, $target, $type, $flags + 0, length($data) ? $data : 0);
    chdir('/');
  } elsif ($op eq 'umount') {
    my ($target, $flags) = @a;
    $r = syscall(&SYS_umount2, $target, $flags + 0);
  } else {
    $r = -1; $! = 22;
  }
  print "$id\t", ($r == 0 ? 0 : ($!+0)), "\n";
}
`;

// mount(8)'s names for the MS_* flags we pass; an option not here and not key=value goes to mount(8)
const flagBits: Record<string, number> = { ro: 1, nosuid: 2, nodev: 4, noexec: 8, sync: 16, noatime: 1024, nodiratime: 2048, relatime: 1 << 21, strictatime: 1 << 24 };
const clearing = new Set(['rw', 'suid', 'dev', 'exec', 'async']);
// bare words that are data for these filesystems, not flags
const dataWords: Record<string, ReadonlySet<string>> = { overlay: new Set(['volatile', 'userxattr']), tmpfs: new Set() };

export const MNT_DETACH = 2;

/** A mount(8) option list as the flags and data string of mount(2); undefined: leave it to mount(8). */
export function mountArgs(type: string, options: readonly string[]): { flags: number; data: string } | undefined {
  const words = dataWords[type];
  if (!words) return undefined;
  let flags = 0;
  const data: string[] = [];
  for (const o of options) {
    if (o in flagBits) flags |= flagBits[o];
    else if (clearing.has(o)) continue;
    else if (o.includes('=') || words.has(o)) data.push(o);
    else return undefined;
  }
  return { flags, data: data.join(',') };
}

interface Helper {
  child: ChildProcessByStdio<Writable, Readable, null>;
  ready: Promise<boolean>;
  pending: Map<number, (errno: number | undefined) => void>;
}

let helper: Helper | undefined;
let broken = false;
let nextId = 1;

function start(): Helper {
  const child = spawn('perl', ['-e', script], { stdio: ['pipe', 'pipe', 'ignore'] });
  const pending = new Map<number, (errno: number | undefined) => void>();
  let buf = '';
  let readyResolve!: (ok: boolean) => void;
  const ready = new Promise<boolean>((r) => (readyResolve = r));
  const h: Helper = { child, ready, pending };
  const fail = () => {
    broken = true;
    if (helper === h) helper = undefined;
    readyResolve(false);
    for (const done of pending.values()) done(undefined);
    pending.clear();
  };
  child.on('error', fail);
  child.on('exit', fail);
  child.stdin.on('error', fail);
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line === 'ready') {
        readyResolve(true);
        continue;
      }
      const [id, errno] = line.split('\t').map(Number);
      pending.get(id)?.(errno);
      pending.delete(id);
      if (pending.size === 0) idle(h);
    }
  });
  return h;
}

// nothing pending: the helper must not keep tsbuild running
function idle(h: Helper): void {
  h.child.unref();
  (h.child.stdout as unknown as { unref(): void }).unref();
  (h.child.stdin as unknown as { unref(): void }).unref();
}

function busy(h: Helper): void {
  h.child.ref();
  (h.child.stdout as unknown as { ref(): void }).ref();
  (h.child.stdin as unknown as { ref(): void }).ref();
}

/** The errno of the call (0: done), or undefined when the helper is not available (use mount(8)). */
async function call(op: string, args: readonly string[]): Promise<number | undefined> {
  if (broken) return undefined;
  const h = (helper ??= start());
  const id = nextId++;
  const hex = (s: string) => Buffer.from(s).toString('hex');
  // counted from here, so the wait for the helper's start keeps tsbuild running too
  h.pending.set(id, () => undefined);
  busy(h);
  if (!(await h.ready)) return undefined;
  return new Promise((resolve) => {
    if (!h.pending.has(id)) return resolve(undefined);
    h.pending.set(id, resolve);
    h.child.stdin.write(`${[String(id), op, ...args].map(hex).join('\t')}\n`);
  });
}

/** mount(2); undefined: not made (no helper, or options mount(8) must read). Resolves with the errno, 0 on success. */
export async function mountSyscall(m: { type: string; source: string; options: readonly string[] }, target: string, cwd?: string): Promise<number | undefined> {
  const args = mountArgs(m.type, m.options);
  if (!args) return undefined;
  return call('mount', [m.source, target, m.type, String(args.flags), args.data, cwd ?? '']);
}

/** umount2(2); undefined: no helper. Resolves with the errno, 0 on success. */
export async function umountSyscall(target: string, flags = 0): Promise<number | undefined> {
  return call('umount', [target, String(flags)]);
}

/** The errno as mount(8) would say it: `EBUSY: device or resource busy`. */
export function errnoText(errno: number): string {
  try {
    return `${getSystemErrorName(-errno)}: ${getSystemErrorMessage(-errno).toLowerCase()}`;
  } catch {
    return `errno ${errno}`;
  }
}
