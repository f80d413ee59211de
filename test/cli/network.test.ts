// The RUN network sandbox with the real runtime and the real network (worker/net, docs/network.md):
// isolation, entitlements, /etc files, and that nothing is left on the host. Serial: the tests
// share a root and count its namespaces.
import test from 'ava';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir, tsbuildBin } from '../_support/tsbuild.ts';
import { hostNetwork, rootNetns, rootPastas } from '../_support/network-leftovers.ts';
import { debianMirror } from '../_support/debian-base.ts';

// the mirror apt uses on this machine, read at run time: what a step must reach
const release = `${debianMirror().replace(/\/$/, '')}/dists/bookworm/Release`;

const root = tempDir('tsbuild-root-');
test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => removeDir(root));

const build = (args: string[], files: Record<string, string>) => {
  const ctx = contextDir(files);
  return runTsbuild(['build', '--progress', 'plain', '--no-cache', ...args, ctx], { root }).finally(() => removeDir(ctx));
};

/**
 * A build of `ctx` started in the background, its plain progress kept: `until(re)` resolves once a
 * line matches (or after 30 s: the caller's assertion then shows the output).
 */
function watchedBuild(ctx: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [tsbuildBin, '--root', root, 'build', '--progress', 'plain', '--no-cache', ctx], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const closed = new Promise<number | null>((r) => child.once('close', r));
  const until = async (re: RegExp) => {
    const end = Date.now() + 30_000;
    while (!re.test(err) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  };
  return { child, closed, until, output: () => err };
}

test.serial('a default RUN has its own namespace with only lo and one interface, and reaches the network but not the host\'s loopback', async (t) => {
  const server = createServer((_, res) => res.end('host-only secret\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const before = hostNetwork();
  try {
    const r = await build([], {
      Dockerfile: `FROM busybox\nRUN ip -o link | cut -d: -f2 | tr -d ' ' | sed 's/^/link=/'; ` +
        `if nc -z -w 3 127.0.0.1 ${port}; then echo loopback=reached; else echo loopback=blocked; fi; ` +
        `wget -q -O /dev/null ${release} && echo mirror=ok\n`,
    });
    t.is(r.code, 0, r.stderr);
    const links = [...r.stderr.matchAll(/^#\d+ [\d.]+ link=(\S+)$/gm)].map((m) => m[1].replace(/@.*/, ''));
    t.is(links.length, 2, r.stderr);
    t.is(links[0], 'lo');
    // slirp4netns (the default where it is installed) names it tap0; no host interface is visible
    t.false(links.includes('ifb0'), r.stderr);
    t.is(links[1], 'tap0', 'slirp4netns is the default');
    t.regex(r.stderr, /loopback=blocked/);
    t.notRegex(r.stderr, /host-only secret/);
    t.regex(r.stderr, /mirror=ok/, 'the Debian mirror is reachable by name');
    // the same probe does see the server from the host's network: the check above can fail
    const host = await build(['--allow', 'network.host'], { Dockerfile: `FROM busybox\nRUN --network=host nc -z -w 3 127.0.0.1 ${port} && echo loopback=reached\n` });
    t.regex(host.stderr, /loopback=reached/, host.stderr);
  } finally {
    server.close();
  }
  const after = hostNetwork();
  t.deepEqual(after.links, before.links, 'no interface left on the host');
  t.is(after.ruleset, before.ruleset, 'no firewall rule left on the host');
  t.deepEqual(rootNetns(root), []);
  t.deepEqual(rootPastas(root), []);
});

test.serial('with pasta as the provider (where names resolve over IPv6 only, or slirp4netns is missing) a step reaches the mirror, not the host\'s loopback, and nothing is left', async (t) => {
  const server = createServer((_, res) => res.end('host-only\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const ctx = contextDir({
    Dockerfile: `FROM busybox\nRUN ip -o link | cut -d: -f2 | tr -d ' ' | sed 's/^/link=/'; ` +
      `if nc -z -w 3 127.0.0.1 ${port} || nc -z -w 3 10.0.2.2 ${port}; then echo loopback=reached; else echo loopback=blocked; fi; ` +
      `wget -q -O /dev/null ${release} && echo mirror=ok\n`,
  });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '--no-cache', ctx], { root, env: { TSBUILD_SANDBOX_NETWORK: 'pasta' } });
    t.is(r.code, 0, r.stderr);
    // pasta names the step's interface after the host's default one
    const links = [...r.stderr.matchAll(/^#\d+ [\d.]+ link=(\S+)$/gm)].map((m) => m[1].replace(/@.*/, ''));
    t.is(links.length, 2, r.stderr);
    t.is(links[0], 'lo');
    t.not(links[1], 'tap0');
    t.regex(r.stderr, /loopback=blocked/);
    t.regex(r.stderr, /mirror=ok/);
  } finally {
    server.close();
    removeDir(ctx);
  }
  t.deepEqual(rootNetns(root), []);
  t.deepEqual(rootPastas(root), []);
});

test.serial('the namespaces go as soon as the last step that needs one is done, not when the build ends', async (t) => {
  // the close used to wait 15-35 ms for each slirp4netns to end (the kernel removes its tap device):
  // ended while the later steps run, that is off the build's path (solver/index.ts)
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo networked\nRUN --network=none echo offline && sleep 3\n' });
  try {
    const build = watchedBuild(ctx);
    // the second step's own output: the first one (and its namespace's use) is over
    const offline = /^#\d+ [\d.]+ offline$/m;
    await build.until(offline);
    t.regex(build.output(), offline);
    t.regex(build.output(), /^#\d+ [\d.]+ networked$/m, 'the first step ran in a sandbox network');
    const gone = Date.now() + 1500;
    while ((rootPastas(root).length > 0 || rootNetns(root).length > 0) && Date.now() < gone) await new Promise((r) => setTimeout(r, 50));
    t.deepEqual(rootNetns(root), [], 'no namespace while the last step runs');
    t.deepEqual(rootPastas(root), [], 'no slirp4netns while the last step runs');
    t.is(build.child.exitCode, null, 'the build is still running');
    t.is(await build.closed, 0, build.output());
  } finally {
    removeDir(ctx);
  }
});

test.serial('two tsbuild processes on different state roots build at once, each step with its own namespace', async (t) => {
  const other = tempDir('tsbuild-root-');
  const ctx = contextDir({ Dockerfile: `FROM busybox\nRUN wget -q -O /dev/null ${release} && sleep 1 && echo fetched\n` });
  try {
    await buildBusybox(other);
    const [a, b] = await Promise.all([root, other].map((r) => runTsbuild(['build', '--progress', 'plain', '--no-cache', ctx], { root: r })));
    t.is(a.code, 0, a.stderr);
    t.is(b.code, 0, b.stderr);
    t.regex(a.stderr, /^#\d+ [\d.]+ fetched$/m);
    t.regex(b.stderr, /^#\d+ [\d.]+ fetched$/m);
    t.deepEqual([...rootNetns(root), ...rootNetns(other)], []);
  } finally {
    removeDir(ctx);
    removeDir(other);
  }
});

test.serial('RUN --network=host without --allow network.host is refused with the line and the flag to add', async (t) => {
  const r = await build([], { Dockerfile: 'FROM busybox\nRUN --network=host ip link\n' });
  t.is(r.code, 1);
  t.regex(r.stderr, /Dockerfile:2:5: --network=host needs the entitlement network.host/);
  t.regex(r.stderr, /--allow network\.host/);
  t.notRegex(r.stderr, /at .*\.ts:\d+/, 'no stack trace');

  const wide = await build(['--network', 'host'], { Dockerfile: 'FROM busybox\nRUN true\n' });
  t.is(wide.code, 1);
  t.regex(wide.stderr, /--network host needs the entitlement network\.host/);

  const allowed = await build(['--allow', 'network.host'], { Dockerfile: 'FROM busybox\nRUN --network=host ip -o link | grep -c ifb0\n' });
  t.is(allowed.code, 0, allowed.stderr);
});

test.serial('--network none for the build, RUN --network=default follows it, and a RUN naming its own mode wins', async (t) => {
  const r = await build(['--network', 'none'], {
    Dockerfile: 'FROM busybox\nRUN --network=default ip -o link | wc -l | sed s/^/default-links=/\nRUN --network=sandbox ip -o link | wc -l | sed s/^/sandbox-links=/\n',
  });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /default-links=1\b/);
  t.regex(r.stderr, /sandbox-links=2\b/);
});

test.serial('/etc/hosts has localhost, the hostname and --add-host; /etc/hosts and /etc/resolv.conf never reach the layer', async (t) => {
  const out = tempDir('tsbuild-out-');
  try {
    const r = await build(['--add-host', 'registry.test:10.1.2.3', '-o', `type=local,dest=${out}`], {
      Dockerfile: 'FROM busybox\nRUN cat /etc/hosts > /seen-hosts && cat /etc/resolv.conf > /seen-resolv && hostname > /seen-hostname\n',
    });
    t.is(r.code, 0, r.stderr);
    const hosts = readFileSync(join(out, 'seen-hosts'), 'utf8');
    t.regex(hosts, /^127\.0\.0\.1\tlocalhost$/m);
    t.regex(hosts, /^10\.1\.2\.3\tregistry\.test$/m);
    t.regex(hosts, new RegExp(`\\t${readFileSync(join(out, 'seen-hostname'), 'utf8').trim()}$`, 'm'));
    t.regex(readFileSync(join(out, 'seen-resolv'), 'utf8'), /^nameserver \S+$/m);
    t.notRegex(readFileSync(join(out, 'seen-resolv'), 'utf8'), /nameserver 127\./);
    t.false(existsSync(join(out, 'etc', 'hosts')), 'no /etc/hosts in the image');
    t.false(existsSync(join(out, 'etc', 'resolv.conf')), 'no /etc/resolv.conf in the image');
  } finally {
    removeDir(out);
  }
  const bad = await build(['--add-host', 'nope'], { Dockerfile: 'FROM busybox\n' });
  t.is(bad.code, 1);
  t.regex(bad.stderr, /invalid --add-host "nope": expected name:ip/);
});

test.serial('RUN --security=insecure needs --allow security.insecure, and then runs with every capability', async (t) => {
  const refused = await build([], { Dockerfile: 'FROM busybox\nRUN --security=insecure true\n' });
  t.is(refused.code, 1);
  t.regex(refused.stderr, /Dockerfile:2:5: --security=insecure needs the entitlement security\.insecure/);
  t.regex(refused.stderr, /--allow security\.insecure/);

  const r = await build(['--allow', 'security.insecure'], {
    Dockerfile: 'FROM busybox\nRUN --security=insecure grep CapEff /proc/self/status && head -c 4 /proc/timer_list | wc -c | sed s/^/timer_list=/\nRUN grep CapEff /proc/self/status; head -c 4 /proc/timer_list | wc -c | sed s/^/masked_timer_list=/\n',
  });
  t.is(r.code, 0, r.stderr);
  const caps = [...r.stderr.matchAll(/CapEff:\s+([0-9a-f]+)/g)].map((m) => BigInt(`0x${m[1]}`));
  t.is(caps.length, 2, r.stderr);
  const sysAdmin = 1n << 21n;
  t.true((caps[0] & sysAdmin) !== 0n, 'the insecure step has CAP_SYS_ADMIN');
  t.true((caps[1] & sysAdmin) === 0n, 'the next step is sandboxed again');
  // Docker masks /proc/timer_list (a bind of /dev/null: empty) except for a privileged step
  t.regex(r.stderr, /\btimer_list=4\b/, 'not masked for the privileged step');
  t.regex(r.stderr, /masked_timer_list=0\b/, 'masked for the sandboxed one');
});

test.serial('nothing is left after a failing step, and a kill -9 mid-RUN is cleaned up by the next start (pasta)', async (t) => {
  const pasta = { TSBUILD_SANDBOX_NETWORK: 'pasta' };
  const failed = await build([], { Dockerfile: `FROM busybox\nRUN wget -q -O /dev/null ${release} ; exit 3\n` });
  t.is(failed.code, 1);
  t.regex(failed.stderr, /exit code: 3/);
  t.deepEqual(rootNetns(root), []);
  t.deepEqual(rootPastas(root), []);

  await killedMidRun(t, pasta);
});

test.serial('a kill -9 mid-RUN with slirp4netns: slirp4netns ends by itself, and the next start removes the namespace', async (t) => {
  await killedMidRun(t, { TSBUILD_SANDBOX_NETWORK: 'slirp4netns' }, (pid) => {
    // --enable-sandbox: it runs in a mount namespace of its own (pivot_root into an empty tmpfs)
    t.not(readlinkSync(`/proc/${pid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'), 'slirp4netns sandboxed itself');
    t.regex(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /\0--enable-seccomp\0/);
  }, 'ends');
});

test.serial('SIGTERM mid-RUN: tsbuild stops and leaves no namespace and no pasta', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo started && sleep 60\n' });
  try {
    const build = watchedBuild(ctx);
    await build.until(/^#\d+ [\d.]+ started$/m);
    t.is(rootNetns(root).length, 1);
    build.child.kill('SIGTERM');
    const code = await build.closed;
    t.not(code, 0);
    t.deepEqual(rootNetns(root), []);
    const until = Date.now() + 5000;
    while (rootPastas(root).length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    t.deepEqual(rootPastas(root), []);
  } finally {
    removeDir(ctx);
  }
});

/**
 * `helperAfterKill`: pasta outlives a kill -9 until its namespace's name is gone (the next start);
 * slirp4netns reads EOF on its --exit-fd when tsbuild's syscall helper ends, and ends by itself.
 */
async function killedMidRun(t: import('ava').ExecutionContext, env: NodeJS.ProcessEnv, checkHelper?: (pid: number) => void, helperAfterKill: 'runs' | 'ends' = 'runs'): Promise<void> {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo started && sleep 60\n' });
  try {
    const killed = watchedBuild(ctx, env);
    // the step's own output, not its title line: the container is running
    const running = /^#\d+ [\d.]+ started$/m;
    await killed.until(running);
    t.regex(killed.output(), running);
    t.is(rootNetns(root).length, 1, 'the running step has its namespace');
    // pasta forks into its own pid namespace after setup: for a moment its process is being replaced
    const settled = Date.now() + 3000;
    while (rootPastas(root).length !== 1 && Date.now() < settled) await new Promise((r) => setTimeout(r, 50));
    t.is(rootPastas(root).length, 1, 'its network helper runs');
    checkHelper?.(rootPastas(root)[0]);
    killed.child.kill('SIGKILL');
    await killed.closed;
    t.is(rootNetns(root).length, 1, 'a kill -9 leaves the namespace behind');
    if (helperAfterKill === 'ends') {
      const gone = Date.now() + 5000;
      while (rootPastas(root).length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 50));
      t.deepEqual(rootPastas(root), [], 'the network helper ended with tsbuild, before any next start');
    } else {
      t.is(rootPastas(root).length, 1, 'and its network helper still running');
    }

    const next = await build([], { Dockerfile: 'FROM busybox\nRUN true\n' });
    t.is(next.code, 0, next.stderr);
    t.deepEqual(rootNetns(root), [], 'the next start removed it');
    // pasta exits once its namespace's name is gone; slirp4netns is killed
    const until = Date.now() + 5000;
    while (rootPastas(root).length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    t.deepEqual(rootPastas(root), []);
  } finally {
    removeDir(ctx);
  }
}
