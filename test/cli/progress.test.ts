import { describe, expect, it } from 'vitest';
import { progressPrinter } from '../../src-main/cli/progress';
import type { CliIO } from '../../src-main/cli/command';

/** Feeds a 10-minute, 3000-step job (one update every 200 ms) to a printer on a fake clock. */
function simulate(interactive: boolean): string[] {
  const lines: string[] = [];
  const io: CliIO = { out: () => {}, err: () => {}, progress: (l) => lines.push(l), interactive };
  let t = 0;
  const print = progressPrinter(io, false, () => t);
  const steps = 3000;
  for (let i = 1; i <= steps; i++) {
    t = i * 200;
    print({ fraction: i / steps, message: `step ${i}/${steps}`, etaMs: (steps - i) * 200 });
  }
  return lines;
}

describe('CLI progress', () => {
  it('writes a line at most every few seconds (or per 10 %) with ETA when stderr is a log, not one per step', () => {
    const lines = simulate(false);
    // 600 s at one line per 5 s is 120 lines; every line has an ETA and the last one says 100 %
    expect(lines.length).toBeLessThanOrEqual(125);
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines.every((l) => /ETA \d/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^100%\s+step 3000\/3000/);
  });

  it('updates a terminal line several times a second', () => {
    const lines = simulate(true);
    // updates every 200 ms against a 250 ms gate: every other one is shown
    expect(lines.length).toBeGreaterThan(1400);
    expect(lines.length).toBeLessThan(1600);
  });
});
