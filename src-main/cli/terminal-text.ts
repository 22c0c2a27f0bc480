/**
 * Untrusted text (file names, folder names, error messages that quote them) printed on a
 * terminal: control characters are shown escaped, so a file named "\x1b]0;...\x07.png" or
 * "\x1b[2J.png" cannot retitle, clear or recolour the operator's terminal, fake output lines
 * (line feeds, carriage returns) or reorder the text (bidirectional overrides).
 * Only for the console: results.jsonl, results.csv and the reports keep names exact.
 */
import type { AppError } from '../common/errors';

/** C0 controls (tab and line feed included), DEL, C1 controls, and the bidirectional marks and overrides. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const escapeChar = (c: string): string => {
  const n = c.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
};

/** `s` with every control character written as `\xNN` (`\uNNNN` for the bidirectional ones). */
export function forTerminal(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

/** AppError.describe() for a terminal: the message and the hint sanitised, on two lines. */
export function describeForTerminal(e: AppError): string {
  return e.hint ? `${forTerminal(e.message)}\n  → ${forTerminal(e.hint)}` : forTerminal(e.message);
}

/**
 * JSON text for a terminal: JSON.stringify escapes C0 controls but writes DEL, C1 controls and
 * bidirectional marks raw; this writes them as `\uNNNN`, so the text parses to the same value.
 */
export function jsonForTerminal(json: string): string {
  return json.replace(/[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Every unsafe character but line feed and tab, which the CLI's own multi-line output uses. */
const UNSAFE_IN_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * The last line of defence for everything `bgad` prints (bgad.ts): any control character that
 * a command did not escape itself (a file name inside an error message, a folder name in an
 * import summary) is written as `\uNNNN`, which is readable text and, inside a JSON string,
 * the same value. Line feeds and tabs are kept.
 */
export function consoleLine(s: string): string {
  return s.replace(UNSAFE_IN_LINES, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
