/**
 * The unseen-defect robustness report (common/robustness.ts) as CSV and PDF, for the Models
 * view's export. CSV: one row per defect type, the image AUROC, pixel AUROC and recall at the
 * threshold when seen, unseen and for the baseline (RFC 4180, formula cells neutralised as in
 * csv.ts; an empty cell where a figure does not exist), then a `(mean)` row of the image
 * AUROCs. PDF (A4 landscape): the same table, a grouped bar chart of the image AUROC per type
 * and protocol, and the runs it was made from. Both written whole or not at all.
 */
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import PDFDocument from 'pdfkit';
import { ROBUSTNESS_COLOURS, ROBUSTNESS_PROTOCOL_LABELS, ROBUSTNESS_PROTOCOLS, type RobustnessFigures, type RobustnessReport, type RobustnessReportRecord } from '../common/robustness';
import { commitTempFile, tempPathFor } from '../fs/atomic-file';
import { csvField } from './csv';
import { choosePdfFonts, printable, type PdfFonts } from './fonts';

export const ROBUSTNESS_CSV_COLUMNS = [
  'type', 'n',
  ...ROBUSTNESS_PROTOCOLS.flatMap((p) => [`${p}_image_auroc`, `${p}_pixel_auroc`, `${p}_recall`]),
] as const;

const num = (x: number | null | undefined, digits = 4) => (x === null || x === undefined || !Number.isFinite(x) ? '' : x.toFixed(digits));
const figures = (f: RobustnessFigures | null) => [num(f?.imageAuroc), num(f?.pixelAuroc), num(f?.recall)];

export function robustnessCsv(report: RobustnessReport): string {
  const lines = [ROBUSTNESS_CSV_COLUMNS.join(',')];
  for (const r of report.rows) lines.push([csvField(r.type), String(r.count), ...ROBUSTNESS_PROTOCOLS.flatMap((p) => figures(r[p]))].join(','));
  const m = report.meanImageAuroc;
  lines.push(['(mean)', '', ...ROBUSTNESS_PROTOCOLS.flatMap((p) => [num(m[p]), '', ''])].join(','));
  return lines.join('\r\n') + '\r\n';
}

const PAGE = { w: 841.89, h: 595.28 };
const M = 40;
const INK = '#1d232b';
const MUTED = '#5b6673';

type Doc = PDFKit.PDFDocument;

function registerFonts(doc: Doc, f: PdfFonts): void {
  if (f.regular === null) {
    doc.registerFont('Body', 'Helvetica');
    doc.registerFont('Bold', 'Helvetica-Bold');
    return;
  }
  doc.registerFont('Body', f.regular.path, f.regular.postscriptName as string);
  const b = f.bold ?? f.regular;
  doc.registerFont('Bold', b.path, b.postscriptName as string);
}

/** The table: type, n, then image/pixel/recall per protocol. */
function drawTable(doc: Doc, report: RobustnessReport, u: (s: string) => string): void {
  const cols = [150, 40, ...Array(9).fill(61)] as number[];
  const xs = cols.map((_, i) => M + cols.slice(0, i).reduce((a, b) => a + b, 0));
  let y = doc.y + 4;
  doc.font('Bold').fontSize(8).fillColor(INK);
  ROBUSTNESS_PROTOCOLS.forEach((p, k) => doc.text(ROBUSTNESS_PROTOCOL_LABELS[p], xs[2 + 3 * k]!, y, { width: 3 * 61, align: 'center', lineBreak: false }));
  y += 12;
  const head = ['defect type', 'n', ...ROBUSTNESS_PROTOCOLS.flatMap(() => ['image AUROC', 'pixel AUROC', 'recall'])];
  head.forEach((h, i) => doc.font('Bold').fontSize(7.5).fillColor(MUTED).text(h, xs[i]!, y, { width: cols[i]! - 4, align: i ? 'right' : 'left', lineBreak: false }));
  y += 12;
  doc.moveTo(M, y - 2).lineTo(xs.at(-1)! + cols.at(-1)!, y - 2).lineWidth(0.5).strokeColor('#c8ced6').stroke();
  const row = (cells: string[], bold = false) => {
    cells.forEach((c, i) => doc.font(bold ? 'Bold' : 'Body').fontSize(8.5).fillColor(INK).text(c || '–', xs[i]!, y, { width: cols[i]! - 4, align: i ? 'right' : 'left', lineBreak: false, ellipsis: true }));
    y += 13;
  };
  for (const r of report.rows) row([u(r.type), String(r.count), ...ROBUSTNESS_PROTOCOLS.flatMap((p) => figures(r[p]).map((x) => (x ? Number(x).toFixed(3) : '')))]);
  const m = report.meanImageAuroc;
  // the means are of the image AUROC only: the other cells stay blank
  row(['mean image AUROC', ' ', ...ROBUSTNESS_PROTOCOLS.flatMap((p) => [m[p] === null ? '' : m[p]!.toFixed(3), ' ', ' '])], true);
  doc.y = y + 6;
}

/** Grouped bars: the image AUROC of each type, one bar per protocol, on a 0..1 axis. */
function drawChart(doc: Doc, report: RobustnessReport, u: (s: string) => string): void {
  if (doc.y + 200 > PAGE.h - M) {
    doc.addPage();
    doc.y = M;
  }
  const x0 = M + 34, w = PAGE.w - 2 * M - 200, h = 150, y0 = doc.y + 10, base = y0 + h;
  doc.font('Body').fontSize(7).fillColor(MUTED);
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const y = base - t * h;
    doc.moveTo(x0, y).lineTo(x0 + w, y).lineWidth(0.3).strokeColor('#d9dee5').stroke();
    doc.text(t.toFixed(2), x0 - 30, y - 3, { width: 26, align: 'right', lineBreak: false });
  }
  const group = w / Math.max(1, report.rows.length);
  const bw = Math.min(26, (group * 0.8) / ROBUSTNESS_PROTOCOLS.length);
  report.rows.forEach((r, i) => {
    const gx = x0 + i * group + (group - bw * ROBUSTNESS_PROTOCOLS.length) / 2;
    ROBUSTNESS_PROTOCOLS.forEach((p, k) => {
      const v = r[p]?.imageAuroc;
      if (v === undefined || v === null || !Number.isFinite(v)) return;
      doc.rect(gx + k * bw, base - v * h, bw - 2, v * h).fillColor(ROBUSTNESS_COLOURS[p]).fill();
    });
    doc.font('Body').fontSize(8).fillColor(INK).text(u(r.type), x0 + i * group, base + 4, { width: group, align: 'center', lineBreak: false, ellipsis: true });
  });
  const lx = x0 + w + 16;
  ROBUSTNESS_PROTOCOLS.forEach((p, k) => {
    doc.rect(lx, y0 + k * 16, 9, 9).fillColor(ROBUSTNESS_COLOURS[p]).fill();
    doc.font('Body').fontSize(8).fillColor(INK).text(ROBUSTNESS_PROTOCOL_LABELS[p], lx + 14, y0 + k * 16, { width: 150, lineBreak: false });
  });
  doc.font('Body').fontSize(7.5).fillColor(MUTED).text('image AUROC', x0, y0 - 10, { lineBreak: false });
  doc.y = base + 22;
}

function drawRuns(doc: Doc, report: RobustnessReport): void {
  doc.font('Bold').fontSize(10).fillColor(INK).text('The trainings it was made from', M, doc.y);
  doc.moveDown(0.3);
  const labels = ['baseline (no known anomalies)', 'all types known', ...report.types.map((t) => `${t} held out`)];
  report.runs.forEach((r, i) => {
    const known = r.anomaliesUsed ? `${r.anomaliesUsed} known ${r.anomaliesUsed === 1 ? 'anomaly' : 'anomalies'} (${[...new Set(r.anomalies.map((a) => a.type))].join(', ')})` : 'no known anomalies';
    doc.font('Body').fontSize(8).fillColor(INK).text(`${printable(labels[i] ?? r.protocol, docFonts.get(doc)!)}: ${known}; image AUROC ${num(r.imageAuroc, 3) || '–'}, pixel AUROC ${num(r.pixelAuroc, 3) || '–'}, threshold ${num(r.threshold, 4)}, ${r.steps} steps, ${r.trainSeconds.toFixed(0)} s`, M, doc.y, { width: PAGE.w - 2 * M });
  });
}

const docFonts = new WeakMap<Doc, PdfFonts>();

/** Writes the report as a PDF at `path` (a temporary file renamed into place). */
export async function writeRobustnessPdf(path: string, rec: Pick<RobustnessReportRecord, 'report' | 'createdAtMs' | 'durationMs'> & { datasetName?: string }): Promise<void> {
  const { report } = rec;
  const doc = new PDFDocument({ size: 'A4', layout: 'landscape', margin: M, compress: true, info: { Title: 'BGAD unseen-defect robustness report', Creator: 'BGAD Inspector', Producer: 'BGAD Inspector (pdfkit)' } });
  const tmp = tempPathFor(path);
  const stream = createWriteStream(tmp);
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
    doc.on('error', reject);
  });
  doc.pipe(stream);
  try {
    const fonts = choosePdfFonts([report.dataset, rec.datasetName ?? '', ...report.types]);
    docFonts.set(doc, fonts);
    registerFonts(doc, fonts);
    const u = (s: string) => printable(s, fonts);
    doc.font('Bold').fontSize(17).fillColor(INK).text('Will it catch a defect we have never seen?', M, M);
    doc.font('Body').fontSize(9).fillColor(MUTED).text(
      `Unseen-defect robustness of dataset "${u(rec.datasetName ?? report.dataset)}" · ${new Date(rec.createdAtMs).toISOString().replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC')} · backbone ${report.backbone}, preset ${report.preset}, seed ${report.seed} · ${report.runs.length} trainings in ${(rec.durationMs / 60000).toFixed(1)} min`,
    );
    doc.font('Body').fontSize(8.5).fillColor(INK).text(
      'Per defect type: the figures of a model that knew this type (seen), of a model trained with this type held out of its known anomalies (unseen: how a new kind of defect fares), and of the unsupervised baseline (no known anomalies). Recall: share of the type\'s test images failed at the model\'s threshold.',
      { width: PAGE.w - 2 * M },
    );
    doc.moveDown(0.6);
    drawTable(doc, report, u);
    drawChart(doc, report, u);
    drawRuns(doc, report);
    doc.end();
    await done;
  } catch (e) {
    stream.destroy();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await commitTempFile(tmp, path);
}
