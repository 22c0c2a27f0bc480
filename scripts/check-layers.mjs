#!/usr/bin/env node
// Fails on wrong-way imports between the layers that the folder names promise
// (house style, "layers you can see in the path"). Plain Node, no dependencies.
//
//   node scripts/check-layers.mjs [ROOT]    exit 0 when clean, 1 with file:line and rule otherwise
//
// Rules (paths relative to the repository root):
//   pure-node      src-main/{common,autodiff,bgad,metrics} import no Node builtin (node:x or bare fs/path/...)
//   pure-package   ... and no package except PURE_PACKAGES (so no electron, no native module, no DOM library)
//   pure-outside   ... and nothing outside the pure folders
//   common-outside src-main/common imports nothing outside src-main/common
//   renderer-node  src-renderer imports no Node builtin, electron or Node-only package
//   renderer-main  src-renderer imports nothing from src-main/ except src-main/common
//   root-import    the composition roots src-main/{app,server,cli} are imported only from inside themselves
//   preload-only   src-main/preload imports only electron, src-main/common and its own folder
//   electron-only  only src-main/app and src-main/preload import electron
// Type-only imports count too: a layer's types are part of its surface.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const PURE_FOLDERS = ['src-main/common', 'src-main/autodiff', 'src-main/bgad', 'src-main/metrics'];
/** Packages pure code may use: they run unchanged in Node, Electron and the browser. */
export const PURE_PACKAGES = ['protobufjs'];
export const ROOT_FOLDERS = ['src-main/app', 'src-main/server', 'src-main/cli'];
/** Node-only or native packages the renderer must never import. */
export const NODE_ONLY_PACKAGES = ['electron', 'better-sqlite3', 'onnxruntime-node', 'sharp', 'pdfkit', 'ws', 'nsfwjs'];
/**
 * Deliberate crossings of a composition root, each with its reason, e.g.
 *   { from: 'src-main/cli', to: 'src-main/server/serve', why: '`bgad serve` runs the server in-process' }
 * `from` is a folder or file, `to` a module path without extension. Empty on purpose: a root is
 * imported only from inside itself; code that two roots share belongs in a non-root folder.
 */
export const ROOT_EXCEPTIONS = [];

const SOURCE_EXT = /\.(ts|mts|cts|js|mjs|cjs|svelte)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git']);
const BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith('_')));

function listSources(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) out.push(...listSources(join(dir, e.name)));
    } else if (SOURCE_EXT.test(e.name)) out.push(join(dir, e.name));
  }
  return out;
}

/**
 * Blanks out comments (// and block comments, and HTML comments in .svelte files), keeping
 * newlines and string literals, so commented-out imports are ignored and line numbers hold.
 */
export function stripComments(text, isSvelte = false) {
  return scanSource(text, isSvelte).code;
}

/** stripComments plus, per character, whether it lies inside a string literal. */
function scanSource(text, isSvelte) {
  let out = '';
  const inString = new Uint8Array(text.length);
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    const d = text[i + 1];
    if (c === '/' && d === '/') {
      while (i < n && text[i] !== '\n') { out += ' '; i++; }
    } else if (c === '/' && d === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (isSvelte && text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      const stop = end < 0 ? n : end + 3;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === '"' || c === "'" || c === '`') {
      // copy the literal; quoted strings end at a newline (keeps a stray quote in a regex local)
      const start = i;
      out += c;
      i++;
      while (i < n && text[i] !== c && (c === '`' || text[i] !== '\n')) {
        if (text[i] === '\\' && i + 1 < n) { out += text[i] + text[i + 1]; i += 2; continue; }
        out += text[i];
        i++;
      }
      if (i < n) { out += text[i]; i++; }
      inString.fill(1, start, i);
    } else {
      out += c;
      i++;
    }
  }
  return { code: out, inString };
}

const IMPORT_PATTERNS = [
  /\b(?:import|export)\b[^'"`;]*?\bfrom\s*(['"])([^'"\n]+)\1/g, // import x from 'y', export { a } from 'y'
  /\bimport\s*(['"])([^'"\n]+)\1/g, // import 'y'
  /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g, // import('y')
  /\brequire\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g, // require('y')
];

/** The module specifiers a source file imports, with 1-based line numbers. */
export function findImports(text, isSvelte = false) {
  const { code, inString } = scanSource(text, isSvelte);
  const lineStarts = [0];
  for (let i = 0; i < code.length; i++) if (code[i] === '\n') lineStarts.push(i + 1);
  const lineOf = (pos) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const found = new Map();
  for (const re of IMPORT_PATTERNS) {
    re.lastIndex = 0;
    let m;
    while ((m = re.exec(code)) !== null) {
      if (inString[m.index]) continue; // the keyword is text inside a string
      const pos = m.index + m[0].lastIndexOf(m[1] + m[2] + m[1]) + 1;
      found.set(pos, { specifier: m[2], line: lineOf(pos) });
    }
  }
  return [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

const toPosix = (p) => p.split(sep).join('/');
const isInside = (rel, folder) => rel === folder || rel.startsWith(folder + '/');
const folderOf = (rel, folders) => folders.find((f) => isInside(rel, f));

function packageName(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function isBuiltin(spec) {
  return spec.startsWith('node:') || BUILTINS.has(spec) || BUILTINS.has(packageName(spec));
}

/** Which rules a single import breaks. `fileRel` and the resolved target are repo-relative posix paths. */
function rulesFor(fileRel, spec, rootExceptions) {
  const broken = [];
  const isRelative = spec.startsWith('.') || spec.startsWith('/');
  const targetRel = isRelative ? posix.normalize(posix.join(posix.dirname(fileRel), spec)) : null;
  const pkg = isRelative ? null : packageName(spec);
  const isRenderer = isInside(fileRel, 'src-renderer');
  const pure = folderOf(fileRel, PURE_FOLDERS);

  if (pure) {
    if (!isRelative && isBuiltin(spec)) broken.push(['pure-node', 'pure code imports a Node builtin']);
    else if (!isRelative && !PURE_PACKAGES.includes(pkg)) broken.push(['pure-package', `pure code imports package "${pkg}" (allowed: ${PURE_PACKAGES.join(', ')})`]);
    if (targetRel !== null && !folderOf(targetRel, PURE_FOLDERS)) broken.push(['pure-outside', `pure code imports ${targetRel}, outside the pure folders`]);
    else if (targetRel !== null && pure === 'src-main/common' && !isInside(targetRel, 'src-main/common')) {
      broken.push(['common-outside', `src-main/common imports ${targetRel}`]);
    }
  }
  if (isRenderer) {
    if (!isRelative && (isBuiltin(spec) || NODE_ONLY_PACKAGES.includes(pkg))) broken.push(['renderer-node', `the renderer imports "${spec}" (Node or Electron only)`]);
    if (targetRel !== null && isInside(targetRel, 'src-main') && !isInside(targetRel, 'src-main/common')) {
      broken.push(['renderer-main', `the renderer imports ${targetRel}; it may import only src-main/common`]);
    }
  }
  if (targetRel !== null) {
    const root = folderOf(targetRel, ROOT_FOLDERS);
    const targetModule = targetRel.replace(/\.(ts|mts|cts|js|mjs|cjs|svelte)$/, '');
    const isException = rootExceptions.some((e) => isInside(fileRel, e.from) && targetModule === e.to);
    if (root && !isInside(fileRel, root) && !isException) broken.push(['root-import', `${targetRel} is in the composition root ${root}, which nothing outside it may import`]);
  }
  if (isInside(fileRel, 'src-main/preload')) {
    const isAllowed = isRelative ? isInside(targetRel, 'src-main/common') || isInside(targetRel, 'src-main/preload') : spec === 'electron';
    if (!isAllowed) broken.push(['preload-only', `the preload imports "${spec}"; it may import only electron and src-main/common`]);
  }
  if (!isRelative && pkg === 'electron' && isInside(fileRel, 'src-main') && !pure && !isInside(fileRel, 'src-main/app') && !isInside(fileRel, 'src-main/preload')) {
    broken.push(['electron-only', 'only src-main/app and src-main/preload may import electron']);
  }
  return broken;
}

/**
 * Checks every source file under ROOT/src-main and ROOT/src-renderer.
 * @param {string} root repository root
 * @param {{ rootExceptions?: { from: string, to: string, why: string }[] }} [options]
 * @returns {{ files: number, violations: { file: string, line: number, specifier: string, rule: string, message: string }[] }}
 */
export function checkLayers(root, { rootExceptions = ROOT_EXCEPTIONS } = {}) {
  const absRoot = resolve(root);
  const files = [...listSources(join(absRoot, 'src-main')), ...listSources(join(absRoot, 'src-renderer'))];
  const violations = [];
  for (const abs of files) {
    const fileRel = toPosix(relative(absRoot, abs));
    const text = readFileSync(abs, 'utf8');
    for (const { specifier, line } of findImports(text, abs.endsWith('.svelte'))) {
      for (const [rule, message] of rulesFor(fileRel, specifier, rootExceptions)) violations.push({ file: fileRel, line, specifier, rule, message });
    }
  }
  return { files: files.length, violations };
}

export function formatViolation(v) {
  return `${v.file}:${v.line}: [${v.rule}] ${v.message} ("${v.specifier}")`;
}

function main() {
  const root = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..');
  const { files, violations } = checkLayers(root);
  if (violations.length > 0) {
    for (const v of violations) console.error(formatViolation(v));
    console.error(`check-layers: ${violations.length} wrong-way import(s) in ${files} files.`);
    if (violations.some((v) => v.rule === 'root-import')) {
      console.error('  Move code that two entry points share out of src-main/{app,server,cli} into a non-root folder,');
      console.error('  or record a deliberate crossing, with its reason, in ROOT_EXCEPTIONS in scripts/check-layers.mjs.');
    }
    process.exitCode = 1;
  } else {
    console.log(`check-layers: ${files} files, no wrong-way imports.`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
