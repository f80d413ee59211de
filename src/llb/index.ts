export * from './ops.ts';
export * from './vertex.ts';
export * from './canonical-json.ts';
export * from './symbolic-mode.ts';
export * from './proxy-env.ts';
export * from './platform-text.ts';
