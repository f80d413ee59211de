export * from './make-dirs.ts';
