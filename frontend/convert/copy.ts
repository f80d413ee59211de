// COPY and ADD: one file op over the stage, copying from the main context, a named context, a
// stage or an image; ADD also from URLs and git repositories (remote-source.ts), each its own
// source vertex. Heredoc sources (`COPY <<EOF /f`) become files.
import { posix } from 'node:path';
import { createVertex, parseSymbolicMode, type CopyAction, type FileAction, type Vertex } from '../../src/llb/index.ts';
import type { Instruction } from '../parser/ast.ts';
import { chompHeredocContent, parseHeredoc } from '../parser/heredoc.ts';
import { instructionError, locate } from './errors.ts';
import { expand } from './expand.ts';
import { instructionFlags } from './instructions.ts';
import { httpFilename, isDigest, isHttpUrl, parseGitRef } from './remote-source.ts';
import { addHistory, displayText, stepMeta, type ConvertContext, type StageState } from './state.ts';
import { parseChown } from './workdir.ts';

export async function dispatchCopy(ctx: ConvertContext, st: StageState, node: Instruction): Promise<void> {
  const isAdd = node.name === 'add';
  const upper = node.command.toUpperCase();
  const flags = instructionFlags(ctx, node);
  const ex = (word: string) => expand(ctx, node, st.env, word);
  const fromText = flags.strings.get('from');
  // BuildKit resolves --from before any variable is known, and refuses expansion there
  if (fromText !== undefined && ex(fromText) !== fromText) {
    throw instructionError(ctx, node, 'variable expansion is not supported for --from', { hint: 'define a stage with FROM using a global ARG (ARG IMG=...; FROM ${IMG} AS src) and copy --from=src' });
  }
  const from = fromText;
  // an empty --chown (an unset ARG) means no chown, as in BuildKit
  const chown = flags.strings.has('chown') ? ex(flags.strings.get('chown')!) || undefined : undefined;
  if (chown !== undefined) checkChown(ctx, node, chown);
  const chmodText = flags.strings.has('chmod') ? ex(flags.strings.get('chmod')!) : undefined;
  const chmodParsed = chmodText === undefined ? {} : parseChmod(chmodText);
  if (chmodParsed === undefined) {
    throw instructionError(ctx, node, `invalid chmod parameter: ${chmodText}`, { hint: 'use an octal mode between 0 and 07777 (0755) or chmod symbolic notation (+x, u=rwX,go=rX)', near: `--chmod=${chmodText}` });
  }
  const { chmod, chmodSymbolic } = chmodParsed;
  const parents = flags.bools.get('parents') ?? false;
  const checksum = flags.strings.has('checksum') ? ex(flags.strings.get('checksum')!) : undefined;
  const unpack = flags.bools.get('unpack');
  const excludePatterns = (flags.lists.get('exclude') ?? []).map(ex);

  const words = node.args.map(ex);
  const destText = words[words.length - 1];
  if (parseHeredoc(node.args[node.args.length - 1])) throw instructionError(ctx, node, `${upper} cannot accept a heredoc as a destination`);
  let dest = posix.resolve('/', st.config.config.WorkingDir || '/', destText);
  if (destText === '.' || destText === '' || destText.endsWith('/')) dest = dest.endsWith('/') ? dest : dest + '/';
  const sources = node.args.slice(0, -1);
  if (checksum !== undefined) checkChecksum(ctx, node, checksum, words.slice(0, -1));

  const inputs: Vertex[] = st.vertex ? [st.vertex] : [];
  const copy = (input: Vertex, src: string[], extra: Partial<CopyAction>): CopyAction => {
    inputs.push(input);
    return {
      action: 'copy', from: inputs.length - 1, src, dest,
      chown: chown ? parseChown(chown) : undefined, chmod, chmodSymbolic,
      copyDirContents: true, followSymlinks: true, allowWildcardEmpty: false, extractArchives: false,
      excludePatterns, createDestPath: true, ...extra,
    };
  };
  // actions keep the sources' order (a later source wins where they overlap); local paths share
  // one copy action, placed where the first of them stands
  const local: string[] = [];
  const ordered: Array<FileAction | 'local'> = [];
  const history: string[] = [];
  sources.forEach((raw, i) => {
    const word = words[i];
    const doc = parseHeredoc(raw);
    if (doc) {
      let data = node.heredocs.find((h) => h.name === doc.name)?.content ?? '';
      if (doc.chomp) data = chompHeredocContent(data);
      if (doc.expand) data = expand(ctx, node, st.env, data);
      // as BuildKit: the body becomes a file in a scratch tree, copied like any source, so the
      // destination's missing parents are created and --chown/--chmod apply as for files
      const path = posix.resolve('/', doc.name);
      const body = createVertex({ kind: 'file', actions: [{ action: 'mkfile', path, mode: 0o644, data }] }, [], { name: `[${st.displayName}] preparing inline document`, location: locate(ctx, node) });
      ordered.push(copy(body, [path], { copyDirContents: false }));
      history.push(`<<${doc.name}`);
      return;
    }
    history.push(word);
    const git = parseGitRef(word);
    if (git || isHttpUrl(word)) {
      if (!isAdd) throw instructionError(ctx, node, `source can't be a ${git ? 'git ref' : 'URL'} for COPY: ${word}`, { hint: 'use ADD for remote sources', near: word });
      if (from !== undefined) throw instructionError(ctx, node, `ADD --from cannot be combined with a remote source: ${word}`);
      if (git) {
        const keepGitDir = flags.bools.get('keep-git-dir') ?? false;
        const source = createVertex({ kind: 'source', source: 'git', url: git.remote, ref: git.ref, keepGitDir: keepGitDir || undefined }, [], { name: `[${st.displayName}] ${displayText(node)}: git ${word}`, location: locate(ctx, node) });
        ordered.push(copy(source, [git.subdir ?? '/'], {}));
      } else {
        const filename = httpFilename(word);
        const source = createVertex({ kind: 'source', source: 'http', url: word, checksum, filename }, [], { name: `[${st.displayName}] ${displayText(node)}: download ${word}`, location: locate(ctx, node) });
        // remote files are never unpacked unless asked (ADD --unpack)
        ordered.push(copy(source, [`/${filename}`], { copyDirContents: false, extractArchives: unpack === true }));
      }
      return;
    }
    if (local.length === 0) ordered.push('local');
    local.push(parents ? keepPivot(word) : posix.resolve('/', word));
  });

  let localCopy: CopyAction | undefined;
  if (local.length > 0) {
    const source = await ctx.resolveSource(from, node, st);
    if (!source) throw instructionError(ctx, node, `${upper} --from=${from}: that stage has an empty filesystem`);
    localCopy = copy(source, local, { allowWildcardEmpty: true, extractArchives: isAdd && unpack !== false, parents: parents || undefined });
  }
  const actions = ordered.map((a) => (a === 'local' ? localCopy! : a));
  st.vertex = createVertex({ kind: 'file', base: st.vertex ? 0 : undefined, actions }, inputs, stepMeta(ctx, st, node, displayText(node)));

  const opts = [parents ? '--parents' : '', chown !== undefined ? `--chown=${chown}` : '', chmodText !== undefined ? `--chmod=${chmodText}` : ''].filter(Boolean);
  addHistory(st, `${isAdd ? 'ADD' : 'COPY'} ${[...opts, ...history, destText].join(' ')} # buildkit`, true);
}

/** --parents: a `/./` in a source marks where the kept path starts; keep it through normalising. */
function keepPivot(word: string): string {
  const pivot = word.indexOf('/./');
  if (pivot < 0) return posix.resolve('/', word);
  const rest = posix.normalize(word.slice(pivot + 3)).replace(/^\/+/, '');
  return `${posix.resolve('/', word.slice(0, pivot))}/./${rest}`.replace(/^\/\/\.\//, '/./');
}

function checkChecksum(ctx: ConvertContext, node: Instruction, checksum: string, sources: string[]): void {
  if (sources.length !== 1) throw instructionError(ctx, node, "checksum can't be specified for multiple sources");
  if (parseGitRef(sources[0])) throw instructionError(ctx, node, 'ADD --checksum for Git sources is not supported yet');
  if (!isHttpUrl(sources[0])) throw instructionError(ctx, node, `checksum requires HTTP(S) or Git sources, not ${JSON.stringify(sources[0])}`, { hint: '--checksum pins what a URL downloads; drop it for local files' });
  if (!isDigest(checksum)) throw instructionError(ctx, node, `invalid checksum digest format: ${checksum}`, { hint: 'use sha256:<64 hex digits>', near: checksum });
}

/** USER, UID, USER:GROUP, UID:GID or :GROUP; names are resolved against the stage's /etc/passwd later. */
function checkChown(ctx: ConvertContext, node: Instruction, chown: string): void {
  // `:GROUP` keeps the user root, as BuildKit reads it
  if (/^([^:\s]+|[^:\s]*:[^:\s]+)$/.test(chown)) return;
  throw instructionError(ctx, node, `invalid --chown value: ${JSON.stringify(chown)}`, { hint: 'use USER, UID, USER:GROUP or UID:GID' });
}

/** An octal mode up to 07777, else a chmod(1) symbolic mode (kept as text, checked here), as BuildKit reads --chmod. */
function parseChmod(text: string): { chmod?: number; chmodSymbolic?: string } | undefined {
  if (/^[0-7]+$/.test(text)) return Number.parseInt(text, 8) <= 0o7777 ? { chmod: Number.parseInt(text, 8) } : undefined;
  return parseSymbolicMode(text) ? { chmodSymbolic: text } : undefined;
}
