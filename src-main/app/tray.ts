/**
 * Closing the window while a station runs keeps the station running: the window hides and a
 * tray icon stays (Show / Stop the station and quit). Without a running station, closing
 * quits as before. Electron's classes come in as small interfaces, so this is tested in Node.
 */

/** What we use of a BrowserWindow. */
export interface WindowLike {
  on(event: 'close', listener: (e: { preventDefault(): void }) => void): unknown;
  hide(): void;
  show(): void;
  close(): void;
  isDestroyed(): boolean;
}

/** What we use of a Tray. */
export interface TrayLike {
  setToolTip(text: string): void;
  setContextMenu(menu: unknown): void;
  on(event: 'click', listener: () => void): unknown;
  destroy(): void;
}

export interface TrayMenuItem {
  label: string;
  click: () => void;
}

export interface StationTrayDeps {
  /** True while a station is starting or running. */
  stationRunning(): Promise<boolean>;
  /** Makes the tray icon (Electron: new Tray(icon)). */
  makeTray(): TrayLike;
  /** Builds the tray's context menu (Electron: Menu.buildFromTemplate). */
  buildMenu(items: TrayMenuItem[]): unknown;
  /** Quits the app (Electron: app.quit(); the before-quit handler stops the station). */
  quit(): void;
  /** Told once when the window first goes to the tray (e.g. a notification). */
  onHidden?(): void;
}

export interface StationTray {
  /** Lets the next close go through (call from before-quit). */
  allowClose(): void;
  /** Shows the window again (second instance, tray click). */
  show(): void;
  /** True while the window is hidden in the tray. */
  readonly hidden: boolean;
}

export function keepStationInTray(win: WindowLike, deps: StationTrayDeps): StationTray {
  let closing = false;
  let hidden = false;
  let tray: TrayLike | null = null;
  let told = false;
  const show = () => {
    if (win.isDestroyed()) return;
    hidden = false;
    win.show();
    tray?.destroy();
    tray = null;
  };
  const toTray = () => {
    hidden = true;
    win.hide();
    if (!tray) {
      tray = deps.makeTray();
      tray.setToolTip('BGAD Inspector: the station is running');
      tray.setContextMenu(deps.buildMenu([
        { label: 'Show BGAD Inspector', click: show },
        { label: 'Stop the station and quit', click: () => { closing = true; deps.quit(); } },
      ]));
      tray.on('click', show);
    }
    if (!told) {
      told = true;
      deps.onHidden?.();
    }
  };
  win.on('close', (e) => {
    if (closing) return;
    e.preventDefault();
    deps.stationRunning().then(
      (running) => {
        if (running) toTray();
        else {
          closing = true;
          if (!win.isDestroyed()) win.close();
        }
      },
      () => {
        // the state is unknown: close as before rather than keep a window open
        closing = true;
        if (!win.isDestroyed()) win.close();
      },
    );
  });
  return {
    allowClose: () => {
      closing = true;
      tray?.destroy();
      tray = null;
    },
    show,
    get hidden() {
      return hidden;
    },
  };
}
