// Issue 7 item 1: the state root is root's alone. Another local user must find nothing to read or
// run under it, even the setuid-root binary a build made, whatever the umask and however old the root.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { secureStateRoot } from '../../src/state/secure-root.ts';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

/**
 * Runs `args` as nobody:nogroup without supplementary groups, the way another local user would.
 * Through a shell: setpriv itself looks up the program it runs while it still holds root's
 * capabilities, so `setpriv … /root-only/path` would find a file nobody could never reach.
 */
function asNobody(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '/bin/sh', '-c', '"$@"', 'sh', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const modeOf = (path: string) => statSync(path).mode & 0o7777;

/** A directory anybody can reach (mkdtemp makes 0700 ones, which would hide the root whatever tsbuild does). */
function openParent(): string {
  const dir = tempDir('tsbuild-secure-');
  chmodSync(dir, 0o755);
  parents.push(dir);
  return dir;
}
const parents: string[] = [];
test.after.always(() => {
  for (const dir of parents) removeDir(dir);
});

/** A static C program printing its effective uid, or busybox when no compiler is at hand. */
function euidProgram(dir: string): { file: string; compiled: boolean } {
  const src = join(dir, 'euid.c');
  writeFileSync(src, '#include <stdio.h>\n#include <unistd.h>\nint main(void) { printf("euid=%d\\n", (int)geteuid()); return 0; }\n');
  const out = join(dir, 'euid');
  const cc = spawnSync('cc', ['-static', '-O2', '-o', out, src]);
  if (cc.status === 0) return { file: out, compiled: true };
  writeFileSync(out, '');
  spawnSync('cp', ['/usr/bin/busybox', out]);
  return { file: out, compiled: false };
}

/** Every regular file called `name` below `dir`. */
function findFiles(dir: string, name: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isFile() && entry.name === name) return [path];
    return entry.isDirectory() ? findFiles(path, name) : [];
  });
}

test('nobody finds nothing to read or run under a state root after real builds, setuid binary included', async (t) => {
  const parent = openParent();
  const root = join(parent, 'root');
  const work = tempDir('tsbuild-euid-');
  try {
    await buildBusybox(root);
    const program = euidProgram(work);
    const ctx = contextDir({ Dockerfile: 'FROM busybox\nCOPY euid /usr/local/bin/euid\nRUN chmod 4755 /usr/local/bin/euid && /usr/local/bin/euid\n' });
    spawnSync('cp', ['-p', program.file, join(ctx, 'euid')]);
    const built = await runTsbuild(['build', '--progress', 'plain', '-t', 'euid', ctx], { root });
    removeDir(ctx);
    t.is(built.code, 0, built.stderr);

    // the danger is real: a setuid-root binary, executable by anyone, sits in a snapshot
    // the COPY's snapshot holds it 0755, the RUN's (a copy-up) 4755
    const euid = findFiles(join(root, 'snapshots'), 'euid').find((f) => (modeOf(f) & 0o4000) !== 0);
    t.truthy(euid, 'the RUN made a snapshot holding the setuid binary');
    t.is(statSync(euid!).uid, 0);
    t.is(modeOf(euid!) & 0o4755, 0o4755, 'setuid and executable by others, as the build asked');
    if (program.compiled) t.regex(spawnSync(euid!, { encoding: 'utf8' }).stdout, /^euid=0$/m);

    // ...and only the 0700 root stands between it and nobody
    t.is(modeOf(root), 0o700);
    const listed = asNobody(['find', root]);
    t.not(listed.status, 0);
    t.deepEqual(listed.stdout.trim().split('\n'), [root], 'find lists the root itself and nothing below it');
    t.regex(listed.stderr, /Permission denied/);
    const run = asNobody([euid!]);
    t.not(run.status, 0);
    t.regex(run.stderr, /Permission denied/, 'exec of the snapshot binary fails with EACCES');
    t.notRegex(run.stdout, /euid=/);
    for (const file of ['metadata.db', 'content/index.json']) {
      const read = asNobody(['cat', join(root, file)]);
      t.not(read.status, 0, `nobody cannot read ${file}`);
      t.regex(read.stderr, /Permission denied/);
    }
  } finally {
    removeDir(parent);
    removeDir(work);
  }
});

test.serial('a root made under umask 000 is private: root and its directories 0700, the database 0600', async (t) => {
  const parent = openParent();
  const root = join(parent, 'root');
  try {
    const old = process.umask(0);
    try {
      // the child inherits the umask
      await buildBusybox(root);
    } finally {
      process.umask(old);
    }
    t.is(modeOf(root), 0o700);
    for (const dir of ['content', 'snapshots', 'tmp', 'workers']) t.is(modeOf(join(root, dir)), 0o700, dir);
    t.is(modeOf(join(root, 'metadata.db')), 0o600);
    t.deepEqual(asNobody(['find', root]).stdout.trim().split('\n'), [root]);
  } finally {
    removeDir(parent);
  }
});

test('a root left open by an older version (0755 everywhere) is made private when tsbuild starts', async (t) => {
  const parent = openParent();
  const root = join(parent, 'root');
  try {
    await buildBusybox(root);
    spawnSync('chmod', ['-R', 'go+rX', root]);
    chmodSync(join(root, 'metadata.db'), 0o644);
    for (const file of ['metadata.db-wal', 'metadata.db-shm']) writeFileSync(join(root, file), '', { mode: 0o644 });
    t.true(asNobody(['find', root]).stdout.includes('/snapshots/'), 'the loosened root is readable before tsbuild runs');

    const r = await runTsbuild(['images'], { root });
    t.is(r.code, 0, r.stderr);
    t.is(modeOf(root), 0o700);
    for (const dir of ['content', 'snapshots', 'tmp', 'runc', 'workers']) if (existsSync(join(root, dir))) t.is(modeOf(join(root, dir)), 0o700, dir);
    for (const file of ['metadata.db', 'metadata.db-wal', 'metadata.db-shm']) if (existsSync(join(root, file))) t.is(modeOf(join(root, file)), 0o600, file);
    t.deepEqual(asNobody(['find', root]).stdout.trim().split('\n'), [root]);
  } finally {
    removeDir(parent);
  }
});

test('a shared directory such as /tmp is refused as a state root instead of being taken over', async (t) => {
  const parent = openParent();
  const shared = join(parent, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  try {
    const r = await runTsbuild(['images'], { root: shared });
    t.is(r.code, 1);
    t.regex(r.stderr, /^ERROR: state root .*\/shared: is a shared directory \(mode 1777\) where other users may create files$/m);
    t.regex(r.stderr, /^hint: give tsbuild a directory of its own/m);
    t.is(modeOf(shared), 0o1777, 'left as it was');
  } finally {
    removeDir(parent);
  }
});

test('a state root another user planted (their directory, their link, or links inside it) is refused, and nothing is written where they point', async (t) => {
  const parent = openParent();
  chmodSync(parent, 0o1777);
  const victim = join(parent, 'victim');
  mkdirSync(victim);
  try {
    // their own directory, with their link where the snapshots belong
    t.is(asNobody(['mkdir', join(parent, 'theirs')]).status, 0);
    t.is(asNobody(['ln', '-s', victim, join(parent, 'theirs', 'snapshots')]).status, 0);
    const r1 = await runTsbuild(['images'], { root: join(parent, 'theirs') });
    t.is(r1.code, 1);
    t.regex(r1.stderr, /^ERROR: state root .*\/theirs: is owned by uid \d+, not by this user/m);
    // their link as the root itself, pointing at a directory of ours
    t.is(asNobody(['ln', '-s', victim, join(parent, 'link')]).status, 0);
    const r2 = await runTsbuild(['images'], { root: join(parent, 'link') });
    t.is(r2.code, 1);
    t.regex(r2.stderr, /is a symbolic link owned by uid \d+, not by this user/);
    t.deepEqual(readdirSync(victim), [], 'nothing written where the links point');
    // our own root with a link among its entries (planted while it was open)
    const ours = join(parent, 'ours');
    mkdirSync(ours);
    const { symlinkSync } = await import('node:fs');
    symlinkSync(victim, join(ours, 'snapshots'));
    const r3 = await runTsbuild(['images'], { root: ours });
    t.is(r3.code, 1);
    t.regex(r3.stderr, /snapshots is a symbolic link: the state root's own directories must be real ones/);
    t.deepEqual(readdirSync(victim), []);
  } finally {
    chmodSync(parent, 0o700);
    removeDir(parent);
  }
});

test.serial('output destinations are the user\'s: an exported archive keeps the usual file mode', async (t) => {
  const parent = openParent();
  const root = join(parent, 'root');
  const ctx = contextDir({ Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'x' });
  try {
    const old = process.umask(0o022);
    let r;
    try {
      r = await runTsbuild(['build', '--progress', 'plain', '-o', `type=oci,dest=${join(parent, 'x.tar')}`, '-o', `type=tar,dest=${join(parent, 'fs.tar')}`, '-o', `type=local,dest=${join(parent, 'out')}`, ctx], { root });
    } finally {
      process.umask(old);
    }
    t.is(r.code, 0, r.stderr);
    t.is(modeOf(join(parent, 'x.tar')), 0o644);
    t.is(modeOf(join(parent, 'fs.tar')), 0o644);
    t.is(modeOf(join(parent, 'out', 'a')), 0o644);
    t.is(modeOf(root), 0o700);
  } finally {
    removeDir(parent);
    removeDir(ctx);
  }
});

test('a recovery lock another tsbuild removes while this one tightens the root is no error', async (t) => {
  // seen in CI: two starts on one root, one lstat-ing recover.lock as the other removed it
  const root = join(openParent(), 'root');
  secureStateRoot(root);
  const lock = join(root, 'recover.lock');
  const churn = spawn('python3', ['-c', 'import os,sys\nwhile True:\n os.close(os.open(sys.argv[1], os.O_CREAT|os.O_WRONLY, 0o644)); os.chmod(sys.argv[1], 0o644); os.unlink(sys.argv[1])', lock], { stdio: 'ignore' });
  try {
    // the churn is running once the lock has come and gone: from then on every run races it
    let seen = false;
    while (!seen) {
      seen = existsSync(lock);
      if (churn.exitCode !== null) throw new Error(`the churn process ended: ${churn.exitCode}`);
      if (!seen) await new Promise((r) => setTimeout(r, 5));
    }
    // a count of runs, not a time: a loaded machine makes fewer of them in a given time
    for (let runs = 0; runs < 2000; runs++) secureStateRoot(root);
  } finally {
    churn.kill('SIGKILL');
  }
  t.is(modeOf(root), 0o700);
});
