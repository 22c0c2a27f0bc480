/**
 * The PDF report (pdfkit, A4): a summary page (model file, version and hash, threshold and
 * how it was derived, pass/fail/error counts, score histogram with the threshold line and the
 * heat-map colour scale, all vector graphics), then every inspected image (thumbnail,
 * heat-map overlay, score, verdict), failed ones first, then the files that could not be
 * inspected with the reason. Thumbnails are the small JPEGs written during inspection (JPEG
 * data is embedded as is, so ~500 images take a second or two). Pages are numbered.
 */
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import PDFDocument from 'pdfkit';
import { commitTempFile, tempPathFor } from '../fs/atomic-file';
import type { InspectionFileResult, InspectionReport } from '../model/records';
import { heatScale, colourOf } from '../model/heat-scale';
import { scoreHistogram } from './histogram';
import { describeThresholdRule, describeThreshold, fmtScore } from './text';
import { describeReviewBand } from '../common/review-band';
import { geometryLabel, inputGeometry } from '../bgad/geometry';
import { choosePdfFonts, printable, type PdfFonts } from './fonts';

const A4 = { w: 595.28, h: 841.89 };
const M = 42;
const INK = '#1d232b';
const MUTED = '#5b6673';
const FAIL = '#c0392b';
const PASS = '#27864a';
const ERR = '#9a6a00';
const REVIEW = '#b35c00';

type Doc = PDFKit.PDFDocument;

/** Registered font names: Helvetica, or an embedded system font when the text needs one. */
const BODY = 'Body';
const BOLD = 'Bold';

const docFonts = new WeakMap<Doc, PdfFonts>();
/** User text (file names, folders, error messages) as the document's fonts can print it. */
const u = (doc: Doc, text: string) => printable(text, docFonts.get(doc)!);

function registerFonts(doc: Doc, f: PdfFonts): void {
  if (f.regular === null) {
    doc.registerFont(BODY, 'Helvetica');
    doc.registerFont(BOLD, 'Helvetica-Bold');
    return;
  }
  doc.registerFont(BODY, f.regular.path, f.regular.postscriptName as string);
  const b = f.bold ?? f.regular;
  doc.registerFont(BOLD, b.path, b.postscriptName as string);
}

function heading(doc: Doc, text: string, size = 14): void {
  ensureSpace(doc, size * 3);
  doc.moveDown(0.6).font(BOLD).fontSize(size).fillColor(INK).text(text, M, doc.y);
  doc.moveDown(0.3);
}

function ensureSpace(doc: Doc, h: number): void {
  if (doc.y + h > A4.h - M - 20) {
    doc.addPage();
    doc.y = M;
  }
}

function keyValues(doc: Doc, rows: [string, string][]): void {
  const keyW = 130;
  for (const [k, v] of rows) {
    ensureSpace(doc, 14);
    const y = doc.y;
    doc.font(BODY).fontSize(9).fillColor(MUTED).text(k, M, y, { width: keyW });
    doc.font(BODY).fontSize(9).fillColor(INK).text(v, M + keyW, y, { width: A4.w - 2 * M - keyW });
    doc.y = Math.max(doc.y, y + 12) + 2;
  }
}

function drawHistogram(doc: Doc, s: InspectionReport): void {
  const scores = s.results.filter((r) => r.score !== null).map((r) => r.score!);
  const h = scoreHistogram(scores, s.threshold, 30);
  const x0 = M + 30, w = A4.w - 2 * M - 40, top = doc.y + 8, ht = 130;
  ensureSpace(doc, ht + 60);
  const y0 = doc.y + 8;
  const base = y0 + ht;
  const maxC = Math.max(1, ...h.counts);
  const bw = w / h.counts.length;
  doc.save();
  doc.lineWidth(0.5).strokeColor('#9aa3ad').moveTo(x0, base).lineTo(x0 + w, base).stroke();
  doc.moveTo(x0, y0).lineTo(x0, base).stroke();
  h.counts.forEach((c, i) => {
    if (!c) return;
    const f = h.failCounts[i]!;
    const hp = ((c - f) / maxC) * ht;
    const hf = (f / maxC) * ht;
    if (hp > 0) doc.rect(x0 + i * bw + 0.5, base - hp, bw - 1, hp).fill('#8fa9c4');
    if (hf > 0) doc.rect(x0 + i * bw + 0.5, base - hp - hf, bw - 1, hf).fill('#e08a80');
  });
  const tx = x0 + ((s.threshold - h.lo) / (h.hi - h.lo)) * w;
  doc.lineWidth(1.2).strokeColor(FAIL).dash(4, { space: 3 }).moveTo(tx, y0 - 4).lineTo(tx, base).stroke().undash();
  doc.restore();
  doc.font(BODY).fontSize(7).fillColor(MUTED);
  doc.text(String(maxC), M, y0 - 3, { width: 26, align: 'right' });
  doc.text('0', M, base - 4, { width: 26, align: 'right' });
  doc.text(fmtScore(h.lo, 3), x0 - 10, base + 3, { lineBreak: false });
  doc.text(fmtScore(h.hi, 3), x0 + w - 30, base + 3, { width: 40, align: 'right' });
  doc.fillColor(FAIL).text(`threshold ${fmtScore(s.threshold, 4)}`, Math.min(tx + 3, x0 + w - 90), y0 - 6, { lineBreak: false });
  doc.fillColor(MUTED).text(`image score (max of the anomaly map); ${scores.length} scored images, bars above the threshold in red`, x0, base + 14, { width: w });
  void top;
  doc.y = base + 30;
}

function drawColourScale(doc: Doc, s: InspectionReport): void {
  ensureSpace(doc, 40);
  const scale = heatScale(s.threshold, s.model.mapMax);
  const x0 = M + 30, w = 220, y = doc.y + 4, hgt = 9;
  const n = 48;
  for (let i = 0; i < n; i++) {
    const [r, g, b] = colourOf((i + 0.5) / n);
    doc.rect(x0 + (i * w) / n, y, w / n + 0.3, hgt).fill([r, g, b]);
  }
  doc.font(BODY).fontSize(7).fillColor(MUTED);
  doc.text(fmtScore(scale.lo, 3), x0, y + hgt + 2, { lineBreak: false });
  doc.text(`threshold ${fmtScore(s.threshold, 3)}`, x0 + w / 2 - 30, y + hgt + 2, { lineBreak: false });
  doc.text(fmtScore(scale.hi, 3), x0 + w - 20, y + hgt + 2, { lineBreak: false });
  doc.text('Heat-map colours (anomaly map value; blurred for display).', x0 + w + 12, y, { width: A4.w - M - (x0 + w + 12) });
  doc.y = y + hgt + 16;
}

const verdictColour = (v: string) => (v === 'fail' ? FAIL : v === 'pass' ? PASS : v === 'review' ? REVIEW : ERR);

function imageRow(doc: Doc, r: InspectionFileResult): void {
  const rowH = 74;
  ensureSpace(doc, rowH);
  const y = doc.y;
  const box = 66;
  const put = (file: string | null, x: number) => {
    if (!file) {
      doc.rect(x, y, box, box).lineWidth(0.5).strokeColor('#c4cad1').stroke();
      return;
    }
    try {
      doc.image(file, x, y, { fit: [box, box], align: 'center', valign: 'center' });
    } catch (e) {
      // a missing thumbnail (deleted by hand) must not lose the whole report
      doc.rect(x, y, box, box).lineWidth(0.5).strokeColor('#c4cad1').stroke();
      void e;
    }
  };
  put(r.thumbnail, M);
  put(r.overlayThumbnail, M + box + 6);
  const tx = M + 2 * box + 18;
  const tw = A4.w - M - tx;
  doc.font(BOLD).fontSize(9).fillColor(INK).text(u(doc, r.rel), tx, y + 4, { width: tw });
  doc.font(BOLD).fontSize(10).fillColor(verdictColour(r.verdict)).text(r.verdict.toUpperCase(), tx, doc.y + 3, { continued: true })
    .font(BODY).fillColor(INK).text(`   score ${fmtScore(r.score, 4)}`);
  doc.font(BODY).fontSize(7).fillColor(MUTED).text(`sha256 ${r.sha256 ?? '-'}${r.width ? `   ${r.width}x${r.height} px` : ''}${r.resumed ? '   (from an earlier run)' : ''}`, tx, doc.y + 2, { width: tw });
  doc.y = Math.max(doc.y, y + box) + 8;
}

/** Every piece of user text the report prints. */
function reportTexts(s: InspectionReport): string[] {
  const t = [s.input, s.model.file ?? ''];
  for (const r of s.results) t.push(r.rel, r.error ?? '');
  return t;
}

export async function writePdfReport(path: string, s: InspectionReport): Promise<void> {
  const doc = new PDFDocument({ size: 'A4', margin: M, bufferPages: true, compress: true, info: { Title: 'BGAD inspection report', Creator: 'BGAD Inspector', Producer: 'BGAD Inspector (pdfkit)' } });
  const tmp = tempPathFor(path);
  const stream = createWriteStream(tmp);
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
    doc.on('error', reject);
  });
  doc.pipe(stream);
  try {
    const fonts = choosePdfFonts(reportTexts(s));
    docFonts.set(doc, fonts);
    registerFonts(doc, fonts);
    doc.font(BOLD).fontSize(18).fillColor(INK).text('Inspection report', M, M);
    doc.font(BODY).fontSize(9).fillColor(MUTED).text(`${s.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}   ·   folder ${u(doc, s.input)}`);
    if (fonts.uncovered.length) {
      doc.font(BODY).fontSize(8).fillColor(ERR).text(`Some names use characters (${fonts.uncovered.slice(0, 12).join(' ')}) that no installed font covers; they print as '?'. results.csv and report.html keep every name exact (or set BGAD_PDF_FONT to a font file that has them).`);
    }

    heading(doc, 'Summary', 12);
    doc.font(BOLD).fontSize(11);
    const counts: [string, number, string][] = [['Total', s.total, INK], ['Pass', s.pass, PASS], ['Fail', s.fail, FAIL], ['Error', s.error, ERR], ...(s.reviewBand ? [['Review', s.review ?? 0, REVIEW] as [string, number, string]] : [])];
    const cy = doc.y;
    counts.forEach(([k, n, c], i) => {
      doc.fillColor(MUTED).font(BODY).fontSize(8).text(k, M + i * 110, cy, { lineBreak: false });
      doc.fillColor(c).font(BOLD).fontSize(18).text(String(n), M + i * 110, cy + 10, { lineBreak: false });
    });
    doc.y = cy + 36;
    keyValues(doc, [
      ['Verdict rule', `fail when the image score is above the threshold; ${s.reviewBand ? 'review (a person decides) inside the review band; ' : ''}error when the file could not be inspected`],
      ['Threshold', describeThreshold(s)],
      ...(s.reviewBand ? [['Review band', describeReviewBand(s.reviewBand)] as [string, string]] : []),
      ['How it was derived', describeThresholdRule(s.model)],
      ['Files', `${s.total} (${s.inspected} inspected in this run, ${s.resumed} taken from an earlier run)`],
      ['Speed', s.inspected ? `${s.imagesPerSecond.toFixed(1)} images/s, ${s.msPerImage.toFixed(1)} ms/image` : '-'],
    ]);

    heading(doc, 'Model', 12);
    keyValues(doc, [
      ['Model file', s.model.file ? u(doc, s.model.file) : '(in memory)'],
      ['Model sha256', s.model.sha256],
      ['Model version', `trained ${s.model.createdAt}${s.model.trainingSteps !== null ? `, ${s.model.trainingSteps} steps` : ''}, ${s.model.knownAnomalies} known anomalies`],
      ['Backbone', `${s.model.backboneId} (sha256 ${s.model.backboneSha256.slice(0, 16)}...), input ${geometryLabel(inputGeometry({ backbone: s.model }))}`],
    ]);

    heading(doc, 'Score histogram', 12);
    drawHistogram(doc, s);
    drawColourScale(doc, s);

    const scored = s.results.filter((r) => r.verdict !== 'error');
    const reviews = scored.filter((r) => r.verdict === 'review');
    const fails = scored.filter((r) => r.verdict === 'fail');
    const passes = scored.filter((r) => r.verdict === 'pass');
    const errors = s.results.filter((r) => r.verdict === 'error');
    doc.addPage();
    doc.y = M;
    doc.font(BODY).fontSize(8).fillColor(MUTED).text('Each image: the picture as the model saw it, the heat-map overlay, the verdict and the score.', M, doc.y);
    if (reviews.length) {
      heading(doc, `Images to review (${reviews.length})`);
      for (const r of reviews) imageRow(doc, r);
    }
    if (fails.length) {
      heading(doc, `Failed images (${fails.length})`);
      for (const r of fails) imageRow(doc, r);
    }
    if (passes.length) {
      heading(doc, `Passed images (${passes.length})`);
      for (const r of passes) imageRow(doc, r);
    }
    heading(doc, `Files that could not be inspected (${errors.length})`);
    if (!errors.length) doc.font(BODY).fontSize(9).fillColor(MUTED).text('None.', M, doc.y);
    for (const r of errors) {
      ensureSpace(doc, 30);
      doc.font(BOLD).fontSize(9).fillColor(INK).text(u(doc, r.rel), M, doc.y, { width: A4.w - 2 * M });
      doc.font(BODY).fontSize(8).fillColor(ERR).text(u(doc, `${r.errorCode ?? 'ERROR'}: ${r.error ?? 'unknown reason'}`), M + 12, doc.y + 1, { width: A4.w - 2 * M - 12 });
      doc.moveDown(0.5);
    }

    const range = doc.bufferedPageRange();
    for (let i = range.start; i < range.start + range.count; i++) {
      doc.switchToPage(i);
      doc.page.margins.bottom = 0; // the footer sits in the margin; without this pdfkit starts a new page
      doc.font(BODY).fontSize(7).fillColor(MUTED).text(`BGAD Inspector · model ${s.model.sha256.slice(0, 12)} · page ${i + 1} of ${range.count}`, M, A4.h - M + 10, { width: A4.w - 2 * M, align: 'center', lineBreak: false });
    }
    doc.end();
    await done;
    await commitTempFile(tmp, path);
  } catch (e) {
    stream.destroy();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
