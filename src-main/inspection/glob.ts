/**
 * The glob matcher of `--include` / `--exclude`: picomatch (Node 20's `path.matchesGlob` is
 * experimental and prints a warning) behind a thin adapter that keeps our documented dialect.
 * Paths are relative to the inspected folder with `/` separators. Supported: `*` (any run of
 * characters except `/`), `**` (any number of whole folders, including none), `?` (one
 * character except `/`), `[abc]`, `[a-z]`, `[!abc]` and `{png,jpg}` alternatives. A pattern
 * without `/` matches the file name in any folder (`*.png` is `**\/*.png`), as in .gitignore.
 * Matching ignores case, so `*.png` also takes `IMG_001.PNG` (cameras on Windows write
 * upper-case extensions). `*` and `**` also match names that start with a dot.
 *
 * What the adapter does before picomatch (options `nocase`, `dot`, `nonegate`, `noextglob`):
 * `\` becomes `/` and a leading `./` goes (globs typed on Windows); a pattern without `/` gets
 * `**\/` in front (rather than picomatch's `basename`, so that globToRegExp's one RegExp says
 * it all); `[!` becomes `[^` (picomatch 4 keeps `[!` as a literal `!`); `(`, `)` and `|` are
 * escaped, so file names such as `IMG (1).png` match literally (no extglobs, no regex groups);
 * an unbalanced `{` is an error (picomatch would take it literally). Edge cases where picomatch
 * differs from the hand-written matcher this replaced, both outside the documented dialect: a
 * one-element `{png}` is literal (bash), and `dir/**` also matches a file named `dir`.
 */
import picomatch from 'picomatch';

const OPTIONS: picomatch.PicomatchOptions = { nocase: true, dot: true, nonegate: true, noextglob: true };
const cache = new Map<string, RegExp>();

/** Our dialect -> the pattern picomatch reads (throws on an unbalanced `{`). */
function toPicomatch(glob: string): string {
  let g = glob.replace(/\\/g, '/').replace(/^\.\//, '');
  if (!g.includes('/')) g = `**/${g}`;
  let braces = 0;
  for (const c of g) {
    if (c === '{') braces++;
    else if (c === '}' && braces > 0) braces--;
  }
  if (braces > 0) throw new Error(`unbalanced { in glob ${glob}`);
  return g.replace(/\[!/g, '[^').replace(/[()|]/g, (c) => `\\${c}`);
}

/** Translates one glob into an anchored, case-blind RegExp over a `/`-separated relative path. */
export function globToRegExp(glob: string): RegExp {
  const hit = cache.get(glob);
  if (hit) return hit;
  const re = picomatch.makeRe(toPicomatch(glob), OPTIONS);
  // dotAll: picomatch's patterns use `.`, which in JS skips line breaks, so a file name with a
  // carriage return or line feed in it would never match
  const out = new RegExp(re.source, re.flags.includes('s') ? re.flags : re.flags + 's');
  cache.set(glob, out);
  return out;
}

/** Checks a glob for syntax errors; returns the message or null. */
export function globError(glob: string): string | null {
  if (!glob.trim()) return 'the pattern is empty';
  try {
    globToRegExp(glob);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

export function matchesGlob(relPath: string, glob: string): boolean {
  return globToRegExp(glob).test(relPath.replace(/\\/g, '/'));
}

export function matchesAny(relPath: string, globs: readonly string[]): boolean {
  return globs.some((g) => matchesGlob(relPath, g));
}
