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
//   layer-order    a src-main folder imports only folders on lower levels of LAYERS (below)
//   layer-peer     ... and no other folder on its own level (folders on one level are independent)
//   layer-unplaced every src-main folder is in LAYERS: a new folder must be placed before it is used
//   folder-cycle   no cycle of imports between folders (src-main/<folder>, src-renderer/<folder>)
//   file-cycle     no cycle of imports between files under src-main or src-renderer
//                  (except the ones in KNOWN_CYCLES, each with its reason)
// Type-only imports count too: a layer's types are part of its surface. An import is reported
// once, under the first rule it breaks (the layer rules come after the rules above).
//
// The Node folders of src-main, lowest first (LAYERS; a folder imports only lower levels):
//
//   level  folders                     what lives there
//   0      common, types               the contract, records, errors, validation (pure); type declarations
//   1      autodiff, metrics           ONNX graph builder with reverse mode; AUROC, AUPRO (pure)
//   2      bgad                        the method: flows, loss, score head, bundle format (pure)
//   3      fs, runtime                 the one atomic file writer; ONNX Runtime sessions, built-file lookup
//   4      images                      image decoding and masks
//   5      db                          the data folder, SQLite, paths; the repositories (datasets, images, masks, runs, versions)
//   6      backbones, synth            feature extractors, feature cache; synthetic datasets
//   7      model                       the trained model: bundle files, backbone check, the scorer, threshold, records
//   8      reports                     PDF, CSV, HTML reports of an inspection
//   9      training, inspection        training and evaluation; scanning and inspecting folders
//   10     station                     station mode: folder watcher with settle, event queue on disk, webhook and MQTT sinks
//   11     engine                      engine jobs, worker loop, worker-thread host
//   12     services                    the application services: the contract's handlers, one file per group; the importer, the job hub
//   13     api-host                    dispatch and the HTTP server behind the contract
//   14     app, server, cli, preload   entry points: desktop app, browser-mode server, command line, preload
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

/** The Node folders of src-main, lowest level first (the table in the head comment). */
export const LAYERS = [
  ['common', 'types'],
  ['autodiff', 'metrics'],
  ['bgad'],
  ['fs', 'runtime'],
  ['images'],
  ['db'],
  ['backbones', 'synth'],
  ['model'],
  ['reports'],
  ['training', 'inspection'],
  ['station'],
  ['engine'],
  ['services'],
  ['api-host'],
  ['app', 'server', 'cli', 'preload'],
];

/**
 * File cycles known and left for later, each with its reason, e.g.
 *   { files: ['src-renderer/lib/a.ts', 'src-renderer/lib/b.ts'], why: '...' }
 * `files` is the cycle's set of files (repo-relative); only exactly that cycle passes. Empty on
 * purpose: there is none.
 */
export const KNOWN_CYCLES = [];

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

const levelOf = new Map(LAYERS.flatMap((folders, level) => folders.map((f) => [f, level])));

/** The top folder of a path under src-main (`src-main/x/...` -> `x`), `''` for a file directly in src-main, null elsewhere. */
function mainFolder(rel) {
  if (!isInside(rel, 'src-main')) return null;
  const parts = rel.split('/');
  return parts.length > 2 ? parts[1] : '';
}

/** The layer rules a single import breaks (src-main only). */
function layerRules(fileRel, targetRel) {
  const from = mainFolder(fileRel);
  const to = targetRel === null ? null : mainFolder(targetRel);
  if (from === null || to === null || from === to) return [];
  const lf = levelOf.get(from);
  const lt = levelOf.get(to);
  if (lf === undefined || lt === undefined) return []; // reported once per folder (layer-unplaced)
  if (lt > lf) return [['layer-order', `src-main/${from} (level ${lf}) imports src-main/${to} (level ${lt}), a higher level`]];
  if (lt === lf) return [['layer-peer', `src-main/${from} imports src-main/${to}, a folder on its own level ${lf} (folders on one level are independent)`]];
  return [];
}

const EXTENSIONS = ['', '.ts', '.svelte', '.mts', '.js', '.mjs', '/index.ts', '/index.js'];

/** The source file a relative import names, or null (not one of the checked files). */
function resolveImport(targetRel, known) {
  for (const ext of EXTENSIONS) if (known.has(targetRel + ext)) return targetRel + ext;
  const ts = targetRel.replace(/\.(m?js)$/, (m) => (m === '.mjs' ? '.mts' : '.ts'));
  return known.has(ts) ? ts : null;
}

/** The folder a file counts under for folder cycles: src-main/<folder>, src-renderer/<folder> or src-renderer itself. */
function cycleFolder(rel) {
  const parts = rel.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0];
}

/**
 * The cycles of a directed graph (Map node -> Map target -> edge info), one per strongly
 * connected component of two or more nodes: the shortest cycle through the component's
 * smallest node, as a list of nodes (first node repeated at the end) with the edges taken.
 */
export function findCycles(graph) {
  const nodes = [...graph.keys()].sort();
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const components = [];
  let next = 0;
  const strong = (v) => {
    // iterative Tarjan (deep import chains must not overflow the call stack)
    const work = [[v, [...(graph.get(v)?.keys() ?? [])].sort(), 0]];
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    while (work.length) {
      const frame = work[work.length - 1];
      const [u, targets] = frame;
      if (frame[2] < targets.length) {
        const w = targets[frame[2]++];
        if (!graph.has(w)) continue;
        if (!index.has(w)) {
          index.set(w, next); low.set(w, next); next++;
          stack.push(w); onStack.add(w);
          work.push([w, [...graph.get(w).keys()].sort(), 0]);
        } else if (onStack.has(w)) low.set(u, Math.min(low.get(u), index.get(w)));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(u)));
      }
      if (low.get(u) === index.get(u)) {
        const comp = [];
        let w;
        do {
          w = stack.pop();
          onStack.delete(w);
          comp.push(w);
        } while (w !== u);
        if (comp.length > 1) components.push(comp);
      }
    }
  };
  for (const v of nodes) if (!index.has(v)) strong(v);
  return components.map((comp) => {
    const members = new Set(comp);
    const start = [...comp].sort()[0];
    // breadth-first from start back to start, inside the component
    const prev = new Map();
    const queue = [start];
    let found = null;
    while (queue.length && !found) {
      const u = queue.shift();
      for (const w of [...graph.get(u).keys()].sort()) {
        if (!members.has(w)) continue;
        if (w === start) { found = u; break; }
        if (!prev.has(w)) { prev.set(w, u); queue.push(w); }
      }
    }
    const path = [start];
    for (let u = found; u !== start; u = prev.get(u)) path.splice(1, 0, u);
    path.push(start);
    const edges = path.slice(0, -1).map((u, i) => graph.get(u).get(path[i + 1]));
    return { path, edges, members: [...comp].sort() };
  });
}

/** Folder-level and file-level import cycles as violations. */
function cycleViolations(imports, knownCycles) {
  const fileGraph = new Map();
  const folderGraph = new Map();
  const addEdge = (g, a, b, info) => {
    if (!g.has(a)) g.set(a, new Map());
    if (!g.has(b)) g.set(b, new Map());
    if (!g.get(a).has(b)) g.get(a).set(b, info);
  };
  for (const imp of imports) {
    if (imp.target === null || imp.target === imp.file) continue;
    addEdge(fileGraph, imp.file, imp.target, imp);
    const fa = cycleFolder(imp.file);
    const fb = cycleFolder(imp.target);
    if (fa !== fb) addEdge(folderGraph, fa, fb, imp);
  }
  const out = [];
  const joined = (path, members) => {
    const more = members.filter((m) => !path.includes(m));
    return more.length ? `; more cycles pass through ${more.join(', ')}` : '';
  };
  for (const { path, edges, members } of findCycles(folderGraph)) {
    const e = edges[0];
    out.push({ file: e.file, line: e.line, specifier: e.specifier, rule: 'folder-cycle', message: `folder cycle ${path.join(' -> ')} (${edges.map((x) => `${x.file}:${x.line}`).join(', ')})${joined(path, members)}` });
  }
  for (const { path, edges, members } of findCycles(fileGraph)) {
    const known = knownCycles.some((k) => k.files.length === members.length && [...k.files].sort().every((f, i) => f === members[i]));
    if (known) continue;
    const e = edges[0];
    out.push({ file: e.file, line: e.line, specifier: e.specifier, rule: 'file-cycle', message: `file cycle ${path.join(' -> ')}${joined(path, members)}` });
  }
  return out;
}

/**
 * Checks every source file under ROOT/src-main and ROOT/src-renderer.
 * @param {string} root repository root
 * @param {{ rootExceptions?: { from: string, to: string, why: string }[] }} [options]
 * @returns {{ files: number, violations: { file: string, line: number, specifier: string, rule: string, message: string }[] }}
 */
export function checkLayers(root, { rootExceptions = ROOT_EXCEPTIONS, knownCycles = KNOWN_CYCLES } = {}) {
  const absRoot = resolve(root);
  const files = [...listSources(join(absRoot, 'src-main')), ...listSources(join(absRoot, 'src-renderer'))];
  const known = new Set(files.map((abs) => toPosix(relative(absRoot, abs))));
  const violations = [];
  const imports = [];
  const unplaced = new Map();
  for (const abs of files) {
    const fileRel = toPosix(relative(absRoot, abs));
    const folder = mainFolder(fileRel);
    if (folder !== null && !levelOf.has(folder) && !unplaced.has(folder)) unplaced.set(folder, fileRel);
    const text = readFileSync(abs, 'utf8');
    for (const { specifier, line } of findImports(text, abs.endsWith('.svelte'))) {
      const isRelative = specifier.startsWith('.') || specifier.startsWith('/');
      const targetRel = isRelative ? posix.normalize(posix.join(posix.dirname(fileRel), specifier)) : null;
      imports.push({ file: fileRel, line, specifier, target: targetRel === null ? null : resolveImport(targetRel, known) });
      let broken = rulesFor(fileRel, specifier, rootExceptions);
      if (broken.length === 0) broken = layerRules(fileRel, targetRel);
      for (const [rule, message] of broken) violations.push({ file: fileRel, line, specifier, rule, message });
    }
  }
  for (const [folder, fileRel] of unplaced) {
    violations.push({ file: fileRel, line: 1, specifier: '', rule: 'layer-unplaced', message: `src-main/${folder || '(top level)'} is not in LAYERS: place the folder on a level (scripts/check-layers.mjs)` });
  }
  violations.push(...cycleViolations(imports, knownCycles));
  return { files: files.length, violations };
}

export function formatViolation(v) {
  return v.specifier ? `${v.file}:${v.line}: [${v.rule}] ${v.message} ("${v.specifier}")` : `${v.file}:${v.line}: [${v.rule}] ${v.message}`;
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
    if (violations.some((v) => v.rule.startsWith('layer-'))) {
      console.error('  The Node folders are ordered (LAYERS in scripts/check-layers.mjs): move the code to the folder it belongs to,');
      console.error('  or move what both need into a lower folder. A new folder gets its level in LAYERS and README "Development".');
    }
    process.exitCode = 1;
  } else {
    console.log(`check-layers: ${files} files, no wrong-way imports.`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
