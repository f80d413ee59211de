// An image config whose WorkingDir is relative (review of issue 7): taken from /, as BuildKit does,
// instead of handing runc a relative cwd it refuses.
import test from 'ava';
import { build, exec } from './_build.ts';

test('a base image\'s relative WorkingDir is taken from /', async (t) => {
  const def = await build('FROM base\nRUN pwd\n', {
    resolveImage: async (ref) => ({ ref, digest: 'sha256:' + 'b'.repeat(64), config: { os: 'linux', architecture: 'amd64', config: { WorkingDir: 'app/src' }, rootfs: { type: 'layers', diff_ids: [] } } }),
  });
  t.is(exec(def.root).cwd, '/app/src');
  t.is(def.config.config.WorkingDir, '/app/src');
});
