#!/usr/bin/env node
// Fails on a function longer than MAX_FUNCTION_LINES (house style: a function you can read in
// one go). Reads the TypeScript AST with the `typescript` package (a dev dependency).
//
//   node scripts/check-function-size.mjs [ROOT]    exit 0 and the five longest functions when
//                                                  clean, 1 with file:line, name and length otherwise
//
// Counted: every function-like node with a body (function declarations and expressions, arrow
// functions, methods, constructors, getters and setters) in the .ts files under src-main/ and
// src-renderer/, and in the <script> blocks of the .svelte files there. A function's length is
// its lines from the `function`/name/parameter list to the closing brace, both included (leading
// comments not counted); a nested function counts towards the function around it, too.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export const MAX_FUNCTION_LINES = 120;
export const SOURCE_DIRS = ['src-main', 'src-renderer'];

function listSources(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') out.push(...listSources(p));
    } else if (e.isFile() && (e.name.endsWith('.ts') || e.name.endsWith('.svelte')) && !e.name.endsWith('.d.ts')) {
      out.push(p);
    }
  }
  return out;
}

/**
 * The <script> blocks of a Svelte component: their text and the 0-based line where each starts,
 * so that the lines of the functions in it are the component's lines.
 */
export function svelteScripts(text) {
  const blocks = [];
  const re = /<script(\s[^>]*)?>([\s\S]*?)<\/script\s*>/g;
  for (let m; (m = re.exec(text)); ) {
    const bodyStart = m.index + m[0].indexOf('>') + 1;
    const lineOffset = text.slice(0, bodyStart).split('\n').length - 1;
    blocks.push({ text: m[2], lineOffset, ts: /\blang\s*=\s*["']?ts/.test(m[1] ?? '') });
  }
  return blocks;
}

const FUNCTION_KINDS = new Set([
  ts.SyntaxKind.FunctionDeclaration, ts.SyntaxKind.FunctionExpression, ts.SyntaxKind.ArrowFunction,
  ts.SyntaxKind.MethodDeclaration, ts.SyntaxKind.Constructor, ts.SyntaxKind.GetAccessor, ts.SyntaxKind.SetAccessor,
]);

function propertyName(name, sf) {
  if (!name) return null;
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  return name.getText(sf);
}

/** A readable name: its own, else the variable, property or argument it is assigned to. */
function functionName(node, sf) {
  const own = node.name ? propertyName(node.name, sf) : null;
  if (ts.isConstructorDeclaration(node)) return `${className(node.parent, sf)}.constructor`;
  if (ts.isMethodDeclaration(node) || ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node)) {
    const prefix = ts.isClassLike(node.parent) ? `${className(node.parent, sf)}.` : objectName(node.parent, sf);
    const accessor = ts.isGetAccessorDeclaration(node) ? 'get ' : ts.isSetAccessorDeclaration(node) ? 'set ' : '';
    return `${accessor}${prefix}${own}`;
  }
  if (own) return own;
  const p = node.parent;
  if (p && ts.isVariableDeclaration(p)) return propertyName(p.name, sf);
  if (p && (ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p))) {
    const owner = ts.isPropertyDeclaration(p) && ts.isClassLike(p.parent) ? `${className(p.parent, sf)}.` : objectName(p.parent, sf);
    return `${owner}${propertyName(p.name, sf)}`;
  }
  if (p && ts.isBinaryExpression(p) && p.operatorToken.kind === ts.SyntaxKind.EqualsToken) return p.left.getText(sf);
  if (p && ts.isCallExpression(p)) return `(${ts.isArrowFunction(node) ? 'arrow' : 'function'} passed to ${p.expression.getText(sf).slice(0, 40)})`;
  if (ts.isExportAssignment(p)) return 'default';
  return `(anonymous ${ts.isArrowFunction(node) ? 'arrow' : 'function'})`;
}

/** `name.` for a member of an object literal assigned to a variable `name`, else ''. */
function objectName(node, sf) {
  if (!ts.isObjectLiteralExpression(node)) return '';
  let p = node.parent;
  while (p && (ts.isAsExpression(p) || ts.isSatisfiesExpression(p) || ts.isParenthesizedExpression(p))) p = p.parent;
  return p && ts.isVariableDeclaration(p) ? `${propertyName(p.name, sf)}.` : '';
}

function className(node, sf) {
  return node.name ? node.name.text : node.parent && ts.isVariableDeclaration(node.parent) ? propertyName(node.parent.name, sf) : '(anonymous class)';
}

/** The functions with a body in one script text: name, 1-based first line, length in lines. */
export function measureFunctions(text, { fileName = 'x.ts', lineOffset = 0 } = {}) {
  const kind = fileName.endsWith('.js') ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, kind);
  const found = [];
  const visit = (node) => {
    if (FUNCTION_KINDS.has(node.kind) && node.body) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      found.push({ name: functionName(node, sf), line: first + 1 + lineOffset, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** Every function under ROOT's source folders, longest first, and those over the limit. */
export function checkFunctionSize(root, { limit = MAX_FUNCTION_LINES, dirs = SOURCE_DIRS } = {}) {
  const functions = [];
  let files = 0;
  for (const dir of dirs) {
    for (const path of listSources(join(root, dir))) {
      files++;
      const file = relative(root, path).split(sep).join('/');
      const text = readFileSync(path, 'utf8');
      const scripts = path.endsWith('.svelte')
        ? svelteScripts(text).map((b) => ({ text: b.text, lineOffset: b.lineOffset, fileName: b.ts ? 'script.ts' : 'script.js' }))
        : [{ text, lineOffset: 0, fileName: path }];
      for (const s of scripts) for (const f of measureFunctions(s.text, s)) functions.push({ file, ...f });
    }
  }
  functions.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file) || a.line - b.line);
  return { files, functions, over: functions.filter((f) => f.lines > limit), limit };
}

export function formatFunction(f) {
  return `${f.file}:${f.line}: ${f.name} (${f.lines} lines)`;
}

function main() {
  const root = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..');
  const { files, functions, over, limit } = checkFunctionSize(root);
  if (over.length > 0) {
    for (const f of over) console.error(`${formatFunction(f)} is over the limit of ${limit} lines`);
    console.error(`check-function-size: ${over.length} function(s) over ${limit} lines in ${files} files.`);
    console.error('  Split it into named steps (house style: a function you can read in one go).');
    process.exitCode = 1;
  } else {
    console.log(`check-function-size: ${functions.length} functions in ${files} files, none over ${limit} lines. The five longest:`);
    for (const f of functions.slice(0, 5)) console.log(`  ${formatFunction(f)}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
