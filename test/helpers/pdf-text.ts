/**
 * The text of a PDF for tests, read with Mozilla's PDF.js (pdfjs-dist, legacy build for Node)
 * instead of a system program (poppler), so the tests need nothing beyond `npm ci`.
 *
 * PDF.js runs on this thread (no worker thread), fetches nothing (no fonts, no CMaps, no wasm)
 * and logs nothing. Each page's text comes back in reading order, like poppler's layout mode:
 * text items are grouped into lines by their baseline, top to bottom, and each line is read
 * left to right; items on one line that touch are joined as they are, items with a gap
 * between them get one space. Lines end with '\n', pages with '\f' (as poppler does).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { TextItem } from 'pdfjs-dist/types/src/display/api';

const require = createRequire(import.meta.url);

let workerReady: Promise<void> | null = null;

/** Runs PDF.js's worker code on the main thread: the library then starts no worker. */
function mainThreadWorker(): Promise<void> {
  workerReady ??= (async () => {
    const g = globalThis as { pdfjsWorker?: unknown };
    if (g.pdfjsWorker) return;
    const url = pathToFileURL(require.resolve('pdfjs-dist/legacy/build/pdf.worker.mjs')).href;
    g.pdfjsWorker = await import(/* @vite-ignore */ url);
  })();
  return workerReady;
}

interface Piece {
  str: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** One page's text items as lines in reading order. */
function pageLines(items: TextItem[]): string[] {
  const pieces: Piece[] = items
    .filter((it) => it.str.length > 0)
    .map((it) => ({ str: it.str, x: it.transform[4], y: it.transform[5], w: it.width, h: it.height || Math.hypot(it.transform[2], it.transform[3]) || 1 }));
  // top of the page first (PDF y grows upwards), then left to right
  pieces.sort((a, b) => b.y - a.y || a.x - b.x);
  const lines: Piece[][] = [];
  for (const p of pieces) {
    const line = lines[lines.length - 1];
    const ref = line?.[0];
    if (line && ref && Math.abs(ref.y - p.y) <= Math.max(1, 0.4 * Math.min(ref.h, p.h))) line.push(p);
    else lines.push([p]);
  }
  return lines.map((line) => {
    line.sort((a, b) => a.x - b.x);
    let out = '';
    let end = -Infinity;
    for (const p of line) {
      const gap = p.x - end;
      if (out && gap > 0.2 * p.h && !/\s$/.test(out) && !/^\s/.test(p.str)) out += ' ';
      out += p.str;
      end = Math.max(end, p.x + p.w);
    }
    return out;
  });
}

/** The text of every page of a PDF file, one string per page, lines separated by '\n'. */
export async function pdfPages(file: string): Promise<string[]> {
  await mainThreadWorker();
  const task = getDocument({
    data: new Uint8Array(readFileSync(file)),
    verbosity: 0,
    disableFontFace: true,
    useSystemFonts: false,
    isEvalSupported: false,
    useWorkerFetch: false,
    useWasm: false,
    isOffscreenCanvasSupported: false,
    stopAtErrors: true,
  });
  const doc = await task.promise;
  try {
    const pages: string[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      pages.push(pageLines(content.items.filter((it): it is TextItem => 'str' in it)).join('\n'));
      page.cleanup();
    }
    return pages;
  } finally {
    await task.destroy();
  }
}

/** The text of a whole PDF file in reading order: pages separated by '\f' as poppler does. */
export async function pdfText(file: string): Promise<string> {
  return (await pdfPages(file)).join('\n\f');
}
