// issue 7 item 2, end to end: an image whose /etc/passwd is a FIFO, /dev/zero's device (1:5) or a
// link to the host's /etc/shadow. Before, the FIFO hung the build and the device ate memory until
// the OOM killer came. Numeric users still run; a named one fails saying why.
import test from 'ava';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

let root: string;
test.before(async () => {
  root = tempDir('tsbuild-root-');
  await buildBusybox(root);
});
test.after.always(() => removeDir(root));

const makers: [string, string, string][] = [
  ['a FIFO', 'mkfifo /etc/passwd', 'it is a FIFO, not a regular file'],
  ['a character device 1:5', 'mknod /etc/passwd c 1 5', 'it is a character device (1:5), not a regular file'],
];

for (const [name, make, why] of makers) {
  test(`issue 7: /etc/passwd as ${name}: --chown by number works, by name and RUN fail naming the file, within seconds`, async (t) => {
    const base = `FROM busybox\nRUN rm /etc/passwd && ${make}\n`;
    const chownNumeric = contextDir({ Dockerfile: `${base}COPY --chown=1000:1000 Dockerfile /x\n` });
    const chownNamed = contextDir({ Dockerfile: `${base}COPY --chown=app Dockerfile /x\n` });
    const run = contextDir({ Dockerfile: `${base}USER 1000\nRUN true\n` });
    t.teardown(() => [chownNumeric, chownNamed, run].forEach(removeDir));
    const started = Date.now();
    const r1 = await runTsbuild(['build', '--progress', 'plain', chownNumeric], { root });
    t.is(r1.code, 0, r1.stderr);
    const r2 = await runTsbuild(['build', '--progress', 'plain', chownNamed], { root });
    t.is(r2.code, 1, r2.stderr);
    t.regex(r2.stderr, new RegExp(`ERROR: Dockerfile:3: .*unable to find user app: cannot read /etc/passwd of the image: ${why.replace(/[()]/g, '\\$&')}, so it was taken as empty`));
    const r3 = await runTsbuild(['build', '--progress', 'plain', run], { root });
    t.is(r3.code, 1, r3.stderr);
    t.regex(r3.stderr, new RegExp(`ERROR: Dockerfile:4: .*cannot start a process in this image: its /etc/passwd is ${why.slice('it is '.length).replace(/[()]/g, '\\$&')}, and runc reads it`));
    for (const r of [r2, r3]) t.notRegex(r.stderr, /internal error|    at /);
    t.true(Date.now() - started < 60_000, 'no hang, no reading forever');
  });
}

test('issue 7: /etc/passwd linked to /../../../etc/shadow resolves inside the image, not to the host', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN rm /etc/passwd && ln -s /../../../etc/shadow /etc/passwd\nCOPY --chown=root Dockerfile /x\n' });
  t.teardown(() => removeDir(ctx));
  const r = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
  // the image has no /etc/shadow, so there is no "root" entry; the host's shadow is never read
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /unable to find user root: no matching entries in \/etc\/passwd/);
});
