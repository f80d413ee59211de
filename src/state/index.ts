export * from './root.ts';
export * from './db.ts';
export * from './process-identity.ts';
