export * from './parallel-gzip.ts';
export * from './looks-random.ts';
