// Variable expansion for the instructions that expand (ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL
// USER VOLUME WORKDIR, ARG defaults), with the Dockerfile's escape token and located errors.
import type { Instruction } from '../parser/ast.ts';
import { expandWord, processWords, ShellLexError } from '../shell-lex.ts';
import { envLookup, type EnvList } from './env.ts';
import { instructionError, type SourceText } from './errors.ts';

export interface ExpandContext extends SourceText {
  escapeToken: string;
}

export function expand(ctx: ExpandContext, node: Instruction, env: EnvList, word: string): string {
  try {
    return expandWord(word, envLookup(env), { escapeToken: ctx.escapeToken }).result;
  } catch (e) {
    if (e instanceof ShellLexError) throw instructionError(ctx, node, e.message);
    throw e;
  }
}

export function expandToWords(ctx: ExpandContext, node: Instruction, env: EnvList, word: string): string[] {
  try {
    return processWords(word, envLookup(env), { escapeToken: ctx.escapeToken });
  } catch (e) {
    if (e instanceof ShellLexError) throw instructionError(ctx, node, e.message);
    throw e;
  }
}
