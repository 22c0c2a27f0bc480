/**
 * Fonts for the PDF report. pdfkit's built-in Helvetica only encodes WinAnsi (Latin-1 plus a
 * few typographic signs), so a file name in Cyrillic, Greek, Chinese or Japanese would print
 * as garbage. When the report's text needs more, we embed an installed system font that has
 * a glyph for every character (checked with fontkit): Arial / Segoe UI / Microsoft YaHei /
 * Meiryo / Malgun Gothic on Windows, DejaVu / Noto / WenQuanYi on Linux, Arial Unicode or
 * PingFang on macOS, or the file in BGAD_PDF_FONT. Characters no installed font covers are
 * printed as '?', and the report says so (the CSV and HTML reports keep every name exact).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as fontkit from 'fontkit';

export interface FontFace {
  /** A TrueType/OpenType file, or a collection (.ttc) with `postscriptName`. */
  path: string;
  postscriptName?: string;
}

export interface FontCandidate {
  regular: FontFace;
  bold?: FontFace;
}

export interface PdfFonts {
  /** null: pdfkit's standard Helvetica and Helvetica-Bold. */
  regular: FontFace | null;
  bold: FontFace | null;
  /** Characters that no available font covers (printed as '?'). */
  uncovered: string[];
}

/** Code points outside ASCII that pdfkit's standard fonts encode (Windows-1252). */
const WIN_ANSI_EXTRA = new Set(Array.from('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ', (c) => c.codePointAt(0)!));

export function isWinAnsi(cp: number): boolean {
  return cp === 9 || cp === 10 || cp === 13 || (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff) || WIN_ANSI_EXTRA.has(cp);
}

/** The system fonts we look for, most complete first within each platform. */
export function systemFontCandidates(env: NodeJS.ProcessEnv = process.env): FontCandidate[] {
  const out: FontCandidate[] = [];
  if (env.BGAD_PDF_FONT) out.push({ regular: { path: env.BGAD_PDF_FONT }, ...(env.BGAD_PDF_FONT_BOLD ? { bold: { path: env.BGAD_PDF_FONT_BOLD } } : {}) });
  const win = join(env.WINDIR ?? env.SystemRoot ?? 'C:\\Windows', 'Fonts');
  const w = (f: string, ps?: string): FontFace => ({ path: join(win, f), ...(ps ? { postscriptName: ps } : {}) });
  out.push(
    { regular: w('arial.ttf'), bold: w('arialbd.ttf') },
    { regular: w('segoeui.ttf'), bold: w('segoeuib.ttf') },
    { regular: w('msyh.ttc', 'MicrosoftYaHei'), bold: w('msyhbd.ttc', 'MicrosoftYaHei-Bold') },
    { regular: w('meiryo.ttc', 'Meiryo'), bold: w('meiryob.ttc', 'Meiryo-Bold') },
    { regular: w('malgun.ttf'), bold: w('malgunbd.ttf') },
    { regular: w('simsun.ttc', 'SimSun') },
  );
  const lin = '/usr/share/fonts';
  out.push(
    { regular: { path: `${lin}/truetype/dejavu/DejaVuSans.ttf` }, bold: { path: `${lin}/truetype/dejavu/DejaVuSans-Bold.ttf` } },
    { regular: { path: `${lin}/truetype/noto/NotoSans-Regular.ttf` }, bold: { path: `${lin}/truetype/noto/NotoSans-Bold.ttf` } },
    { regular: { path: `${lin}/opentype/noto/NotoSansCJK-Regular.ttc`, postscriptName: 'NotoSansCJKsc-Regular' }, bold: { path: `${lin}/opentype/noto/NotoSansCJK-Bold.ttc`, postscriptName: 'NotoSansCJKsc-Bold' } },
    { regular: { path: `${lin}/truetype/wqy/wqy-zenhei.ttc`, postscriptName: 'WenQuanYiZenHei' } },
    { regular: { path: `${lin}/truetype/droid/DroidSansFallbackFull.ttf` } },
    { regular: { path: '/System/Library/Fonts/Supplemental/Arial Unicode.ttf' } },
    { regular: { path: '/Library/Fonts/Arial Unicode.ttf' } },
    { regular: { path: '/System/Library/Fonts/PingFang.ttc', postscriptName: 'PingFangSC-Regular' }, bold: { path: '/System/Library/Fonts/PingFang.ttc', postscriptName: 'PingFangSC-Semibold' } },
  );
  return out;
}

interface Glyphs {
  hasGlyphForCodePoint(cp: number): boolean;
}

function openFace(face: FontFace): Glyphs | null {
  if (!existsSync(face.path)) return null;
  try {
    const f = fontkit.openSync(face.path, face.postscriptName) as unknown as Glyphs & { fonts?: unknown[] };
    // a collection opened without (or with an unknown) postscript name has no glyph lookup
    return typeof f?.hasGlyphForCodePoint === 'function' ? f : null;
  } catch {
    return null; // a damaged or unsupported font file is simply not used
  }
}

/**
 * Picks the fonts for a report whose text is `texts`: Helvetica when WinAnsi suffices, else
 * the first candidate that covers every other character (or, failing that, the one that
 * covers most of them).
 */
export function choosePdfFonts(texts: Iterable<string>, candidates: FontCandidate[] = systemFontCandidates()): PdfFonts {
  const needed = new Set<number>();
  for (const t of texts) for (const ch of t) {
    const cp = ch.codePointAt(0)!;
    if (!isWinAnsi(cp)) needed.add(cp);
  }
  if (needed.size === 0) return { regular: null, bold: null, uncovered: [] };
  let best: { c: FontCandidate; font: Glyphs; missing: number[] } | null = null;
  for (const c of candidates) {
    const font = openFace(c.regular);
    if (!font) continue;
    const missing = [...needed].filter((cp) => !font.hasGlyphForCodePoint(cp));
    if (!best || missing.length < best.missing.length) best = { c, font, missing };
    if (missing.length === 0) break;
  }
  if (!best) return { regular: null, bold: null, uncovered: [...needed].map((cp) => String.fromCodePoint(cp)) };
  // the bold face is used only when it covers the same characters
  const boldFont = best.c.bold ? openFace(best.c.bold) : null;
  const boldOk = boldFont !== null && [...needed].every((cp) => best!.missing.includes(cp) || boldFont.hasGlyphForCodePoint(cp));
  return { regular: best.c.regular, bold: boldOk ? best.c.bold! : best.c.regular, uncovered: best.missing.map((cp) => String.fromCodePoint(cp)) };
}

/** `text` with the characters the chosen fonts cannot print replaced by '?'. */
export function printable(text: string, fonts: PdfFonts): string {
  if (fonts.regular === null) {
    let out = '';
    for (const ch of text) out += isWinAnsi(ch.codePointAt(0)!) ? ch : '?';
    return out;
  }
  if (fonts.uncovered.length === 0) return text;
  const bad = new Set(fonts.uncovered);
  let out = '';
  for (const ch of text) out += bad.has(ch) ? '?' : ch;
  return out;
}
