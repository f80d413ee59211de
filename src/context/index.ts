export * from './ignore.ts';
export * from './safe-path.ts';
export * from './sources.ts';
export * from './checksum.ts';
export { hasWildcard, wildcardToRegExp } from './wildcard.ts';
export * from './file-digest-cache.ts';
export * from './read-bounded.ts';
export * from './listing.ts';
export * from './read-fingerprints.ts';
