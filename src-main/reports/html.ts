/**
 * The optional HTML report: one self-contained file (inline CSS, an SVG histogram, thumbnails
 * as base64 data URLs; no script, no outside request), so it can be mailed or archived.
 */
import { readFile } from 'node:fs/promises';
import type { InspectionFileResult, InspectionReport } from '../model/records';
import { scoreHistogram } from './histogram';
import { describeThreshold, describeThresholdRule, fmtScore } from './text';
import { describeReviewBand } from '../common/review-band';
import { geometryLabel, inputGeometry } from '../bgad/geometry';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

async function dataUrl(file: string | null): Promise<string | null> {
  if (!file) return null;
  try {
    return `data:image/jpeg;base64,${(await readFile(file)).toString('base64')}`;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null; // picture deleted by hand: the row stays
    throw e;
  }
}

function histogramSvg(s: InspectionReport): string {
  const scores = s.results.filter((r) => r.score !== null).map((r) => r.score!);
  const h = scoreHistogram(scores, s.threshold, 30);
  const W = 600, H = 150, pad = 20;
  const maxC = Math.max(1, ...h.counts);
  const bw = (W - 2 * pad) / h.counts.length;
  const bars = h.counts.map((c, i) => {
    const f = h.failCounts[i]!;
    const hp = ((c - f) / maxC) * (H - 2 * pad);
    const hf = (f / maxC) * (H - 2 * pad);
    const x = pad + i * bw;
    return (hp ? `<rect x="${x.toFixed(1)}" y="${(H - pad - hp).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${hp.toFixed(1)}" fill="#8fa9c4"/>` : '')
      + (hf ? `<rect x="${x.toFixed(1)}" y="${(H - pad - hp - hf).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${hf.toFixed(1)}" fill="#e08a80"/>` : '');
  }).join('');
  const tx = pad + ((s.threshold - h.lo) / (h.hi - h.lo)) * (W - 2 * pad);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="score histogram">`
    + `<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#9aa3ad"/>${bars}`
    + `<line x1="${tx.toFixed(1)}" y1="${pad - 8}" x2="${tx.toFixed(1)}" y2="${H - pad}" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="4 3"/>`
    + `<text x="${(tx + 4).toFixed(1)}" y="${pad - 2}" font-size="10" fill="#c0392b">threshold ${fmtScore(s.threshold)}</text>`
    + `<text x="${pad}" y="${H - 4}" font-size="10" fill="#5b6673">${fmtScore(h.lo, 3)}</text>`
    + `<text x="${W - pad}" y="${H - 4}" font-size="10" fill="#5b6673" text-anchor="end">${fmtScore(h.hi, 3)}</text></svg>`;
}

async function row(r: InspectionFileResult): Promise<string> {
  const [a, b] = await Promise.all([dataUrl(r.thumbnail), dataUrl(r.overlayThumbnail)]);
  const img = (u: string | null, alt: string) => (u ? `<img src="${u}" alt="${alt}">` : '<span class="none"></span>');
  return `<tr class="${r.verdict}"><td>${img(a, 'image')}</td><td>${img(b, 'heat map')}</td><td class="path">${escapeHtml(r.rel)}<br><small>${r.sha256 ?? ''}</small></td>`
    + `<td class="v">${r.verdict.toUpperCase()}</td><td class="num">${fmtScore(r.score)}</td></tr>`;
}

export async function renderHtmlReport(s: InspectionReport): Promise<string> {
  const scored = s.results.filter((r) => r.verdict !== 'error');
  const ordered = [...scored.filter((r) => r.verdict === 'review'), ...scored.filter((r) => r.verdict === 'fail'), ...scored.filter((r) => r.verdict === 'pass')];
  const rows: string[] = [];
  for (const r of ordered) rows.push(await row(r));
  const errors = s.results.filter((r) => r.verdict === 'error');
  const kv = (k: string, v: string) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Inspection report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;color:#1d232b;margin:2em auto;max-width:960px;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} .muted{color:#5b6673}
.counts{display:flex;gap:2.5em;margin:1em 0} .counts b{display:block;font-size:1.8em}
.pass b,.pass .v{color:#27864a} .fail b,.fail .v{color:#c0392b} .error b{color:#9a6a00} .review b,.review .v{color:#b35c00}
table{border-collapse:collapse;width:100%} th{text-align:left;color:#5b6673;font-weight:normal;padding-right:1em;vertical-align:top}
.files td{border-top:1px solid #e3e6ea;padding:4px 8px 4px 0;vertical-align:middle} .files img{max-width:96px;max-height:96px;display:block}
.path{word-break:break-all} .num{text-align:right;font-variant-numeric:tabular-nums} .v{font-weight:bold}
.none{display:inline-block;width:64px;height:64px;border:1px solid #c4cad1}
</style></head><body>
<h1>Inspection report</h1>
<p class="muted">${escapeHtml(s.startedAt)} · folder ${escapeHtml(s.input)}</p>
<div class="counts"><div>Total<b>${s.total}</b></div><div class="pass">Pass<b>${s.pass}</b></div><div class="fail">Fail<b>${s.fail}</b></div><div class="error">Error<b>${s.error}</b></div>${s.reviewBand ? `<div class="review">Review<b>${s.review ?? 0}</b></div>` : ''}</div>
<table>
${kv('Threshold', describeThreshold(s))}
${s.reviewBand ? kv('Review band', `${describeReviewBand(s.reviewBand)} (a person decides)`) : ''}
${kv('How it was derived', describeThresholdRule(s.model))}
${kv('Model file', s.model.file ?? '(in memory)')}
${kv('Model sha256', s.model.sha256)}
${kv('Model version', `trained ${s.model.createdAt}, backbone ${s.model.backboneId}, input ${geometryLabel(inputGeometry({ backbone: s.model }))}`)}
${kv('Speed', s.inspected ? `${s.imagesPerSecond.toFixed(1)} images/s, ${s.msPerImage.toFixed(1)} ms/image` : '-')}
</table>
<h2>Score histogram</h2>
${histogramSvg(s)}
<h2>Images (${ordered.length})</h2>
<table class="files"><thead><tr><th>image</th><th>heat map</th><th>file</th><th>verdict</th><th class="num">score</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>
<h2>Files that could not be inspected (${errors.length})</h2>
${errors.length ? `<table class="files">${errors.map((r) => `<tr class="error"><td class="path">${escapeHtml(r.rel)}</td><td>${escapeHtml(`${r.errorCode ?? 'ERROR'}: ${r.error ?? ''}`)}</td></tr>`).join('\n')}</table>` : '<p class="muted">None.</p>'}
</body></html>
`;
}
