export * from './events.ts';
export { createProgress, ProgressModes, resolveProgressMode, type ProgressMode, type ProgressOutput } from './create.ts';
export { formatBytes, formatWarningSummary } from './format.ts';
export type { SolveStatus } from './rawjson.ts';
export { escapeControl } from './terminal-text.ts';
