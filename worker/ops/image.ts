// FROM and COPY --from=<image>: the image's layers as a snapshot chain (../layer/unpack-image.ts).
// Its key is the op, which names the manifest by digest; so --no-cache still takes an unpacked
// image from the cache rather than unpacking it again.
//
// The frontend resolved only the manifest and config; layer blobs are fetched here, inside the
// build's scheduling (its abort signal, one slot of its parallelism), and only for layers not yet
// unpacked: a rebuild whose steps are all cached never reaches this and fetches nothing.
import type { ImageSource } from '../../src/llb/index.ts';
import { unpackImage } from '../layer/unpack-image.ts';
import { fetchMissingLayers } from '../source/image-layers.ts';
import { readsNothing, type OpDefinition } from './op-definition.ts';

export const image = {
  reads: () => readsNothing,
  cachedUnderNoCache: true,
  open: (env) => ({
    run: async (op, _inputs, ctx) => {
      await fetchMissingLayers(env, op, ctx);
      return unpackImage(env, op, ctx);
    },
  }),
} satisfies OpDefinition<ImageSource>;
