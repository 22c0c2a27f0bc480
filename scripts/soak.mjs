#!/usr/bin/env node
/**
 * Soak check: `node scripts/soak.mjs [--minutes N] [--seed S] [--kill-rate P] [--json FILE] [--keep]`
 * (also `npm run soak -- --minutes N`).
 *
 * For N minutes (default 10), three kinds of process run side by side against one data folder,
 * each killed with SIGKILL at random moments and started again, as a factory PC would see with
 * power cuts, crashes or an impatient user:
 *   - import: `bgad import <category> --dataset soak-K`; a killed import is run again until it
 *     completes, then the next dataset begins;
 *   - inspection: `bgad inspect --model M --input <synthetic images> --out <run K>`; a killed run
 *     is run again (it resumes) until it completes, then the next run begins;
 *   - a reader: `bgad datasets --json` and `bgad db info --json` in a loop.
 * At the end it checks what a user relies on:
 *   - `bgad db check` finds the database and its files intact;
 *   - every completed import holds each source image exactly once (by content), with its masks;
 *   - every completed inspection run holds exactly one result per input file, none missing.
 * It prints the counts and exits 1 when anything is lost, doubled or inconsistent.
 * Uses the built CLI (dist/cli/bgad.js): run `npm run build` first.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'dist', 'cli', 'bgad.js');
const { values: opt } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    'kill-rate': { type: 'string', default: '0.6' },
    json: { type: 'string' },
    keep: { type: 'boolean' },
  },
});
const minutes = Number(opt.minutes);
const killRate = Number(opt['kill-rate']);
if (!(minutes > 0) || !(killRate >= 0 && killRate <= 1)) {
  console.error('usage: node scripts/soak.mjs [--minutes N > 0] [--seed S] [--kill-rate 0..1] [--json FILE] [--keep]');
  process.exit(2);
}
if (!existsSync(cli)) {
  console.error(`${cli} is missing: run "npm run build" first.`);
  process.exit(2);
}

// a small deterministic PRNG (mulberry32), so a seed repeats the kill schedule's randomness
let state = Number(opt.seed) >>> 0 || 1;
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const work = mkdtempSync(join(tmpdir(), 'bgad-soak-'));
const dataDir = join(work, 'data');
const env = { ...process.env, BGAD_DATA_DIR: dataDir, BGAD_CACHE_DIR: join(work, 'cache') };
const log = (line) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const t0 = Date.now();

function runSync(args, what) {
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** Starts a CLI process; resolves with its exit code, or 'killed' when the soak killed it. */
function runKillable(args, { killAfterMs } = {}) {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
    child.stdout.resume();
    let killed = false;
    const timer = killAfterMs === undefined ? null : setTimeout(() => { killed = true; child.kill('SIGKILL'); }, killAfterMs);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolveRun({ outcome: killed && signal === 'SIGKILL' ? 'killed' : code, stderr: err });
    });
  });
}

const killDelay = (maxMs) => (random() < killRate ? 150 + Math.floor(random() * maxMs) : undefined);

function imageFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...imageFiles(p));
    else if (/\.png$/i.test(e.name)) out.push(p);
  }
  return out.sort();
}
const sha = (p) => createHash('sha256').update(readFileSync(p)).digest('hex');

// ---------------------------------------------------------------- setup
log(`work folder ${work} (${cpus().length} cores)`);
const synth = join(work, 'synth');
runSync(['synth', '--out', synth, '--seed', String(opt.seed), '--size', '256'], 'bgad synth');
const categories = readdirSync(synth).filter((c) => existsSync(join(synth, c, 'train'))).sort();
log(`synthetic data: ${categories.join(', ')}`);
const model = join(work, 'model.bgad');
runSync(['train', '--data', join(synth, 'stripes'), '--out', model, '--steps', '40', '--backbone', 'mobilenetv2', '--quiet'], 'bgad train');
log('model trained');
// the inspection input: every test image of every category (with a mask folder left out)
const inspectInput = synth;
const inspectFiles = imageFiles(synth).map((p) => p.slice(synth.length + 1).split('\\').join('/')).filter((p) => !p.split('/').includes('ground_truth'));

// the N minutes count from here, after the setup
const deadline = Date.now() + minutes * 60_000;
const stats = {
  cores: cpus().length, minutes,
  import: { completed: 0, runs: 0, killed: 0, failed: 0, images: 0, missing: 0, doubled: 0 },
  inspect: { completed: 0, runs: 0, killed: 0, failed: 0, results: 0, missing: 0, doubled: 0 },
  reader: { queries: 0, killed: 0, failed: 0 },
  dbCheck: null,
  problems: [],
};

// ---------------------------------------------------------------- workloads
async function importLoop() {
  for (let k = 1; Date.now() < deadline; k++) {
    const cat = categories[(k - 1) % categories.length];
    const dataset = `soak-${k}`;
    for (;;) {
      const killAt = Date.now() < deadline ? killDelay(3000) : undefined;
      const r = await runKillable(['import', join(synth, cat), '--dataset', dataset], { killAfterMs: killAt });
      stats.import.runs++;
      if (r.outcome === 'killed') { stats.import.killed++; continue; }
      if (r.outcome !== 0) { stats.import.failed++; stats.problems.push(`import ${dataset} exit ${r.outcome}: ${r.stderr.trim().split('\n').pop()}`); break; }
      stats.import.completed++;
      checkImport(dataset, cat);
      break;
    }
  }
}

function checkImport(dataset, cat) {
  const list = JSON.parse(runSync(['datasets', '--json'], 'bgad datasets'));
  const ds = list.find((d) => d.name === dataset);
  const files = imageFiles(join(synth, cat)).filter((p) => !p.slice(synth.length).split(/[\\/]/).includes('ground_truth'));
  const unique = new Set(files.map(sha)).size;
  const masks = imageFiles(join(synth, cat, 'ground_truth')).length;
  if (!ds) { stats.import.missing += unique; stats.problems.push(`dataset ${dataset} is missing`); return; }
  stats.import.images += ds.imageCount;
  if (ds.imageCount < unique) { stats.import.missing += unique - ds.imageCount; stats.problems.push(`${dataset}: ${ds.imageCount} images, expected ${unique}`); }
  if (ds.imageCount > unique) { stats.import.doubled += ds.imageCount - unique; stats.problems.push(`${dataset}: ${ds.imageCount} images, expected ${unique}`); }
  if (ds.counts.masked !== masks) stats.problems.push(`${dataset}: ${ds.counts.masked} masked images, expected ${masks}`);
}

async function inspectLoop() {
  for (let k = 1; Date.now() < deadline; k++) {
    const out = join(work, 'inspect', `run-${k}`);
    for (;;) {
      const killAt = Date.now() < deadline ? killDelay(8000) : undefined;
      const r = await runKillable(['inspect', '--model', model, '--input', inspectInput, '--out', out, '--format', 'csv', '--exclude', '**/ground_truth/**'], { killAfterMs: killAt });
      stats.inspect.runs++;
      if (r.outcome === 'killed') { stats.inspect.killed++; continue; }
      if (r.outcome !== 0 && r.outcome !== 1) { stats.inspect.failed++; stats.problems.push(`inspect run-${k} exit ${r.outcome}: ${r.stderr.trim().split('\n').pop()}`); break; }
      stats.inspect.completed++;
      checkInspection(out, k);
      break;
    }
  }
}

function checkInspection(out, k) {
  const lines = readFileSync(join(out, 'results.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const results = lines.filter((l) => l.type === 'result');
  const byPath = new Map();
  for (const r of results) byPath.set(r.path, (byPath.get(r.path) ?? 0) + 1);
  const missing = inspectFiles.filter((p) => !byPath.has(p)).length;
  const doubled = [...byPath.values()].reduce((a, n) => a + (n - 1), 0);
  const errors = results.filter((r) => r.verdict === 'error');
  stats.inspect.results += byPath.size;
  stats.inspect.missing += missing;
  stats.inspect.doubled += doubled;
  if (missing || doubled) stats.problems.push(`inspection run-${k}: ${missing} missing, ${doubled} doubled of ${inspectFiles.length}`);
  if (errors.length) stats.problems.push(`inspection run-${k}: ${errors.length} files in error, e.g. ${errors[0].path}: ${errors[0].error}`);
  const csvRows = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n').length - 1;
  if (csvRows !== byPath.size) stats.problems.push(`inspection run-${k}: results.csv has ${csvRows} rows for ${byPath.size} results`);
}

async function readerLoop() {
  while (Date.now() < deadline) {
    const args = random() < 0.5 ? ['datasets', '--json'] : ['db', 'info', '--json'];
    const r = await runKillable(args, { killAfterMs: random() < 0.2 ? Math.floor(random() * 400) : undefined });
    if (r.outcome === 'killed') stats.reader.killed++;
    else if (r.outcome === 0) stats.reader.queries++;
    else { stats.reader.failed++; stats.problems.push(`reader ${args.join(' ')} exit ${r.outcome}: ${r.stderr.trim().split('\n').pop()}`); }
  }
}

const ticker = setInterval(() => log(`imports ${stats.import.completed} done (${stats.import.killed} killed), inspections ${stats.inspect.completed} done (${stats.inspect.killed} killed), reader ${stats.reader.queries} queries`), 60_000);
await Promise.all([importLoop(), inspectLoop(), readerLoop()]);
clearInterval(ticker);

// ---------------------------------------------------------------- final checks
const check = spawnSync(process.execPath, [cli, 'db', 'check', '--json'], { env, encoding: 'utf8' });
let report;
try { report = JSON.parse(check.stdout); } catch { report = { raw: check.stdout.trim(), stderr: check.stderr.trim() }; }
stats.dbCheck = { exit: check.status, report };
if (check.status !== 0) stats.problems.push(`bgad db check exit ${check.status}: ${check.stdout.trim().slice(0, 400)}`);

const lost = stats.import.missing + stats.inspect.missing;
const doubled = stats.import.doubled + stats.inspect.doubled;
console.log('');
console.log(`soak: ${minutes} min on ${stats.cores} cores, seed ${opt.seed}, kill rate ${killRate}`);
console.log(`  import:     ${stats.import.completed} datasets completed, ${stats.import.runs} runs, ${stats.import.killed} SIGKILLed, ${stats.import.images} images; missing ${stats.import.missing}, doubled ${stats.import.doubled}`);
console.log(`  inspection: ${stats.inspect.completed} runs completed, ${stats.inspect.runs} starts, ${stats.inspect.killed} SIGKILLed, ${stats.inspect.results} results; missing ${stats.inspect.missing}, doubled ${stats.inspect.doubled}`);
console.log(`  reader:     ${stats.reader.queries} queries, ${stats.reader.killed} SIGKILLed, ${stats.reader.failed} failed`);
console.log(`  db check:   ${check.status === 0 ? 'clean' : `exit ${check.status}`}`);
console.log(`  lost ${lost}, doubled ${doubled}, problems ${stats.problems.length}`);
for (const p of stats.problems.slice(0, 20)) console.log(`  - ${p}`);
if (opt.json) writeFileSync(resolve(opt.json), JSON.stringify(stats, null, 2));
if (!opt.keep) rmSync(work, { recursive: true, force: true });
process.exit(stats.problems.length === 0 ? 0 : 1);
