// `--label KEY=VALUE` (docker build, docker buildx build): labels of the image the build makes, over
// those its Dockerfile's LABEL lines set. As BuildKit's dockerfile2llb applies them, to the target
// stage's config only: they change no step, no cache key and add no history entry.
import { ErrorCodes, invalid } from '../src/errors/index.ts';
import type { ImageConfig } from '../src/image/index.ts';

/** `KEY=VALUE` → [KEY, VALUE]; a bare `KEY` is an empty value, as docker reads it. */
export function parseLabel(text: string): [string, string] {
  const eq = text.indexOf('=');
  const key = eq < 0 ? text : text.slice(0, eq);
  if (key === '') throw invalid(ErrorCodes.OPTION_INVALID, `--label "${text}" has no key`, { hint: 'e.g. --label org.opencontainers.image.source=https://example.com/repo' });
  return [key, eq < 0 ? '' : text.slice(eq + 1)];
}

/** `config` with `labels` set over its own; a new object (the one given may be a base image's, shared). */
export function withLabels(config: ImageConfig, labels: Readonly<Record<string, string>>): ImageConfig {
  if (Object.keys(labels).length === 0) return config;
  return { ...config, config: { ...config.config, Labels: { ...config.config.Labels, ...labels } } };
}
