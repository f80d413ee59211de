// The checks BuildKit's instruction layer makes on every instruction of the file, reachable or
// not: known instruction, accepted flags, argument counts.
import { closest, ErrorCodes } from '../../src/errors/index.ts';
import type { Instruction } from '../parser/ast.ts';
import { instructionError, type SourceText } from './errors.ts';
import { FlagError, parseFlags, type FlagSpec, type ParsedFlags } from './flags.ts';

const FLAGS: Readonly<Record<string, FlagSpec>> = {
  from: { platform: 'string' },
  copy: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', exclude: 'strings', parents: 'bool' },
  add: { chown: 'string', chmod: 'string', link: 'bool', exclude: 'strings', 'keep-git-dir': 'bool', checksum: 'string', unpack: 'bool' },
  run: { network: 'string', mount: 'strings', security: 'string', device: 'strings' },
  healthcheck: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
  arg: {}, cmd: {}, entrypoint: {}, env: {}, expose: {}, label: {}, maintainer: {}, onbuild: {},
  shell: {}, stopsignal: {}, user: {}, volume: {}, workdir: {},
};

export const INSTRUCTIONS = Object.keys(FLAGS);

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

/** Parses the instruction's flags; throws a located error for flags it does not accept. */
export function instructionFlags(src: SourceText, node: Instruction, at: Instruction = node): ParsedFlags {
  try {
    return parseFlags(node.flags, FLAGS[node.name] ?? {});
  } catch (e) {
    if (e instanceof FlagError) throw instructionError(src, at, `${node.command.toUpperCase()}: ${e.message}`, { hint: e.hint ?? otherOwners(node.name, e.flag), near: e.flag ? `--${e.flag}` : undefined });
    throw e;
  }
}

/** `COPY --checksum` → "--checksum is a flag of ADD": the flag exists, on another instruction. */
function otherOwners(name: string, flag: string | undefined): string | undefined {
  if (flag === undefined) return undefined;
  const owners = Object.keys(FLAGS).filter((i) => i !== name && flag in FLAGS[i]).map((i) => i.toUpperCase());
  return owners.length > 0 ? `--${flag} is a flag of ${owners.join(' and ')}` : undefined;
}

export function checkInstruction(src: SourceText, node: Instruction, at: Instruction = node): void {
  const upper = node.command.toUpperCase();
  if (!(node.name in FLAGS)) {
    const near = closest(upper, INSTRUCTIONS.map((i) => i.toUpperCase()));
    throw instructionError(src, at, `unknown instruction: ${node.command}`, {
      code: ErrorCodes.DOCKERFILE_UNKNOWN_INSTRUCTION,
      hint: near ? `did you mean ${near}?` : undefined,
    });
  }
  instructionFlags(src, node, at);
  const fail = (message: string) => {
    throw instructionError(src, at, message);
  };
  const n = node.args.length;
  switch (node.name) {
    case 'from':
      if (n === 3 && node.args[1].toLowerCase() === 'as') {
        if (!STAGE_NAME.test(node.args[2].toLowerCase())) fail(`invalid name for build stage: ${JSON.stringify(node.args[2])}, name can't start with a number or contain symbols`);
      } else if (n !== 1) fail('FROM requires either one or three arguments');
      break;
    case 'copy':
    case 'add':
      if (n < 2) fail(`${upper} requires at least two arguments, but only one was provided. Destination could not be determined`);
      break;
    case 'env':
    case 'label':
      if (n === 0) fail(`${upper} requires at least one argument`);
      for (let i = 0; i < n; i += 3) if (node.args[i] === '') fail(`${upper} names can not be blank`);
      break;
    case 'maintainer':
    case 'workdir':
    case 'user':
    case 'stopsignal':
      if (n !== 1) fail(`${upper} requires exactly one argument`);
      break;
    case 'onbuild': {
      const trigger = node.trigger;
      if (!trigger) return fail('ONBUILD requires at least one argument');
      if (trigger.name === 'onbuild') fail('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (trigger.name === 'from' || trigger.name === 'maintainer') fail(`${trigger.command.toUpperCase()} isn't allowed as an ONBUILD trigger`);
      checkInstruction(src, trigger, at);
      break;
    }
    case 'healthcheck': {
      if (n === 0) fail('HEALTHCHECK requires at least one argument');
      const type = node.args[0].toUpperCase();
      if (type === 'NONE' && n > 1) fail('HEALTHCHECK NONE takes no arguments');
      if (type === 'CMD' && n === 1) fail('Missing command after HEALTHCHECK CMD');
      if (type !== 'NONE' && type !== 'CMD') fail(`Unknown type ${JSON.stringify(node.args[0])} in HEALTHCHECK (try CMD)`);
      break;
    }
    case 'run':
    case 'arg':
    case 'expose':
    case 'volume':
    case 'shell':
      if (n === 0 && node.heredocs.length === 0) fail(`${upper} requires at least one argument`);
      if (node.name === 'shell' && !node.json) fail('SHELL requires the arguments to be in JSON form');
      break;
  }
}
