// Errors leave the solver naming the step that failed and its Dockerfile location.
import { isTsbuildError } from '../src/errors/index.ts';
import type { Vertex } from '../src/llb/index.ts';

/** Adds the failing step (name and location) to the error, keeping any already given. */
export function withStep(e: unknown, v: Vertex): unknown {
  if (isTsbuildError(e)) {
    e.step ??= v.meta.name;
    e.location ??= v.meta.location;
  }
  return e;
}
