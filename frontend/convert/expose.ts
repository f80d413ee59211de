// EXPOSE: `80`, `80/udp`, `8000-8002/tcp`, `[ip:][host:]container[/proto]` → `"80/tcp": {}`.
// Parsed as BuildKit parses port specs (convert_expose.go, docker's nat.ParsePortSpecs before it):
// the IP and host port are checked and then dropped, since an image can only expose; ports run
// 0-65535 and a protocol is tcp, udp or sctp in any case, stored lowercase.
import { isIP } from 'node:net';
import type { Instruction } from '../parser/ast.ts';
import { instructionError } from './errors.ts';
import { expandToWords } from './expand.ts';
import { addHistory, type ConvertContext, type StageState } from './state.ts';

const FORMAT_HINT = 'write [IP:][HOST_PORT:]PORT[-END][/PROTOCOL], e.g. 80, 8000-8010/tcp or 53/udp; PROTOCOL is tcp, udp or sctp';

export function dispatchExpose(ctx: ConvertContext, st: StageState, node: Instruction): void {
  const specs = node.args.flatMap((a) => expandToWords(ctx, node, st.env, a));
  const ports: string[] = [];
  for (const spec of specs) {
    const parsed = parsePortSpec(spec);
    if (typeof parsed === 'string') throw instructionError(ctx, node, parsed, { hint: FORMAT_HINT, near: spec });
    for (const p of parsed) if (!ports.includes(p)) ports.push(p);
  }
  st.config.config.ExposedPorts = { ...st.config.config.ExposedPorts, ...Object.fromEntries(ports.map((p) => [p, {}])) };
  addHistory(st, `EXPOSE [${ports.join(' ')}]`, false);
}

/** The `port/proto` keys one spec exposes, or what is wrong with it. */
export function parsePortSpec(raw: string): string[] | string {
  const { ip, hostPort, containerPort } = splitParts(raw);
  const slash = containerPort.indexOf('/');
  const port = slash < 0 ? containerPort : containerPort.slice(0, slash);
  const proto = slash < 0 ? '' : containerPort.slice(slash + 1).toLowerCase();
  if (port === '') return `invalid port ${JSON.stringify(raw)}: no port specified`;
  if (!['', 'tcp', 'udp', 'sctp'].includes(proto)) return `invalid proto: ${containerPort.slice(slash + 1)}`;
  const address = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  if (address !== '' && isIP(address) === 0) return `invalid IP address: ${ip}`;
  const range = parsePortRange(port);
  if (!range) return `invalid containerPort: ${port}`;
  if (hostPort !== '') {
    const host = parsePortRange(hostPort);
    if (!host) return `invalid hostPort: ${hostPort}`;
    // a host range may go with one container port (a range to allocate from), not another range
    if (range.end - range.start !== host.end - host.start && range.end !== range.start) {
      return `invalid ranges specified for container and host Ports: ${port} and ${hostPort}`;
    }
  }
  return Array.from({ length: range.end - range.start + 1 }, (_, i) => `${range.start + i}/${proto || 'tcp'}`);
}

/** `ip:host:container`; an IPv6 address keeps its colons (everything before the last two parts). */
function splitParts(raw: string): { ip: string; hostPort: string; containerPort: string } {
  const parts = raw.split(':');
  if (parts.length === 1) return { ip: '', hostPort: '', containerPort: parts[0] };
  if (parts.length === 2) return { ip: '', hostPort: parts[0], containerPort: parts[1] };
  return { ip: parts.slice(0, -2).join(':'), hostPort: parts[parts.length - 2], containerPort: parts[parts.length - 1] };
}

/** `N` or `N-M` with 0 ≤ N ≤ M ≤ 65535 (Go's ParseInt: an optional sign, decimal digits). */
function parsePortRange(text: string): { start: number; end: number } | undefined {
  const dash = text.indexOf('-');
  const start = parsePortNumber(dash < 0 ? text : text.slice(0, dash));
  if (start === undefined) return undefined;
  if (dash < 0 || text.slice(0, dash) === text.slice(dash + 1)) return { start, end: start };
  const end = parsePortNumber(text.slice(dash + 1));
  return end === undefined || end < start ? undefined : { start, end };
}

function parsePortNumber(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 0 && n <= 65535 ? n : undefined;
}
