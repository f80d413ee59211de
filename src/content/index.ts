export * from './store.ts';
export * from './image-store.ts';
