// A small two-layer image view (plus one empty layer) in a temp content store, for exporter tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openContentStore, openImageStore } from '../../src/content/index.ts';
import type { ContentStore, ImageStore } from '../../src/content/index.ts';
import { openDatabase } from '../../src/state/index.ts';
import { createImageView } from '../../exporter/index.ts';
import type { ImageView } from '../../exporter/index.ts';
import { gzipLayer } from '../_support/registry.ts';

export interface Fixture {
  dir: string;
  content: ContentStore;
  images: ImageStore;
  view: ImageView;
}

export async function imageFixture(t: { teardown(fn: () => Promise<void>): void }): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-export-'));
  const content = openContentStore(join(dir, 'root', 'content'));
  const db = openDatabase(join(dir, 'root', 'metadata.db'));
  t.teardown(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });
  const base = await gzipLayer({ 'etc/os-release': 'NAME=test\n', 'bin/hello': '#!/bin/sh\necho hi\n' });
  const app = await gzipLayer({ 'app/main.txt': 'main\n' });
  const empty = await gzipLayer({});
  for (const l of [base, app, empty]) await content.putBytes(l.gz);
  const layer = (l: typeof base, isEmpty = false) => ({ diffId: l.diffId, digest: l.digest, size: l.size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', empty: isEmpty });
  const view = await createImageView({
    config: {
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/bin'], Cmd: ['/bin/hello'], WorkingDir: '/app' },
      rootfs: { type: 'layers', diff_ids: [] },
      history: [
        { created_by: 'ADD base.tar /' },
        { created_by: 'WORKDIR /app' },
        { created_by: 'ENV PATH=/bin', empty_layer: true },
        { created_by: 'COPY main.txt /app/' },
      ],
    },
    layers: [layer(base), layer(empty, true), layer(app)],
    content,
    created: new Date('2024-05-01T00:00:00Z'),
  });
  return { dir, content, images: openImageStore({ content, db }), view };
}
