// The exporter: a result (layers + config) in, an artifact out.
export type * from './types.ts';
export { createImageView, readImageView, withConfig, withCreated, withLayers } from './view.ts';
export { exportImage } from './export.ts';
export type { ExportDeps } from './export.ts';
export { defaultLayerCompression } from './export.ts';
export { alignHistory } from './history.ts';
export { isStreamTarget } from './sink.ts';
export { dockerDaemon, pingDocker } from './outputs/docker-daemon.ts';
export type { DockerDaemon } from './outputs/docker-daemon.ts';
export { exportArchive, type ArchiveImage } from './outputs/archive.ts';
