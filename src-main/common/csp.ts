/**
 * The Content-Security-Policy of the UI (pure), shared by the desktop app (session header),
 * browser mode (response header) and checked against the meta tag in src-renderer/index.html
 * by a test. No inline or remote scripts, no eval, no plugins, no framing, no remote content.
 * Inline styles are allowed because Svelte style attributes and chart/annotator libraries
 * set them; scripts are what the policy is for.
 */
export const CSP_DIRECTIVES: Readonly<Record<string, string>> = {
  'default-src': "'none'",
  'script-src': "'self'",
  'style-src': "'self' 'unsafe-inline'",
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
