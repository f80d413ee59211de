// BuildKit's Node.Dump() format, one s-expression per instruction: `(copy ["--from=a"] "x" "/y")`.
// The conformance tests compare against it byte for byte.
import type { DockerfileAst, Instruction } from './ast.ts';
import { goQuote } from './go-text.ts';

export function dumpAst(ast: DockerfileAst): string {
  return ast.instructions.map((i) => `(${dumpInstruction(i)})\n`).join('');
}

export function dumpInstruction(node: Instruction): string {
  let out = node.command.toLowerCase();
  if (node.flags.length > 0) out += ` [${node.flags.map(goQuote).join(' ')}]`;
  if (node.trigger) out += ` (${dumpInstruction(node.trigger)})`;
  for (const arg of node.args) out += ` ${goQuote(arg)}`;
  return out.trim();
}
