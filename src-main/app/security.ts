/**
 * Window security for the desktop app: the web preferences every window uses, a strict CSP
 * on every response, no permissions, no navigation away from the app, no new windows, no
 * webviews and no remote content.
 */
import type { App, BrowserWindowConstructorOptions, Session, WebContents } from 'electron';
import { cspString, DESKTOP_CSP_OVERRIDES } from '../common/csp';
import { isAppUrl } from './ipc';

export function secureWebPreferences(preloadPath: string, isDev: boolean): NonNullable<BrowserWindowConstructorOptions['webPreferences']> {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    devTools: isDev,
  };
}

/** Schemes a window may load anything from; everything else (http, https, file...) is cancelled. */
export function isAllowedRequestUrl(url: string): boolean {
  return isAppUrl(url) || url.startsWith('devtools:') || url.startsWith('data:') || url.startsWith('blob:bgad://app/');
}

export function hardenWebContents(contents: Pick<WebContents, 'on' | 'setWindowOpenHandler'>): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

export function setupSecurity(app: Pick<App, 'on'>, session: Session): void {
  const csp = cspString(DESKTOP_CSP_OVERRIDES);
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
  });
  session.webRequest.onBeforeRequest((details, callback) => {
    callback({ cancel: !isAllowedRequestUrl(details.url) });
  });
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));
}
