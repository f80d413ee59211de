// Issue 10: "clear errors for 401 (how to log in), 403, 404": a registry that knows the user and
// refuses (403, DENIED) says so with what to check, on a pull and on a push, without a stack; 401 is
// test/cli/push-auth.test.ts, 404 test/cli/pull.test.ts.
import test from 'ava';
import { join } from 'node:path';
import { craftImage, startCraftedRegistry, type CraftedRegistry } from '../_support/hostile-image.ts';
import { tarOf } from '../_support/registry.ts';
import { contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const work = tempDir('tsbuild-refusals-');
let reg: CraftedRegistry;
const denied = '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}';

test.before(async () => {
  const img = craftImage({ layers: [await tarOf({ 'a.txt': 'a\n' })] });
  // every request but the version check is refused, as a registry does for an account without rights
  reg = await startCraftedRegistry(img, (what, _req, res) => {
    if (what === '/v2/' || what === '/v2') return false;
    res.writeHead(403, { 'content-type': 'application/json' }).end(denied);
    return true;
  });
});
test.after.always(async () => {
  await reg?.stop();
  removeDir(work);
});

function refused(t: import('ava').ExecutionContext, r: { code: number; stderr: string }, name: string): void {
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, new RegExp(`^ERROR: .*${name.replace(/[.:]/g, '\\$&')}.*(denied|403 Forbidden)`, 'mi'));
  t.regex(r.stderr, /^hint: the registry knows who you are and refuses this: check the repository name/m);
  t.notRegex(r.stderr, /internal error|^\s+at /m);
}

test.serial('a pull the registry refuses (403) names the image and what to check', async (t) => {
  const name = `${reg.host}/team/private`;
  refused(t, await runTsbuild(['pull', `${name}:1`], { root: join(work, 'pull') }), name);
});

test.serial('a push the registry refuses (403) names the image and what to check, and leaves the image', async (t) => {
  const root = join(work, 'push');
  const ctx = contextDir({ Dockerfile: 'FROM scratch\nCOPY f.txt /f.txt\n', 'f.txt': 'f\n' });
  t.teardown(() => removeDir(ctx));
  const name = `${reg.host}/team/app`;
  t.is((await runTsbuild(['build', '--progress', 'quiet', '-t', `${name}:1`, ctx], { root })).code, 0);
  refused(t, await runTsbuild(['push', `${name}:1`], { root }), name);
  t.regex((await runTsbuild(['images'], { root })).stdout, new RegExp(`${name.replace(/[.:]/g, '\\$&')} +1 `), 'the stored image stays');
});
