/**
 * The desktop app's composition root (Electron main; dist/app/main.cjs). Nothing imports it.
 * Order is fixed: scheme registration (before ready) -> single-instance lock -> security ->
 * protocol -> engine process -> services -> IPC -> menu -> window. The main process only
 * routes: ONNX Runtime work runs in the engine utility process.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, nativeImage, Notification, protocol, screen, session, Tray, utilityProcess } from 'electron';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { APP_ORIGIN, DEFAULT_API_PORT, IPC_EVENT_CHANNEL, type ApiEvent, type MenuCommand, type Settings } from '../common/api';
import { createApiListener } from '../api-host/api-listener';
import { isAppError } from '../common/errors';
import { resolveDataDir } from '../db/paths';
import { JobHub, openServices, SettingsStore } from '../services';
import { createDialogs } from './dialogs';
import { forkEngine } from './engine-channel';
import { makeSenderCheck, setupIpc } from './ipc';
import { buildMenuTemplate } from './menu';
import { registerAppScheme, setupProtocol } from './protocol';
import { secureWebPreferences, setupSecurity } from './security';
import { keepStationInTray, type StationTray } from './tray';
import { loadWindowState, saveWindowState, type WindowState } from './window-state';

registerAppScheme(protocol);

let mainWindow: BrowserWindow | undefined;
let stationTray: StationTray | undefined;

function send(event: ApiEvent): void {
  if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(IPC_EVENT_CHANNEL, event);
}

/**
 * The window icon on Linux, where a window has none of its own (Windows takes the .exe's icon,
 * macOS the bundle's): resources/icon.png, beside app.asar once packaged (electron-builder.yml
 * extraResources). Undefined where the file is absent.
 */
function linuxWindowIcon(appRoot: string): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const file = app.isPackaged ? join(process.resourcesPath, 'icon.png') : join(appRoot, 'resources', 'icon.png');
  return existsSync(file) ? file : undefined;
}

/** The tray icon: resources/icons/32x32.png (beside app.asar once packaged: icon.png), else empty. */
function trayIcon(appRoot: string) {
  const candidates = app.isPackaged ? [join(process.resourcesPath, 'icon.png')] : [join(appRoot, 'resources', 'icons', '32x32.png'), join(appRoot, 'resources', 'icon.png')];
  const file = candidates.find((f) => existsSync(f));
  return file ? nativeImage.createFromPath(file).resize({ width: 16, height: 16 }) : nativeImage.createEmpty();
}

async function createMainWindow(appRoot: string, stateFile: string): Promise<BrowserWindow> {
  const state = await loadWindowState(stateFile, screen.getAllDisplays().map((d) => d.workArea));
  const icon = linuxWindowIcon(appRoot);
  const win = new BrowserWindow({
    ...state,
    ...(icon ? { icon } : {}),
    minWidth: 800,
    minHeight: 560,
    show: false,
    title: 'BGAD Inspector',
    backgroundColor: '#1e1f22',
    webPreferences: secureWebPreferences(join(appRoot, 'dist', 'preload', 'preload.cjs'), !app.isPackaged),
  });
  if (state.isMaximized) win.maximize();
  win.once('ready-to-show', () => win.show());
  let saveTimer: NodeJS.Timeout | undefined;
  const remember = () => {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => {
      if (win.isDestroyed()) return;
      const b = win.getNormalBounds();
      const next: WindowState = { x: b.x, y: b.y, width: b.width, height: b.height, isMaximized: win.isMaximized() };
      saveWindowState(stateFile, next).catch((e: Error) => console.error(`bgad: cannot save the window state: ${e.message}`));
    }, 400);
  };
  for (const ev of ['resize', 'move', 'maximize', 'unmaximize'] as const) win.on(ev as 'resize', remember);
  win.on('close', remember);
  return win;
}

async function start(): Promise<void> {
  const appRoot = app.getAppPath();
  const userData = app.getPath('userData');
  const defaultDataDir = resolveDataDir();
  const settingsStore = new SettingsStore(join(userData, 'settings.json'), { dataDir: defaultDataDir, executionProvider: 'cpu', threads: 0 });
  const settings: Settings = await settingsStore.get();
  // BGAD_DATA_DIR wins over the saved setting (tests, portable installs).
  const dataDir = process.env.BGAD_DATA_DIR ? resolveDataDir() : settings.dataDir;

  setupSecurity(app, session.defaultSession);

  // The engine process starts with its first job; the window never waits for it.
  const engine = forkEngine(utilityProcess, join(appRoot, 'dist', 'app', 'engine-process.cjs'));
  const source = openServices({ dataDir, engine, runtime: () => settingsStore.get() });
  const jobs = new JobHub();
  jobs.subscribe(send);
  // the inference API for line controllers (/v1 on 127.0.0.1:apiPort) while the setting is on
  const apiListener = createApiListener({ dataDir, version: app.getVersion(), handlers: () => services.handlers });
  const services = source.host({
    jobs,
    settings: settingsStore,
    mode: 'electron',
    version: app.getVersion(),
    dialogs: createDialogs(dialog, () => mainWindow, () => app.getPath('documents')),
    canChangeDataDir: true,
    inferenceApi: apiListener,
  });
  const missing = services.unavailable;
  void apiListener.apply({ enabled: settings.apiEnabled === true, port: settings.apiPort ?? DEFAULT_API_PORT });
  if (missing.length) console.warn(`bgad: not available in this build: ${missing.join(', ')}`);

  const fileRoots = async (fresh?: boolean) => [dataDir, ...(await services.fileRoots(fresh))];
  setupProtocol(protocol, {
    rendererDir: join(appRoot, 'dist', 'renderer'),
    thumbCacheDir: join(dataDir, 'thumbnails'),
    fileRoots,
    isImportedImage: (path) => services.isImportedImage(path),
  });

  setupIpc(ipcMain, services.handlers, makeSenderCheck(() => (mainWindow && !mainWindow.isDestroyed() ? [mainWindow.webContents.id] : [])));

  const sendMenu = (command: MenuCommand) => send({ type: 'menu', command });
  Menu.setApplicationMenu(Menu.buildFromTemplate(buildMenuTemplate(sendMenu, { isMac: process.platform === 'darwin', isDev: !app.isPackaged })));

  mainWindow = await createMainWindow(appRoot, join(userData, 'window-state.json'));
  mainWindow.on('closed', () => {
    mainWindow = undefined;
  });
  // closing the window while a station runs keeps it running in the tray
  stationTray = keepStationInTray(mainWindow, {
    stationRunning: async () => {
      const s = await services.handlers['station.status']({});
      return !!s && (s.state === 'running' || s.state === 'starting');
    },
    makeTray: () => new Tray(trayIcon(appRoot)),
    buildMenu: (items) => Menu.buildFromTemplate(items),
    quit: () => app.quit(),
    onHidden: () => {
      if (Notification.isSupported()) new Notification({ title: 'BGAD Inspector', body: 'The station keeps running. Open the window or quit from the tray icon.' }).show();
    },
  });
  await mainWindow.loadURL(`${APP_ORIGIN}/index.html`);

  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    quitting = true;
    stationTray?.allowClose();
    event.preventDefault();
    jobs.cancelAll();
    Promise.allSettled([apiListener.close(), services.close()]).finally(() => app.quit());
  });
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (stationTray?.hidden) stationTray.show();
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('window-all-closed', () => app.quit());
  app.whenReady().then(start).catch((e: unknown) => {
    const message = isAppError(e) ? e.describe() : e instanceof Error ? (e.stack ?? e.message) : String(e);
    dialog.showErrorBox('BGAD Inspector could not start', message);
    app.exit(1);
  });
}

