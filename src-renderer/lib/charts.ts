/** Chart.js with only the parts the views use (tree-shaken), registered once. */
import { BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement, ScatterController, Tooltip } from 'chart.js';

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
