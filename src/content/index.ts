export * from './store.ts';
export * from './image-store.ts';
export * from './verify-blob.ts';
export * from './limit-bytes.ts';
