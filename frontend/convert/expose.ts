// EXPOSE: `80`, `80/udp`, `8000-8002/tcp`, `[ip:][host:]container[/proto]` → `"80/tcp": {}`.
import type { Instruction } from '../parser/ast.ts';
import { instructionError } from './errors.ts';
import { expandToWords } from './expand.ts';
import { addHistory, type ConvertContext, type StageState } from './state.ts';

export function dispatchExpose(ctx: ConvertContext, st: StageState, node: Instruction): void {
  const specs = node.args.flatMap((a) => expandToWords(ctx, node, st.env, a));
  const ports: string[] = [];
  for (const spec of specs) {
    for (const p of parsePort(spec)) if (!ports.includes(p)) ports.push(p);
  }
  if (ports.length === 0 && specs.length > 0) throw instructionError(ctx, node, `invalid port: ${specs[0]}`);
  function parsePort(spec: string): string[] {
    const slash = spec.lastIndexOf('/');
    const proto = slash < 0 ? 'tcp' : spec.slice(slash + 1).toLowerCase();
    const hostAndPort = slash < 0 ? spec : spec.slice(0, slash);
    if (!['tcp', 'udp', 'sctp'].includes(proto)) throw instructionError(ctx, node, `invalid proto: ${proto}`);
    const container = hostAndPort.slice(hostAndPort.lastIndexOf(':') + 1);
    const m = /^(\d+)(?:-(\d+))?$/.exec(container);
    const start = Number(m?.[1]);
    const end = m?.[2] === undefined ? start : Number(m[2]);
    if (!m || start < 1 || end > 65535 || end < start) throw instructionError(ctx, node, `invalid containerPort: ${container}`);
    return Array.from({ length: end - start + 1 }, (_, i) => `${start + i}/${proto}`);
  }
  st.config.config.ExposedPorts = { ...st.config.config.ExposedPorts, ...Object.fromEntries(ports.map((p) => [p, {}])) };
  addHistory(st, `EXPOSE [${ports.join(' ')}]`, false);
}
