/**
 * The app's route (pure: no Svelte, no DOM): which view shows, the chosen dataset and image,
 * kept in the address's #hash so a reload returns to the same place.
 */

export const VIEWS = ['datasets', 'annotate', 'training', 'models', 'inspect', 'settings', 'station', 'audit'] as const;
export type View = (typeof VIEWS)[number];

export interface Route {
  view: View;
  datasetId: number | null;
  imageId: number | null;
}

export function parseHash(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const view = (VIEWS as readonly string[]).includes(path) ? (path as View) : 'datasets';
  const q = new URLSearchParams(query);
  const num = (k: string) => {
    const n = Number(q.get(k));
    return Number.isInteger(n) && n > 0 ? n : null;
  };
  return { view, datasetId: num('ds'), imageId: num('image') };
}

export function formatHash(r: Route): string {
  const q = new URLSearchParams();
  if (r.datasetId) q.set('ds', String(r.datasetId));
  if (r.imageId) q.set('image', String(r.imageId));
  const s = q.toString();
  return `#/${r.view}${s ? `?${s}` : ''}`;
}
