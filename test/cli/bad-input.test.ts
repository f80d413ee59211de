// Every failure a user can cause is a clear error: for each command and flag, bad values, missing
// things and unreachable hosts give a message naming the cause, a non-zero exit, and never a
// stack trace or "internal error". One table, walked in order.
import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const root = tempDir('tsbuild-bad-root-');
const dir = tempDir('tsbuild-bad-');
const ctx = contextDir({ Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'a\n' });
const unreachable = contextDir({ Dockerfile: 'FROM 127.0.0.1:9/nothing:1\nRUN true\n' });
test.after.always(() => {
  removeDir(root);
  removeDir(dir);
  removeDir(ctx);
  removeDir(unreachable);
});

const notADir = join(dir, 'file');
writeFileSync(notADir, 'x');
mkdirSync(join(dir, 'empty'));

// [what the user ran, the message they must see]; `@ctx` is a valid context, `@unreachable` one FROM a registry nobody answers
const table: [string[], RegExp][] = [
  [['frobnicate'], /unknown command 'frobnicate'/],
  [['build'], /missing required argument 'context'/],
  [['build', '--frob', '@ctx'], /unknown option '--frob'/],
  [['build', '/nonexistent/ctx'], /build context "\/nonexistent\/ctx" is not a directory/],
  [['build', notADir], /is not a directory/],
  [['build', join(dir, 'empty')], /no Dockerfile at/],
  [['build', '-f', '/nonexistent/Dockerfile', '@ctx'], /no Dockerfile at \/nonexistent\/Dockerfile/],
  [['build', '--progress', 'fancy', '@ctx'], /unknown --progress mode "fancy"/],
  [['build', '-o', 'type=floppy,dest=x', '@ctx'], /floppy/],
  [['build', '-o', 'type=oci', '@ctx'], /--output type=oci needs dest=PATH/],
  [['build', '--memory', 'lots', '@ctx'], /--memory/],
  [['build', '--cpus', '-1', '@ctx'], /--cpus/],
  [['build', '--pids-limit', 'x', '@ctx'], /--pids-limit/],
  [['build', '--ulimit', 'nofile', '@ctx'], /--ulimit/],
  [['build', '--network', 'bridge', '@ctx'], /unknown --network mode "bridge"/],
  [['build', '--network', 'host', '@ctx'], /--network host needs the entitlement network\.host/],
  [['build', '--allow', 'root', '@ctx'], /unknown --allow entitlement "root"/],
  [['build', '--add-host', 'nocolon', '@ctx'], /--add-host/],
  [['build', '--build-arg', '=x', '@ctx'], /build-arg/],
  [['build', '--build-context', 'nameonly', '@ctx'], /invalid --build-context "nameonly"/],
  [['build', '--build-context', 'b=/nonexistent', '@ctx'], /--build-context b: "\/nonexistent" is not a directory/],
  [['build', '--secret', 'src=/x', '@ctx'], /--secret/],
  [['build', '--ssh', 'default=/nonexistent.sock', '@ctx'], /nonexistent\.sock/],
  [['build', '--max-parallelism', '0', '@ctx'], /--max-parallelism must be a positive whole number/],
  [['build', '--platform', 'linux/arm64', '@ctx'], /building for linux\/arm64 is not supported yet/],
  [['build', '--platform', 'linux', '@ctx'], /invalid platform "linux"/],
  [['build', '--target', 'nosuch', '@ctx'], /nosuch/],
  [['build', '-t', 'Bad:Name:x', '@ctx'], /Bad:Name:x/],
  [['build', 'https://127.0.0.1:9/nothing.git'], /git ls-remote https:\/\/127\.0\.0\.1:9\/nothing\.git failed/],
  [['build', '@unreachable'], /127\.0\.0\.1:9/],
  [['check', '/nonexistent/ctx'], /build context "\/nonexistent\/ctx" is not a directory/],
  [['prune', '--keep-storage', 'lots', '-f'], /keep-storage/],
  [['prune', '--filter', 'since=1h', '-f'], /filter/],
  [['diff', 'nope:1', 'nope:2'], /no image nope:1 in the local store/],
  [['config', '--format', 'yaml'], /unknown --format "yaml"/],
  [['--root', notADir, 'images'], /file/],
];

for (const [args, message] of table) {
  test(`tsbuild ${args.join(' ')}`, async (t) => {
    const argv = args.map((a) => (a === '@ctx' ? ctx : a === '@unreachable' ? unreachable : a));
    const r = await runTsbuild(argv[0] === '--root' ? argv : ['--root', root, ...argv]);
    t.not(r.code, 0, r.stderr);
    t.regex(r.stderr, message);
    t.notRegex(r.stderr, /\n\s+at .*:\d+:\d+/, 'no stack trace');
    t.notRegex(r.stderr, /internal error|This is a bug/i);
  });
}
