export * from './events.ts';
export { createProgress, ProgressModes, type ProgressMode, type ProgressOutput } from './create.ts';
export { escapeControl } from './terminal-text.ts';
