// The parsed Dockerfile: one node per instruction, arguments still as written (no variables
// expanded), the way BuildKit's parser hands them to its instruction layer.

export interface Heredoc {
  /** The delimiter word, quotes removed. */
  name: string;
  /** `3<<EOF` names fd 3; 0 when absent. */
  fileDescriptor: number;
  /** False when any part of the delimiter was quoted: the body is then taken literally. */
  expand: boolean;
  /** `<<-EOF`: leading tabs are stripped from the body and the delimiter line. */
  chomp: boolean;
  /** The body, each line with its newline. */
  content: string;
}

export interface Instruction {
  /** The instruction word as written (`run`, `RUN`). */
  command: string;
  /** `command` lower-cased, for dispatch. */
  name: string;
  /** `--x=y` words before the arguments, as written. */
  flags: string[];
  /** Arguments after the per-instruction rules (JSON array items, key/value triples for ENV/LABEL, ...). */
  args: string[];
  /** The arguments were a JSON array (exec form). */
  json: boolean;
  /** ONBUILD's trigger instruction. */
  trigger?: Instruction;
  heredocs: Heredoc[];
  /** The logical line after joining continuations, without comments. */
  original: string;
  /** 1-based lines of the file the instruction spans (heredoc bodies included). */
  startLine: number;
  endLine: number;
  /** Comment lines directly above the instruction. */
  comments: string[];
}

export interface ParserDirectives {
  syntax?: string;
  escape: string;
  check?: string;
}

export interface ParseWarning {
  message: string;
  line: number;
}

export interface DockerfileAst {
  file: string;
  directives: ParserDirectives;
  instructions: Instruction[];
  warnings: ParseWarning[];
}
