// What both the exec and the file op ask of an input: the snapshot it stands for.
import { ErrorCodes, TsbuildError } from '../src/errors/index.ts';
import type { InputRef } from './types.ts';

/** The snapshot of `inputs[index]` (undefined: no input, the empty filesystem); a local input here is our bug. */
export function snapshotInput(inputs: readonly InputRef[], index: number | undefined): string | undefined {
  if (index === undefined) return undefined;
  const input = inputs[index];
  if (!input) throw new TsbuildError(`op refers to input ${index}, but only ${inputs.length} exist`, { code: ErrorCodes.INTERNAL, kind: 'internal' });
  if (input.type !== 'snapshot') throw new TsbuildError(`input ${index} must be a snapshot here, not a ${input.type} directory`, { code: ErrorCodes.INTERNAL, kind: 'internal' });
  return input.id;
}
