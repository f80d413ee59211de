export * from './root.ts';
export * from './db.ts';
