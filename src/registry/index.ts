// The distribution-spec client: references, auth, retries, pull (and later push).
export * from './reference.ts';
export * from './platform.ts';
export * from './errors.ts';
export * from './retry.ts';
export * from './auth.ts';
export * from './client.ts';
export * from './pull.ts';
export * from './resolve-config.ts';
export * from './push.ts';
export * from './stall-guard.ts';
export * from './docker-config.ts';
export * from './credential-helper.ts';
export * from './login.ts';
export * from './http.ts';
export * from './streamed-upload.ts';
