// `# check=skip=JSONArgsRecommended,StageNameCasing;error=true`: which rules to skip and whether
// a violation fails the check. The same text comes from the file's directive, from a comment
// above one instruction (for that instruction only), or from the BUILDKIT_DOCKERFILE_CHECK build arg.
export interface CheckConfig {
  skipAll: boolean;
  skip: ReadonlySet<string>;
  error: boolean;
}

export const DEFAULT_CHECK_CONFIG: CheckConfig = { skipAll: false, skip: new Set(), error: false };

export class CheckConfigError extends Error {}

export function parseCheckConfig(text: string | undefined): CheckConfig {
  const trimmed = (text ?? '').trim();
  if (trimmed === '') return DEFAULT_CHECK_CONFIG;
  let skipAll = false;
  const skip = new Set<string>();
  let error = false;
  for (const part of trimmed.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new CheckConfigError(`invalid check option "${part}"`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    switch (key) {
      case 'skip':
        if (value === 'all') skipAll = true;
        else for (const rule of value.split(',')) skip.add(rule.trim());
        break;
      case 'error':
        if (!/^(1|t|T|true|TRUE|True|0|f|F|false|FALSE|False)$/.test(value)) throw new CheckConfigError(`invalid value for check option error: "${value}" (use true or false)`);
        error = /^(1|t|T|true|TRUE|True)$/.test(value);
        break;
      case 'experimental':
        break; // no experimental rules here yet
      default:
        throw new CheckConfigError(`invalid check option "${key}" (use skip=RULE,... or error=true)`);
    }
  }
  return { skipAll, skip, error };
}

/** A `check=...` comment directly above an instruction adds to the file's configuration there. */
export function mergeCommentConfig(base: CheckConfig, comments: readonly string[]): CheckConfig {
  for (const comment of comments) {
    const m = /^check\s*=\s*(\S*)/i.exec(comment.trim());
    if (!m) continue;
    let extra: CheckConfig;
    try {
      extra = parseCheckConfig(m[1]);
    } catch {
      return base; // as BuildKit: a malformed per-instruction comment is ignored
    }
    return { skipAll: base.skipAll || extra.skipAll, skip: new Set([...base.skip, ...extra.skip]), error: base.error || extra.error };
  }
  return base;
}
