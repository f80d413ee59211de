// One error type for everything a user can cause or meet. Throw where you know *what* failed,
// enrich where you know the context (the frontend adds Dockerfile locations, the solver adds the
// step), format once in the CLI (cli/format-error.ts).

export const ErrorKinds = ['invalid', 'not-found', 'exists', 'precondition', 'unavailable', 'denied', 'cancelled', 'internal'] as const;
export type ErrorKind = (typeof ErrorKinds)[number];

/** The stable codes callers and tests may branch on. Add here, never inline. */
export const ErrorCodes = {
  DOCKERFILE_SYNTAX: 'DOCKERFILE_SYNTAX',
  DOCKERFILE_UNKNOWN_INSTRUCTION: 'DOCKERFILE_UNKNOWN_INSTRUCTION',
  DOCKERFILE_SEMANTIC: 'DOCKERFILE_SEMANTIC',
  DOCKERFILE_NOT_FOUND: 'DOCKERFILE_NOT_FOUND',
  /** A Dockerfile check failed under `# check=error=true`. */
  DOCKERFILE_LINT: 'DOCKERFILE_LINT',
  STAGE_NOT_FOUND: 'STAGE_NOT_FOUND',
  CONTEXT_NOT_FOUND: 'CONTEXT_NOT_FOUND',
  COPY_SOURCE_NOT_FOUND: 'COPY_SOURCE_NOT_FOUND',
  PATH_ESCAPE: 'PATH_ESCAPE',
  RUN_FAILED: 'RUN_FAILED',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  RUNTIME_UNAVAILABLE: 'RUNTIME_UNAVAILABLE',
  IMAGE_NOT_FOUND: 'IMAGE_NOT_FOUND',
  REFERENCE_INVALID: 'REFERENCE_INVALID',
  REGISTRY_ERROR: 'REGISTRY_ERROR',
  DIGEST_MISMATCH: 'DIGEST_MISMATCH',
  BLOB_NOT_FOUND: 'BLOB_NOT_FOUND',
  TAR_UNSAFE: 'TAR_UNSAFE',
  OPTION_INVALID: 'OPTION_INVALID',
  OUTPUT_FAILED: 'OUTPUT_FAILED',
  STATE_ERROR: 'STATE_ERROR',
  CANCELLED: 'CANCELLED',
  INTERNAL: 'INTERNAL',
  /** The config file (tsbuild.toml) cannot be read or holds a bad value. */
  CONFIG_INVALID: 'CONFIG_INVALID',
  /** A RUN was stopped by a resource limit: killed for memory, or a fork failed at the pids limit. */
  RUN_LIMIT_REACHED: 'RUN_LIMIT_REACHED',
  /** A step asked for a privilege (network.host, security.insecure) the build was not given with --allow. */
  ENTITLEMENT_DENIED: 'ENTITLEMENT_DENIED',
  /** The network sandbox could not be set up (pasta missing, namespaces unavailable). */
  NETWORK_UNAVAILABLE: 'NETWORK_UNAVAILABLE',
  /** A file read from an image, snapshot or context is not a regular file, is a link out, or is over its size bound. */
  FILE_UNREADABLE: 'FILE_UNREADABLE',
  /** An image's manifest, index, config or layer is damaged: not JSON, wrong field types, a corrupt compressed layer. */
  IMAGE_INVALID: 'IMAGE_INVALID',
  /** An ADD'ed archive whose compression or tar stream is damaged (a truncated .tar.gz). */
  ARCHIVE_INVALID: 'ARCHIVE_INVALID',
  /** A credential helper (docker-credential-*) or the Docker config file holding registry credentials failed. */
  CREDENTIALS_UNAVAILABLE: 'CREDENTIALS_UNAVAILABLE',
  /** An image command that would break another name's image (rmi of an id several tags name, without -f). */
  IMAGE_CONFLICT: 'IMAGE_CONFLICT',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Where in a file something is: 1-based line and column. `text` is that line as written. */
export interface SourceLocation {
  file: string;
  line: number;
  column?: number;
  endLine?: number;
  text?: string;
}

export interface ErrorNote {
  message: string;
  location?: SourceLocation;
}

export interface TsbuildErrorOptions {
  code: ErrorCode;
  kind: ErrorKind;
  hint?: string;
  location?: SourceLocation;
  notes?: ErrorNote[];
  cause?: unknown;
  /** Extra lines shown under the message (e.g. the last lines of a failed RUN's output). */
  details?: string[];
  /** The step that failed, as progress shows it: `[build 3/5] RUN make`. Added by the solver. */
  step?: string;
}

export class TsbuildError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  hint?: string;
  location?: SourceLocation;
  notes: ErrorNote[];
  details: string[];
  step?: string;
  /** Texts of files its locations point into, by the name locations use (see withSourceText). */
  sourceTexts?: ReadonlyMap<string, string>;

  constructor(message: string, options: TsbuildErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TsbuildError';
    this.code = options.code;
    this.kind = options.kind;
    this.hint = options.hint;
    this.location = options.location;
    this.notes = options.notes ?? [];
    this.details = options.details ?? [];
    this.step = options.step;
  }
}

export function isTsbuildError(e: unknown): e is TsbuildError {
  return e instanceof TsbuildError;
}

/** Shorthands for the common kinds, so throw sites stay one line. */
export const invalid = (code: ErrorCode, message: string, extra: Omit<TsbuildErrorOptions, 'code' | 'kind'> = {}) =>
  new TsbuildError(message, { ...extra, code, kind: 'invalid' });
export const notFound = (code: ErrorCode, message: string, extra: Omit<TsbuildErrorOptions, 'code' | 'kind'> = {}) =>
  new TsbuildError(message, { ...extra, code, kind: 'not-found' });
export const unavailable = (code: ErrorCode, message: string, extra: Omit<TsbuildErrorOptions, 'code' | 'kind'> = {}) =>
  new TsbuildError(message, { ...extra, code, kind: 'unavailable' });
export const internal = (message: string, extra: Omit<TsbuildErrorOptions, 'code' | 'kind'> = {}) =>
  new TsbuildError(message, { ...extra, code: ErrorCodes.INTERNAL, kind: 'internal' });

/** The closest candidate by edit distance, for "did you mean" hints; undefined when nothing is close. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  // allow about one typo per three characters: "mian" → "main", but not "x" → "RUN"
  return best !== undefined && bestDist > 0 && bestDist <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions ("mian" → "main" is 1). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * Attaches the text of a file the error's locations point into (the Dockerfile as the build read
 * it), so the report can show the lines around the error even when the location names the file
 * relative to its context. Per error, never process-wide: two builds in one process each attach
 * their own. Keeps a text already attached for that file; returns `e`.
 */
export function withSourceText<T>(e: T, file: string, text: string): T {
  if (isTsbuildError(e) && !e.sourceTexts?.has(file)) e.sourceTexts = new Map([...(e.sourceTexts ?? []), [file, text]]);
  return e;
}
