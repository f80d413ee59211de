export * from './store.ts';
export * from './image-store.ts';
export * from './verify-blob.ts';
export * from './limit-bytes.ts';
export { alignedBuffer, directReadFits, openDirect } from './direct-read.ts';
export { createBlobFile, type BlobFile } from './blob-file.ts';
export { unpackedLayerSize } from './layer-size.ts';
