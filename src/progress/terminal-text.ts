// Text from a Dockerfile, a build context or an image reaches the terminal in error messages,
// excerpts and step names. Written raw, its control characters would act on the terminal: ESC
// sequences recolour, clear the screen, set the window title or (on some terminals) answer back
// as if typed; CR overwrites what was printed; bidi overrides reorder what the reader sees.
// Everything written for a person goes through `escapeControl` once, where it is formatted.

// C0 controls but tab and newline (layout), DEL, C1 controls (U+0080–U+009F: some terminals read
// U+009B as CSI), and the Unicode bidi embeddings, overrides and isolates
const unsafe = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with every control character written as an escape a reader can see: ESC as `\x1b`, NUL as
 * `\x00`, U+202E as `\u202e`. Tabs and newlines stay (CRLF becomes a newline), so layout holds.
 */
export function escapeControl(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(unsafe, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
