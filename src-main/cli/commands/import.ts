import { resolve } from 'node:path';
import { UsageError, type Command, type CliIO } from '../command';
import { formatDuration, progressGate } from '../progress';
import { ensureDataset } from '../../db/datasets';
import { listImportRuns } from '../../db/import-runs';
import { datasetNameFor, detectLayout, importFolder, type ImportSummary } from '../../services/import';
import { openStore, type Store } from '../../db/store';

const MAX_LISTED = 20;

function dataDirOf(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function groupCounts(counts: Record<string, number>): string {
  const g = new Map<string, number>();
  for (const [k, n] of Object.entries(counts)) {
    const [label, split] = k.split('/');
    const key = `${label}/${split}`;
    g.set(key, (g.get(key) ?? 0) + n);
  }
  return [...g].sort().map(([k, n]) => `${k} ${n}`).join(', ');
}

function report(io: CliIO, name: string, datasetId: number, s: ImportSummary): void {
  const head = s.status === 'cancelled' ? 'Import cancelled' : 'Imported';
  io.out(`${head}: ${s.imported} of ${s.total} images into dataset "${name}" (#${datasetId}), ${s.layout === 'mvtec' ? 'MVTec layout' : 'plain folder (unlabelled)'}, in ${(s.durationMs / 1000).toFixed(1)} s`);
  io.out(`  imported:            ${s.imported}${s.imported ? `  (${groupCounts(s.counts)})` : ''}`);
  if (s.defectTypes.length) io.out(`  defect types:        ${s.defectTypes.join(', ')}`);
  io.out(`  masks:               ${s.masks}`);
  io.out(`  skipped duplicates:  ${s.duplicates.length}`);
  for (const d of s.duplicates.slice(0, MAX_LISTED)) io.out(`    ${d.path}  (same as ${d.duplicateOf})`);
  if (s.duplicates.length > MAX_LISTED) io.out(`    ... and ${s.duplicates.length - MAX_LISTED} more`);
  io.out(`  rejected:            ${s.rejected.length}`);
  for (const r of s.rejected.slice(0, MAX_LISTED)) io.out(`    ${r.path}: ${r.reason}`);
  if (s.rejected.length > MAX_LISTED) io.out(`    ... and ${s.rejected.length - MAX_LISTED} more`);
  if (s.maskProblems.length) {
    io.out(`  mask problems:       ${s.maskProblems.length} (images imported without a mask)`);
    for (const r of s.maskProblems.slice(0, MAX_LISTED)) io.out(`    ${r.path}: ${r.reason}`);
    if (s.maskProblems.length > MAX_LISTED) io.out(`    ... and ${s.maskProblems.length - MAX_LISTED} more`);
  }
  if (s.ignoredFiles) io.out(`  ignored (not images): ${s.ignoredFiles}`);
  if (s.status === 'cancelled') io.out('  Run the same command again to import the rest (images already imported are skipped).');
}

async function importOne(store: Store, io: CliIO, src: string, datasetName: string, json: boolean, signal: AbortSignal): Promise<{ summary: ImportSummary; dataset: string; datasetId: number }> {
  const { dataset } = ensureDataset(store, datasetName);
  const gate = progressGate(io.interactive ?? false);
  const started = Date.now();
  const summary = await importFolder(store, {
    src,
    datasetId: dataset.id,
    signal,
    onProgress: (p) => {
      if (json) return;
      if (!gate(p.phase === 'scanning' ? 0 : p.total > 0 ? p.processed / p.total : 1, p.phase)) return;
      if (p.phase === 'scanning') io.progress(`${dataset.name}: scanning ${src} ...`);
      else {
        const eta = p.processed > 0 && p.processed < p.total ? `  ETA ${formatDuration(((Date.now() - started) / p.processed) * (p.total - p.processed))}` : '';
        io.progress(`${dataset.name}: ${p.processed}/${p.total} images (imported ${p.imported}, duplicates ${p.duplicates}, rejected ${p.rejected}, masks ${p.masks})${eta}`);
      }
    },
  });
  return { summary, dataset: dataset.name, datasetId: dataset.id };
}

const command: Command = {
  name: 'import',
  summary: 'Import a folder of images (MVTec layout or plain) into a dataset',
  usage: [
    'Usage: bgad import SRC [--dataset NAME] [--data-dir DIR] [--json]',
    '',
    '  SRC             an MVTec-style category (train/good, test/<type>, ground_truth/<type>),',
    '                  a folder of such categories (one dataset per category), or any folder',
    '                  of images (imported unlabelled, recursively)',
    '  --dataset NAME  dataset to import into (created when missing; default: the folder name)',
    '  --data-dir DIR  data folder (default: BGAD_DATA_DIR or the per-user app data folder)',
    '  --json          print the import summary as JSON',
    '',
    'Images already in the dataset (same content) are skipped and reported; unreadable files',
    'are rejected with the reason. Ctrl-C stops after the current batch; run again to resume.',
  ].join('\n'),
  options: { dataset: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean' } },
  positionals: true,
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'SRC (the folder to import) is required' : 'give exactly one folder to import');
    const src = resolve(positionals[0]!);
    const json = values.json === true;
    const datasetOpt = typeof values.dataset === 'string' ? values.dataset : undefined;
    const layout = detectLayout(src);
    const jobs = layout.kind === 'mvtec-collection'
      ? layout.categories.map((c) => ({ src: c.dir, dataset: c.name }))
      : [{ src, dataset: datasetOpt ?? datasetNameFor(src) }];
    if (layout.kind === 'mvtec-collection' && datasetOpt !== undefined) {
      throw new UsageError(`${src} holds ${layout.categories.length} categories (${layout.categories.map((c) => c.name).join(', ')}); each goes into its own dataset named after it, so --dataset cannot be used. Import one category folder to choose its dataset name.`);
    }
    const store = openStore({ dataDir: dataDirOf(values['data-dir']) });
    const ac = new AbortController();
    const onSigint = () => {
      io.err('\nStopping after the current batch ...');
      ac.abort();
    };
    process.once('SIGINT', onSigint);
    try {
      for (const id of store.recovered.importRuns) {
        const run = listImportRuns(store).find((r) => r.id === id);
        if (run) io.err(`Note: an earlier import of ${run.source} was interrupted after ${run.imported} images; importing it again resumes it.`);
      }
      const results = [];
      for (const job of jobs) {
        const r = await importOne(store, io, job.src, job.dataset, json, ac.signal);
        results.push(r);
        if (!json) {
          if (process.stderr.isTTY) io.progress(''); // clear the progress line
          report(io, r.dataset, r.datasetId, r.summary);
        }
        if (r.summary.status === 'cancelled') break;
      }
      if (json) io.out(JSON.stringify(results.length === 1 ? { dataset: results[0]!.dataset, ...results[0]!.summary } : results.map((r) => ({ dataset: r.dataset, ...r.summary })), null, 2));
      return results.some((r) => r.summary.status === 'cancelled') ? 130 : 0;
    } finally {
      process.removeListener('SIGINT', onSigint);
      store.close();
    }
  },
};

export default command;
