// COPY and ADD (local sources): one file op over the stage, copying from the main context, a
// named context, an earlier stage or an image. Heredoc sources (`COPY <<EOF /f`) become files.
import { posix } from 'node:path';
import { createVertex, type FileAction, type Vertex } from '../../src/llb/index.ts';
import type { Instruction } from '../parser/ast.ts';
import { chompHeredocContent, parseHeredoc } from '../parser/heredoc.ts';
import { instructionError } from './errors.ts';
import { expand } from './expand.ts';
import { instructionFlags } from './instructions.ts';
import { addHistory, displayText, stepMeta, type ConvertContext, type StageState } from './state.ts';
import { parseChown } from './workdir.ts';

export async function dispatchCopy(ctx: ConvertContext, st: StageState, node: Instruction): Promise<void> {
  const isAdd = node.name === 'add';
  const flags = instructionFlags(ctx, node);
  const ex = (word: string) => expand(ctx, node, st.env, word);
  const from = flags.strings.has('from') ? ex(flags.strings.get('from')!) : undefined;
  const chown = flags.strings.has('chown') ? ex(flags.strings.get('chown')!) : undefined;
  const chmodText = flags.strings.has('chmod') ? ex(flags.strings.get('chmod')!) : undefined;
  if (flags.bools.get('parents')) throw instructionError(ctx, node, 'COPY --parents is not supported yet');
  const chmod = chmodText === undefined ? undefined : parseChmod(chmodText);
  if (chmod !== undefined && Number.isNaN(chmod)) throw instructionError(ctx, node, `invalid chmod parameter: ${chmodText}`, { hint: 'use an octal mode such as 0755' });

  const words = node.args.map(ex);
  const destText = words[words.length - 1];
  if (parseHeredoc(node.args[node.args.length - 1])) throw instructionError(ctx, node, `${node.command.toUpperCase()} cannot accept a heredoc as a destination`);
  let dest = posix.resolve('/', st.config.config.WorkingDir || '/', destText);
  if (destText === '.' || destText === '' || destText.endsWith('/')) dest = dest.endsWith('/') ? dest : dest + '/';

  const srcs: string[] = [];
  const files: FileAction[] = [];
  const history: string[] = [];
  node.args.slice(0, -1).forEach((raw, i) => {
    const doc = parseHeredoc(raw);
    if (!doc) {
      if (isAdd && /^(https?|git):\/\/|^git@/.test(words[i])) throw instructionError(ctx, node, `ADD from a URL is not supported yet: ${words[i]}`);
      srcs.push(posix.resolve('/', words[i]));
      history.push(words[i]);
      return;
    }
    const body = node.heredocs.find((h) => h.name === doc.name);
    let data = body?.content ?? '';
    if (doc.chomp) data = chompHeredocContent(data);
    if (doc.expand) data = expand(ctx, node, st.env, data);
    files.push({ action: 'mkfile', path: dest.endsWith('/') ? dest + doc.name : dest, mode: chmod ?? 0o644, data, chown: chown ? parseChown(chown) : undefined });
    history.push(`<<${doc.name}`);
  });

  const inputs: Vertex[] = st.vertex ? [st.vertex] : [];
  const actions: FileAction[] = [];
  if (srcs.length > 0) {
    const source = await ctx.resolveSource(from, node, st);
    if (!source) throw instructionError(ctx, node, `${node.command.toUpperCase()} --from=${from}: that stage has an empty filesystem`);
    inputs.push(source);
    actions.push({
      action: 'copy',
      from: inputs.length - 1,
      src: srcs,
      dest,
      chown: chown ? parseChown(chown) : undefined,
      chmod,
      copyDirContents: true,
      followSymlinks: true,
      allowWildcardEmpty: srcs.length > 1,
      extractArchives: isAdd,
      excludePatterns: flags.lists.get('exclude') ?? [],
      createDestPath: true,
    });
  }
  actions.push(...files);
  st.vertex = createVertex({ kind: 'file', base: st.vertex ? 0 : undefined, actions }, inputs, stepMeta(ctx, st, node, displayText(node)));

  const opts = [chown !== undefined ? `--chown=${chown}` : '', chmodText !== undefined ? `--chmod=${chmodText}` : ''].filter(Boolean);
  addHistory(st, `${isAdd ? 'ADD' : 'COPY'} ${[...opts, ...history, destText].join(' ')} # buildkit`, true);
}

function parseChmod(text: string): number {
  return /^[0-7]{1,4}$/.test(text) ? Number.parseInt(text, 8) : Number.NaN;
}
