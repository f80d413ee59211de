// The distribution-spec client: references, auth, retries, pull (and later push).
export * from './reference.ts';
export * from './platform.ts';
