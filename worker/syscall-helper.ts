// The calls a step needs that Node cannot make without forking itself: mount(2), umount2(2), and
// starting the OCI runtime. Node has no mount call, and its child_process.spawn forks the whole
// Node process and blocks the event loop until the child has exec'd: 5 ms at 50 MB, 30-90 ms on a
// loaded machine, three times per RUN before this helper (docs/runtime.md). So one small Perl
// process (Debian's `perl`, ~4 MB, started on first use) makes them for us: one line per request on
// its stdin, the errno (and a pid) back on its stdout, and a line when a child it started exits.
// It exits when tsbuild does (its stdin closes), also after kill -9.
//
// Only what we know to be plain data for the kernel is mounted this way (overlay and tmpfs, with
// flag options from the table below); anything else, or a helper that cannot start, is left to
// mount(8) and child_process by the callers (`undefined` from these functions).
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { rm } from 'node:fs/promises';
import { getSystemErrorMessage, getSystemErrorName } from 'node:util';

// The syscall numbers come from tsbuild (below) or syscall.ph (perl's h2ph headers). Every field is hex, so
// a path or argument can hold any byte. A child is started with its stdout and stderr on two FIFOs
// the helper made and tsbuild opened for reading first (else a child that ends before tsbuild
// opens them takes its output with it, and epoll never reports the end), and, for crun on a
// hybrid cgroup host, in a mount namespace of its own without the v2 mount (worker/exec/runtime.ts):
// what `unshare --mount --propagation slave sh -c 'umount -l ...; exec crun'` did, without the three
// programs. Requests are waited for in select (see the loop), stdin read with sysread.
const script = String.raw`
# no 'use warnings': its stderr goes nowhere, and loading warnings.pm was ~3 ms of the helper's
# ~10 ms start, on the first step's path (the helper, then the network namespace, then pasta)
use strict;
# the syscall numbers: from tsbuild for the architectures it knows (loading POSIX and syscall.ph
# took ~40 ms of the helper's ~50 ms start on a loaded machine, on the first step's path), else syscall.ph
my %nr = split /,/, ($ARGV[0] // '');
unless (%nr) {
  require 'syscall.ph';
  no strict 'refs';
  %nr = map { ($_ => &{"SYS_$_"}()) } qw(mount umount2 unshare setsid mknodat exit_group);
}
$| = 1;
my (%children, %early, $lifeR, $lifeW);
# a forked child's _exit: no END blocks, no flushing of the helper's buffers
sub quit { syscall($nr{exit_group}, $_[0]) }
sub report { my ($id, $status) = @_; print "exit\t$id\t", ($status >> 8), "\t", ($status & 127), "\n" }
sub reap {
  # the select this interrupted checks $! for EINTR: waitpid must not leave its ECHILD there
  local ($!, $?);
  while ((my $pid = waitpid(-1, 1)) > 0) {   # WNOHANG
    my $id = delete $children{$pid};
    # reaped before the parent noted it (an exec that failed at once): reported once noted
    if (defined $id) { report($id, $?) } else { $early{$pid} = $?; }
  }
}
$SIG{CHLD} = \&reap;
# the reply for a child just forked; its exit is reported when it ends (already, if reaped early)
sub started {
  my ($id, $pid) = @_;
  $children{$pid} = $id;
  if (exists $early{$pid}) { delete $children{$pid}; my $st = delete $early{$pid}; return "$id\t0\t$pid\n" . "exit\t$id\t" . ($st >> 8) . "\t" . ($st & 127); }
  return "$id\t0\t$pid";
}
sub handle {
  my ($id, $op, @a) = map { pack('H*', $_) } split /\t/, $_[0], -1;
  my $r;
  if ($op eq 'mount') {
    my ($source, $target, $type, $flags, $data, $cwd) = @a;
    if (length $cwd) { chdir($cwd) or return "$id\t" . ($!+0) }
    $r = syscall($nr{mount}, $source, $target, $type, $flags + 0, length($data) ? $data : 0);
    my $errno = $!+0;
    chdir('/');
    return "$id\t" . ($r == 0 ? 0 : $errno);
  } elsif ($op eq 'umount') {
    my ($target, $flags) = @a;
    $r = syscall($nr{umount2}, $target, $flags + 0);
    return "$id\t" . ($r == 0 ? 0 : ($!+0));
  } elsif ($op eq 'umount-child') {
    # the same in a child, its end reported as a spawned program's (its exit code the errno): an
    # overlay's unmount syncs its upper filesystem, and the helper serves other requests meanwhile
    my ($target, $flags) = @a;
    my $pid = fork();
    return "$id\t" . ($!+0) unless defined $pid;
    if ($pid == 0) {
      $SIG{CHLD} = 'DEFAULT';
      syscall($nr{umount2}, $target, $flags + 0) == 0 or quit($!+0);
      quit(0);
    }
    return started($id, $pid);
  } elsif ($op eq 'topdir') {
    # chattr +T: FS_IOC_GETFLAGS, then FS_IOC_SETFLAGS with FS_TOPDIR_FL (linux/fs.h; _IOR/_IOW('f', 1/2, long))
    my ($dir) = @a;
    open(my $fh, '<', $dir) or return "$id\t" . ($!+0);
    my $size = length(pack('L!', 0));
    my $flags = pack('L!', 0);
    ioctl($fh, (2 << 30) | ($size << 16) | (0x66 << 8) | 1, $flags) or return "$id\t" . ($!+0);
    my $topdir = pack('L!', unpack('L!', $flags) | 0x20000);
    ioctl($fh, (1 << 30) | ($size << 16) | (0x66 << 8) | 2, $topdir) or return "$id\t" . ($!+0);
    return "$id\t0";
  } elsif ($op eq 'netns') {
    # what ip netns add does: the namespace dir a shared mount point (MS_SHARED|MS_REC; bound onto
    # itself first if it is no mount point), an empty file, and a new network namespace bound onto it
    # (MS_BIND) by a child that unshares it, so the helper keeps its own
    my ($dir, $path) = @a;
    my ($none, $empty) = ('none', '');
    mkdir($dir, 0755) or $! == 17 or return "$id\t" . ($!+0);   # EEXIST
    if (syscall($nr{mount}, $empty, $dir, $none, 0x100000 | 0x4000, 0) != 0) {
      return "$id\t" . ($!+0) unless $! == 22;   # EINVAL: not a mount point
      syscall($nr{mount}, $dir, $dir, $none, 0x1000 | 0x4000, 0) == 0 or return "$id\t" . ($!+0);
      syscall($nr{mount}, $empty, $dir, $none, 0x100000 | 0x4000, 0) == 0 or return "$id\t" . ($!+0);
    }
    sysopen(my $fh, $path, 64 | 128, 0) or return "$id\t" . ($!+0);   # O_CREAT|O_EXCL
    close $fh;
    # the child's end is reported as a spawned program's (its exit code the errno): the helper
    # serves other requests meanwhile, as creating a network namespace can take milliseconds
    my $pid = fork();
    if (!defined $pid) { my $errno = $!+0; unlink($path); return "$id\t$errno"; }
    if ($pid == 0) {
      $SIG{CHLD} = 'DEFAULT';
      my $self = '/proc/self/ns/net';
      syscall($nr{unshare}, 0x40000000) == 0 or quit($!+0);   # CLONE_NEWNET
      syscall($nr{mount}, $self, $path, $none, 0x1000, 0) == 0 or quit($!+0);
      quit(0);
    }
    return started($id, $pid);
  } elsif ($op eq 'mkfifo') {
    # mknodat(AT_FDCWD, f, S_IFIFO | 0600, 0)
    for my $f (@a) { syscall($nr{mknodat}, -100, $f, 0010000 | 0600, 0) == 0 or return "$id\t" . ($!+0) }
    return "$id\t0";
  } elsif ($op eq 'spawn') {
    my ($out, $err, $unmount, $seal, $own, $life, $file, @argv) = @a;
    my ($o, $e);
    open($o, '+<', $out) or return "$id\t" . ($!+0);
    open($e, '+<', $err) or return "$id\t" . ($!+0);
    # the lifeline: a pipe whose write end only this process holds (close-on-exec, as every fd
    # above 2 Perl opens), so its read end sees EOF when the helper ends, also when tsbuild was
    # killed -9 and nothing else could stop the child (slirp4netns --exit-fd=0)
    if (length $life and !$lifeR) { pipe($lifeR, $lifeW) or return "$id\t" . ($!+0); }
    my $pid = fork();
    return "$id\t" . ($!+0) unless defined $pid;
    if ($pid == 0) {
      $SIG{CHLD} = 'DEFAULT';
      syscall($nr{setsid});
      if (length $life) { open(STDIN, '<&', $lifeR); } else { open(STDIN, '<', '/dev/null'); }
      open(STDOUT, '>&', $o); open(STDERR, '>&', $e);
      close $o; close $e;
      if (length $unmount or length $seal or length $own) {
        # CLONE_NEWNS; then MS_REC|MS_SLAVE on /, so nothing flows back to the host; then MNT_DETACH
        # (syscall writes through string arguments: they must be variables, not literals)
        my ($none, $root) = ('none', '/');
        syscall($nr{unshare}, 0x20000) == 0 or quit(125);
        syscall($nr{mount}, $none, $root, 0, 0x4000 | 0x80000, 0) == 0 or quit(125);
        if (length $unmount) { syscall($nr{umount2}, $unmount, 2) == 0 or quit(125); }
      }
      if (length $seal) {
        # the runtime's binary read-only in this namespace (MS_BIND, then MS_REMOUNT|MS_BIND|MS_RDONLY):
        # a container cannot write it through /proc/PID/exe, so crun need not copy and re-exec itself
        # (its cloned_binary.c accepts a read-only mount with this variable); where a call fails, it does
        my $empty = '';
        if (syscall($nr{mount}, $seal, $seal, 0, 0x1000, 0) == 0) {
          if (syscall($nr{mount}, $empty, $seal, 0, 0x20 | 0x1000 | 0x1, 0) == 0) { $ENV{_LIBCONTAINER_CLONED_BINARY} = '1'; }
          else { syscall($nr{umount2}, $seal, 2); }
        }
      }
      exec { $file } @argv or quit(127);
    }
    close $o; close $e;
    return started($id, $pid);
  }
  return "$id\t22";
}
print "ready\n";
my $buf = '';
# tsbuild killed (-9) with requests still in the pipe: none of them may run after it (a network
# namespace or a pasta made then would outlive the next start's recovery, which ran meanwhile)
my $parent = getppid();
while (1) {
  # Perl runs a signal's handler between ops: a SIGCHLD that lands just before a blocking read
  # would wait for the next request (a child's exit lost until then). So wait in select, which a
  # signal always interrupts, and while children run wake every 10 ms to reap what slipped by.
  my $rin = ''; vec($rin, fileno(STDIN), 1) = 1;
  my $ready = select(my $rout = $rin, undef, undef, %children ? 0.01 : undef);
  reap();
  next if $ready <= 0;
  my $n = sysread(STDIN, my $chunk, 65536);
  if (!defined $n) { next if $!{EINTR}; last }
  last if $n == 0;
  $buf .= $chunk;
  while ((my $i = index($buf, "\n")) >= 0) {
    exit 0 if getppid() != $parent;
    my $line = substr($buf, 0, $i);
    $buf = substr($buf, $i + 1);
    print handle($line), "\n";
  }
}
`;

// the helper's syscalls by number (Linux's asm/unistd_64.h and asm-generic/unistd.h); another
// architecture's come from perl's syscall.ph
const syscallNumbers: Partial<Record<NodeJS.Architecture, string>> = {
  x64: 'mount,165,umount2,166,unshare,272,setsid,112,mknodat,259,exit_group,231',
  arm64: 'mount,40,umount2,39,unshare,97,setsid,157,mknodat,33,exit_group,94',
};

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

/** A reply: the errno (0: done) and, for a spawn, the child's pid. */
interface Reply {
  errno: number;
  pid?: number;
}

interface Helper {
  child: ChildProcessByStdio<Writable, Readable, null>;
  ready: Promise<boolean>;
  /** Requests waiting for their reply, and children waiting for their exit: both keep tsbuild running. */
  pending: Map<number, (reply: Reply | undefined) => void>;
  exits: Map<number, (exit: ChildExit | undefined) => void>;
}

/** How a child the helper started ended: undefined when the helper itself went first. */
export interface ChildExit {
  code: number;
  /** The signal number that ended it, 0 when it exited. */
  signal: number;
}

let helper: Helper | undefined;
let broken = false;
let nextId = 1;

function start(): Helper {
  // its own session: a Ctrl-C in the terminal is tsbuild's to handle, and the helper must outlive
  // it to unmount what the cancelled steps mounted
  const child = spawn('perl', ['-e', script, syscallNumbers[process.arch] ?? ''], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
  const pending = new Map<number, (reply: Reply | undefined) => void>();
  const exits = new Map<number, (exit: ChildExit | undefined) => void>();
  let buf = '';
  let readyResolve!: (ok: boolean) => void;
  const ready = new Promise<boolean>((r) => (readyResolve = r));
  const h: Helper = { child, ready, pending, exits };
  const fail = () => {
    broken = true;
    if (helper === h) helper = undefined;
    readyResolve(false);
    for (const done of pending.values()) done(undefined);
    for (const done of exits.values()) done(undefined);
    pending.clear();
    exits.clear();
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
      const fields = line.split('\t');
      if (fields[0] === 'exit') {
        const [id, code, signal] = fields.slice(1).map(Number);
        exits.get(id)?.({ code, signal });
        exits.delete(id);
      } else {
        const [id, errno, pid] = fields.map(Number);
        pending.get(id)?.({ errno, pid: Number.isFinite(pid) ? pid : undefined });
        pending.delete(id);
      }
      if (pending.size === 0 && exits.size === 0) idle(h);
    }
  });
  return h;
}

type Refable = { ref(): void; unref(): void };

// nothing pending: the helper must not keep tsbuild running
function idle(h: Helper): void {
  for (const r of [h.child, h.child.stdout, h.child.stdin] as unknown as Refable[]) r.unref();
}

function busy(h: Helper): void {
  for (const r of [h.child, h.child.stdout, h.child.stdin] as unknown as Refable[]) r.ref();
}

/**
 * The errno of a request the helper took and then ended on (killed, OOM) before it replied: whether
 * it was carried out is unknown. A mount may be there; a child may run.
 */
export const LOST = -1;

/** The reply, or undefined when the helper is not available (the caller does it another way); LOST when it went mid-request. */
async function call(op: string, args: readonly string[], onExit?: (exit: ChildExit | undefined) => void): Promise<Reply | undefined> {
  // the kernel reads a path to its first NUL: `a\0b` would be mounted on `a`. Node's fs and
  // child_process refuse such arguments; so does the helper
  const withNul = args.find((a) => a.includes('\0'));
  if (withNul !== undefined) throw Object.assign(new TypeError(`${op}: an argument holds a NUL byte: ${JSON.stringify(withNul)}`), { code: 'ERR_INVALID_ARG_VALUE' });
  if (broken) return undefined;
  const h = (helper ??= start());
  const id = nextId++;
  const hex = (s: string) => Buffer.from(s).toString('hex');
  // counted from here, so the wait for the helper's start keeps tsbuild running too
  h.pending.set(id, () => undefined);
  if (onExit) h.exits.set(id, onExit);
  busy(h);
  if (!(await h.ready)) return undefined;
  return new Promise((resolve) => {
    if (!h.pending.has(id)) return resolve(undefined);
    h.pending.set(id, (reply) => {
      if (reply?.errno !== 0) h.exits.delete(id);
      // written, and no answer: the helper died with it
      resolve(reply ?? { errno: LOST });
    });
    h.child.stdin.write(`${[String(id), op, ...args].map(hex).join('\t')}\n`);
  });
}

/** mount(2); undefined: not made (no helper, or options mount(8) must read). Resolves with the errno, 0 on success, LOST: unknown. */
export async function mountSyscall(m: { type: string; source: string; options: readonly string[] }, target: string, cwd?: string): Promise<number | undefined> {
  const args = mountArgs(m.type, m.options);
  if (!args) return undefined;
  return (await call('mount', [m.source, target, m.type, String(args.flags), args.data, cwd ?? '']))?.errno;
}

/** umount2(2); undefined: no helper. Resolves with the errno, 0 on success. */
export async function umountSyscall(target: string, flags = 0): Promise<number | undefined> {
  return orNothing(await call('umount', [target, String(flags)]));
}

/**
 * umount2(2) made by a child of the helper: for an unmount that syncs a filesystem (an overlay with
 * an upper dir syncs the whole upper filesystem: milliseconds, more under load), so that the helper
 * serves other steps' mounts, unmounts and runtimes meanwhile instead of queueing them behind the
 * sync, and several such unmounts overlap. Resolves as umountSyscall; undefined also when the child
 * was killed (whether it unmounted is unknown: the caller asks umount(8)).
 */
export async function umountInChildSyscall(target: string, flags = 0): Promise<number | undefined> {
  let exit: ChildExit | undefined | null = null;
  let onExit: ((e: ChildExit | undefined) => void) | undefined;
  const reply = await call('umount-child', [target, String(flags)], (e) => {
    exit = e;
    onExit?.(e);
  });
  if (reply === undefined || reply.errno === LOST) return undefined;
  if (reply.pid === undefined) return reply.errno;
  const ended = await new Promise<ChildExit | undefined>((resolve) => (exit !== null ? resolve(exit) : (onExit = resolve)));
  return ended === undefined || ended.signal !== 0 ? undefined : ended.code;
}

// an unmount or a FIFO lost with the helper: made again another way is harmless
const orNothing = (r: Reply | undefined) => (r === undefined || r.errno === LOST ? undefined : r.errno);

/** Sets ext4's TOPDIR attribute on `dir` (what `chattr +T` does). Resolves with the errno, 0 on success; undefined: no helper. */
export async function setTopdir(dir: string): Promise<number | undefined> {
  return orNothing(await call('topdir', [dir]));
}

/**
 * A new network namespace bound at `path` in `dir` (`ip netns add` without the program: dir made a
 * shared mount point, the file created, the namespace bound on it). Resolves with the errno, 0 on
 * success (nothing is left at `path` on failure); undefined: no helper.
 */
export async function addNetnsSyscall(dir: string, path: string): Promise<number | undefined> {
  let exit: ChildExit | undefined | null = null;
  let onExit: ((e: ChildExit | undefined) => void) | undefined;
  const reply = await call('netns', [dir, path], (e) => {
    exit = e;
    onExit?.(e);
  });
  if (reply?.pid === undefined) return reply?.errno;
  const ended = await new Promise<ChildExit | undefined>((resolve) => (exit !== null ? resolve(exit) : (onExit = resolve)));
  // the child's exit code is the errno of the call that failed; EIO when it died or the helper went
  const errno = ended === undefined || ended.signal !== 0 ? 5 : ended.code;
  if (errno !== 0) await rm(path, { force: true }).catch(() => undefined);
  return errno;
}

/** Makes FIFOs at `paths` (mode 0600). Resolves with the errno, 0 on success; undefined: no helper. */
export async function mkfifos(paths: readonly string[]): Promise<number | undefined> {
  return orNothing(await call('mkfifo', paths));
}

export interface HelperSpawn {
  /** `argv[0]` is the program's name; `file` is looked up on PATH by the helper's exec. */
  file: string;
  argv: readonly string[];
  /** FIFOs (from mkfifos) for the child's stdout and stderr, already open for reading. */
  stdoutFifo: string;
  stderrFifo: string;
  /** Starts the child in a mount namespace of its own (slave) without this mount. */
  unmountInOwnNamespace?: string;
  /**
   * An OCI runtime's binary (absolute path, `file` itself) to bind read-only onto itself in a mount
   * namespace of the child's own, with `_LIBCONTAINER_CLONED_BINARY=1` set: crun then trusts its
   * binary (CVE-2019-5736: a container must not be able to overwrite it) and skips copying and
   * re-executing itself, one exec and dynamic load less per step (docs/runtime.md, stop 18).
   */
  sealBinary?: string;
  /**
   * Starts the child in a mount namespace of its own (slave: nothing it mounts flows back to the
   * host), as the two above do: slirp4netns's --enable-sandbox then cannot empty /run/netns.
   */
  ownMountNamespace?: boolean;
  /**
   * Stdin is the read end of a pipe whose write end only the helper holds: it reads EOF once the
   * helper has ended, which it does when tsbuild does, kill -9 included. For a child that would
   * otherwise outlive a killed build (slirp4netns with `--exit-fd=0`).
   */
  lifeline?: boolean;
}

/**
 * Starts a program in a new session (as spawn's `detached`), stdin /dev/null (or the lifeline), stdout and stderr on
 * the two FIFOs. Resolves with its pid once it runs (`onExit` is called when it ends), with an
 * errno when it could not be started (LOST: the helper ended first, and the child may run), or
 * undefined when there is no helper.
 */
export async function spawnThroughHelper(s: HelperSpawn, onExit: (exit: ChildExit | undefined) => void): Promise<Reply | undefined> {
  return call('spawn', [s.stdoutFifo, s.stderrFifo, s.unmountInOwnNamespace ?? '', s.sealBinary ?? '', s.ownMountNamespace ? '1' : '', s.lifeline ? '1' : '', s.file, ...s.argv], onExit);
}

/** The errno as mount(8) would say it: `EBUSY: device or resource busy`. */
export function errnoText(errno: number): string {
  try {
    return `${getSystemErrorName(-errno)}: ${getSystemErrorMessage(-errno).toLowerCase()}`;
  } catch {
    return `errno ${errno}`;
  }
}
