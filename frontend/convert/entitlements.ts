// BuildKit's entitlements for RUN: a step may leave the sandbox only when the build was started
// with `--allow` for it. Checked while converting, so the refusal names the Dockerfile line.
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import type { Instruction } from '../parser/ast.ts';
import type { Entitlement } from '../types.ts';
import { locate, type SourceText } from './errors.ts';

/** Throws ENTITLEMENT_DENIED at `node` (pointing at `flag`) unless `entitlement` was allowed. */
export function requireEntitlement(src: SourceText, node: Instruction, allowed: readonly Entitlement[] | undefined, entitlement: Entitlement, flag: string): void {
  if (allowed?.includes(entitlement)) return;
  const location = locate(src, node, flag);
  const where = location.column !== undefined ? `${location.line}:${location.column}` : `${location.line}`;
  throw new TsbuildError(`${src.file}:${where}: ${flag} needs the entitlement ${entitlement}, which this build does not allow`, {
    code: ErrorCodes.ENTITLEMENT_DENIED,
    kind: 'denied',
    location,
    hint: `if you trust this Dockerfile, build with --allow ${entitlement}`,
  });
}
