/**
 * The Content-Security-Policy of the UI (pure), shared by the desktop app (session header and
 * bgad:// responses), browser mode (response header) and the meta tag that vite.config.ts puts
 * in the built index.html (test/app/csp.test.ts checks all of them). No inline or remote
 * scripts, no eval, no plugins, no framing, no remote content, and no inline styles: the CSS
 * ships as files, and styles that change at run time are set through the DOM (element.style,
 * as Svelte's style={...}, Konva and Chart.js do), which style-src does not govern; style="..."
 * in markup and <style> elements would be blocked, so the renderer has none.
 */
export const CSP_DIRECTIVES: Readonly<Record<string, string>> = {
  'default-src': "'none'",
  'script-src': "'self'",
  'style-src': "'self'",
  'img-src': "'self' data: blob:",
  'font-src': "'self'",
  'connect-src': "'self' ws://127.0.0.1:* ws://localhost:*",
  'worker-src': "'self' blob:",
  'media-src': "'none'",
  'object-src': "'none'",
  'frame-src': "'none'",
  'base-uri': "'none'",
  'form-action': "'none'",
};

/** The desktop app talks over IPC only: no network connections at all. */
export const DESKTOP_CSP_OVERRIDES: Readonly<Record<string, string>> = { 'connect-src': "'self'" };

/** The policy as a header/meta value. */
export function cspString(extra: Readonly<Record<string, string>> = {}): string {
  return Object.entries({ ...CSP_DIRECTIVES, ...extra })
    .map(([k, v]) => `${k} ${v}`)
    .join('; ');
}
