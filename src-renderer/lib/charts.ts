/** Chart.js with only the parts the views use (tree-shaken), registered once. */
import { BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement, ScatterController, Tooltip } from 'chart.js';
import { fmt } from './format';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, BarController, BarElement, ScatterController, Filler, Legend, Tooltip);
Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
Chart.defaults.font.size = 11;
Chart.defaults.color = '#667085';
Chart.defaults.animation = false;

export { Chart };

/** Distinct colours for series (levels, versions). */
export const SERIES_COLOURS = ['#2f6fec', '#e07b18', '#1f9d55', '#9b51e0', '#d64545', '#0aa2b0'];

export interface Series {
  label: string;
  colour: string;
  points: { x: number; y: number }[];
  dashed?: boolean;
}

/** What every x/y chart shares: sized by its box, points given as `{ x, y }` (no parsing), no animation. */
export const XY_CHART = { responsive: true, maintainAspectRatio: false, parsing: false, normalized: true } as const;

/** A linear axis with its title, its ticks printed with `digits` decimals (`negate`: shown with the sign turned, e.g. seconds ago). */
export function linearAxis(title: string, digits: number, range: { min?: number; max?: number; negate?: boolean } = {}) {
  const { negate, ...bounds } = range;
  return {
    type: 'linear' as const,
    title: { display: true, text: title },
    ...bounds,
    ticks: { callback: (v: string | number) => fmt(negate ? -Number(v) : Number(v), digits) },
  };
}

/** The legend below the chart, and a tooltip with the series' name and its value (`digits` decimals). */
export function legendAndTooltip(digits = 4) {
  return {
    legend: { position: 'bottom' as const, labels: { boxWidth: 12 } },
    tooltip: { callbacks: { label: (c: { dataset: { label?: string }; parsed: { y: number | null } }) => `${c.dataset.label}: ${fmt(c.parsed.y ?? NaN, digits)}` } },
  };
}
