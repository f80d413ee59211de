// `COPY --chmod` in chmod(1) symbolic notation (`+x`, `go-w`, `u=rwX,go=rX`, `g=u`), read and
// applied as BuildKit does with tonistiigi/dchapes-mode, a Go port of BSD setmode(3)/getmode(3)
// with a zero umask. Parsing gives a list of bit commands (plain data); applying runs them over one
// entry's mode, so `X` can look at whether that entry is a directory or already executable.
//
// Example: parseSymbolicMode('u=rwX,go=rX') → commands; applySymbolicMode(cmds, 0o600, false) → 0o644,
// applySymbolicMode(cmds, 0o700, true) → 0o755.

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISTXT = 0o1000;
const S_IRWXU = 0o700;
const S_IRWXG = 0o070;
const S_IRWXO = 0o007;
const READ = 0o444;
const WRITE = 0o222;
const EXEC = 0o111;
const STANDARD = S_ISUID | S_ISGID | S_IRWXU | S_IRWXG | S_IRWXO;
const ALL = 0xffff;

/** One setmode step: set, clear or conditionally set (`X`) bits, or copy one class's bits (`u`/`g`/`o`). */
export interface ModeCommand {
  op: '+' | '-' | 'X' | 'u' | 'g' | 'o';
  bits: number;
  /** For copies: into which classes, and whether to set, clear or both (`=`). */
  to?: { u: boolean; g: boolean; o: boolean; set: boolean; clear: boolean };
}

/** The commands for a symbolic mode, or undefined when the text is not one (octal is for the caller). */
export function parseSymbolicMode(text: string): ModeCommand[] | undefined {
  if (text === '' || /^[0-9]/.test(text)) return undefined;
  const cmds: ModeCommand[] = [];
  const add = (op: '+' | '-' | '=' | 'X', who: number, arg: number) => {
    if (op === '=') {
      cmds.push({ op: '-', bits: who !== 0 ? who : STANDARD });
      op = '+';
    }
    cmds.push({ op, bits: who !== 0 ? who & arg : ALL & arg });
  };
  const copy = (from: 'u' | 'g' | 'o', who: number, op: '+' | '-' | '=') => {
    const to = who !== 0 ? { u: (who & 0o400) !== 0, g: (who & 0o040) !== 0, o: (who & 0o004) !== 0 } : { u: true, g: true, o: true };
    cmds.push({ op: from, bits: ALL, to: { ...to, set: op !== '-', clear: op !== '+' } });
  };
  let s = text;
  for (;;) {
    let who = 0;
    for (; s !== '' && 'augo'.includes(s[0]); s = s.slice(1)) {
      who |= s[0] === 'a' ? STANDARD : s[0] === 'u' ? S_ISUID | S_IRWXU : s[0] === 'g' ? S_ISGID | S_IRWXG : S_IRWXO;
    }
    if (s === '') return undefined;
    // one or more `op perms` after one `who`, as `u+r-w`
    for (;;) {
      const op = s[0];
      s = s.slice(1);
      if (op !== '+' && op !== '-' && op !== '=') return undefined;
      let equalDone = false;
      who &= ~S_ISTXT;
      let perm = 0;
      let permX = 0;
      for (;; s = s.slice(1)) {
        const c = s[0] ?? '';
        if (c === 'r') perm |= READ;
        else if (c === 'w') perm |= WRITE;
        else if (c === 'x') perm |= EXEC;
        else if (c === 'X') {
          if (op !== '-') permX = EXEC;
          else perm |= EXEC;
        } else if (c === 's') {
          // set-id bits mean nothing for "other" alone
          if (who === 0 || (who & ~S_IRWXO) !== 0) perm |= S_ISUID | S_ISGID;
        } else if (c === 't') {
          if (who === 0 || (who & ~S_IRWXO) !== 0) {
            who |= S_ISTXT;
            perm |= S_ISTXT;
          }
        } else if (c === 'u' || c === 'g' || c === 'o') {
          if (perm !== 0) {
            add(op, who, perm);
            perm = 0;
          }
          if (op === '=') equalDone = true;
          if (permX !== 0) {
            add('X', who, permX);
            permX = 0;
          }
          copy(c, who, op);
        } else {
          if (perm !== 0 || (op === '=' && !equalDone)) add(op, who, perm);
          if (permX !== 0) add('X', who, permX);
          break;
        }
      }
      if (s === '' || s[0] === ',') break;
    }
    if (s === '') return cmds;
    s = s.slice(1); // the ','
  }
}

/** `mode`'s permission bits (with set-id and sticky) after the commands; file type bits are dropped. */
export function applySymbolicMode(cmds: readonly ModeCommand[], mode: number, isDir: boolean): number {
  const old = mode & 0o7777;
  let m = old;
  for (const c of cmds) {
    switch (c.op) {
      case '+':
        m |= c.bits;
        break;
      case '-':
        m &= ~c.bits;
        break;
      case 'X':
        if ((old & EXEC) !== 0 || isDir) m |= c.bits;
        break;
      case 'u':
      case 'g':
      case 'o': {
        const value = c.op === 'u' ? (m & S_IRWXU) >> 6 : c.op === 'g' ? (m & S_IRWXG) >> 3 : m & S_IRWXO;
        const to = c.to!;
        if (to.clear) {
          const clr = to.set ? S_IRWXO : value;
          if (to.u) m &= ~((clr << 6) & c.bits);
          if (to.g) m &= ~((clr << 3) & c.bits);
          if (to.o) m &= ~(clr & c.bits);
        }
        if (to.set) {
          if (to.u) m |= (value << 6) & c.bits;
          if (to.g) m |= (value << 3) & c.bits;
          if (to.o) m |= value & c.bits;
        }
        break;
      }
      default: {
        const never: never = c.op;
        throw new Error(`unknown mode command ${String(never)}`);
      }
    }
  }
  return m & 0o7777;
}
