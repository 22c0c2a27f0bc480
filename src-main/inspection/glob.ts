/**
 * A small glob matcher for `--include` / `--exclude` (Node 20's `path.matchesGlob` is
 * experimental and prints a warning). Paths are relative to the inspected folder with `/`
 * separators. Supported: `*` (any run of characters except `/`), `**` (any number of whole
 * folders, including none), `?` (one character except `/`), `[abc]`, `[a-z]`, `[!abc]` and
 * `{png,jpg}` alternatives. A pattern without `/` matches the file name in any folder
 * (`*.png` is `**\/*.png`), as in .gitignore. Matching ignores case, so `*.png` also takes
 * `IMG_001.PNG` (cameras on Windows write upper-case extensions).
 */

const cache = new Map<string, RegExp>();

function escapeRe(c: string): string {
  return /[.+^$()|\\/{}[\]*?]/.test(c) ? `\\${c}` : c;
}

/** Translates one glob into an anchored RegExp over a `/`-separated relative path. */
export function globToRegExp(glob: string): RegExp {
  const hit = cache.get(glob);
  if (hit) return hit;
  let g = glob.replace(/\\/g, '/').replace(/^\.\//, '');
  if (!g.includes('/')) g = `**/${g}`;
  let re = '';
  let braces = 0;
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '*') {
      if (g[i + 1] === '*') {
        const atStart = i === 0 || g[i - 1] === '/';
        const atEnd = i + 2 === g.length || g[i + 2] === '/';
        if (atStart && atEnd) {
          // `**/` -> zero or more folders; a trailing `**` -> everything below
          if (i + 2 === g.length) re += '.*';
          else re += '(?:[^/]*/)*';
          i += 2; // also skips the '/'
          continue;
        }
        re += '[^/]*';
        i++;
        continue;
      }
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = g.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = g.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^/' : ''}${body.replace(/[\\\]^]/g, (x) => `\\${x}`)}]`;
      i = end;
    } else if (c === '{') {
      braces++;
      re += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      re += ')';
    } else if (c === ',' && braces > 0) {
      re += '|';
    } else {
      re += escapeRe(c);
    }
  }
  if (braces > 0) throw new Error(`unbalanced { in glob ${glob}`);
  const out = new RegExp(`^${re}$`, 'i');
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
