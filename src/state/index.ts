export * from './root.ts';
export * from './db.ts';
export * from './secure-root.ts';
export * from './process-identity.ts';
export * from './leases.ts';
