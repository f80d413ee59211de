// Variable expansion for the instructions that expand (ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL
// USER VOLUME WORKDIR, ARG defaults), with the Dockerfile's escape token and located errors.
import type { Instruction } from '../parser/ast.ts';
import { expandWord, processWords, ShellLexError } from '../shell-lex.ts';
import { envLookup, type EnvList } from './env.ts';
import { instructionError, type SourceText } from './errors.ts';

export interface ExpandContext extends SourceText {
  escapeToken: string;
  /** What is left of the build's expansion budget (`createExpansionBudget`); absent: unbounded. */
  expansionBudget?: { left: number };
}

// Each word is bounded (src shell-lex maxExpandedLength) but a few hundred ENV lines of a 512 KiB
// variable still made a 3 GB image config: 64 MiB in all is far past any real Dockerfile
export const maxExpandedTotal = 64 * 1024 * 1024;

export const createExpansionBudget = () => ({ left: maxExpandedTotal });

function spend(ctx: ExpandContext, node: Instruction, chars: number): void {
  const budget = ctx.expansionBudget;
  if (!budget) return;
  budget.left -= chars;
  if (budget.left < 0) {
    throw instructionError(ctx, node, `variable expansions in this Dockerfile add up to more than ${maxExpandedTotal} characters`, {
      hint: 'a variable this large is a mistake: pass big data as a file (COPY) or a secret instead',
    });
  }
}

export function expand(ctx: ExpandContext, node: Instruction, env: EnvList, word: string): string {
  try {
    const result = expandWord(word, envLookup(env), { escapeToken: ctx.escapeToken }).result;
    spend(ctx, node, result.length);
    return result;
  } catch (e) {
    if (e instanceof ShellLexError) throw instructionError(ctx, node, e.message);
    throw e;
  }
}

export function expandToWords(ctx: ExpandContext, node: Instruction, env: EnvList, word: string): string[] {
  try {
    const words = processWords(word, envLookup(env), { escapeToken: ctx.escapeToken });
    spend(ctx, node, words.reduce((n, w) => n + w.length, 0));
    return words;
  } catch (e) {
    if (e instanceof ShellLexError) throw instructionError(ctx, node, e.message);
    throw e;
  }
}
