/**
 * What the desktop app's menu commands do in the UI (pure: no DOM, no Svelte). The main
 * process sends a `{ type: 'menu', command }` event through the preload bridge; the app
 * switches to the command's view and, for commands that open something there (a name field,
 * a folder or save dialog, the About panel), leaves that view a request it takes once it
 * shows. Browser mode has no menu: the binding subscribes to nothing there. The app state
 * uses this module (never the reverse): it acts on the app through `MenuTarget`.
 */
import { MENU_COMMANDS, type ApiEvent, type MenuCommand } from '../../src-main/common/api';
import type { View } from './route';

export interface MenuAction {
  /** The view the command shows. */
  view: View;
  /** Whether the view is then asked to do something (the command is the request). */
  request: boolean;
  /** In words, for help texts. */
  does: string;
}

export const MENU_ACTIONS: Readonly<Record<MenuCommand, MenuAction>> = {
  'new-dataset': { view: 'datasets', request: true, does: 'Datasets: focuses the name of a new dataset' },
  'import-folder': { view: 'datasets', request: true, does: 'Datasets: chooses a folder to import into the current dataset' },
  'inspect-image': { view: 'inspect', request: true, does: 'Inspect: chooses an image in the open dialog and inspects it (cancelled: focuses the drop zone)' },
  'inspect-folder': { view: 'inspect', request: true, does: 'Inspect: chooses a folder to inspect with the current model' },
  'export-report': { view: 'inspect', request: true, does: 'Inspect: saves the report of the run shown (PDF or CSV, by the file name chosen)' },
  'go-datasets': { view: 'datasets', request: false, does: 'shows Datasets' },
  'go-annotate': { view: 'annotate', request: false, does: 'shows Annotate' },
  'go-training': { view: 'training', request: false, does: 'shows Training' },
  'go-models': { view: 'models', request: false, does: 'shows Models' },
  'go-inspect': { view: 'inspect', request: false, does: 'shows Inspect' },
  'go-settings': { view: 'settings', request: false, does: 'shows Settings' },
  'go-station': { view: 'station', request: false, does: 'shows Station' },
  'go-audit': { view: 'audit', request: false, does: 'shows Audit' },
  about: { view: 'settings', request: true, does: 'Settings: shows the About panel (version, mode, platform)' },
};

export function isMenuCommand(x: unknown): x is MenuCommand {
  return typeof x === 'string' && (MENU_COMMANDS as readonly string[]).includes(x);
}

/** A request left for a view: the command that asked, and a number so the same command asked twice is two requests. */
export interface MenuRequest {
  id: number;
  command: MenuCommand;
}

/** Where menu commands act: the app's route and its pending view request. */
export interface MenuTarget {
  /** Changes the view; false when the user stayed (e.g. kept unsaved strokes). */
  go(patch: { view: View }): Promise<boolean>;
  /** Leaves a request for the view now showing. */
  request(command: MenuCommand): void;
}

/** Runs one menu command: shows its view, then leaves the view its request. */
export async function runMenuCommand(command: MenuCommand, target: MenuTarget): Promise<boolean> {
  const action = MENU_ACTIONS[command];
  if (!(await target.go({ view: action.view }))) return false;
  if (action.request) target.request(command);
  return true;
}

/** The event source of the API client (the preload's `onEvent` in the desktop app). */
export interface MenuEventSource {
  readonly mode: 'electron' | 'browser';
  onEvent(listener: (event: ApiEvent) => void): () => void;
}

/**
 * Calls `run` for every menu command the desktop app's menu sends; returns the unsubscribe.
 * In browser mode there is no menu: nothing is subscribed and the returned function does nothing.
 */
export function bindMenuCommands(source: MenuEventSource, run: (command: MenuCommand) => void): () => void {
  if (source.mode !== 'electron') return () => undefined;
  return source.onEvent((e) => {
    if (e.type === 'menu' && isMenuCommand(e.command)) run(e.command);
  });
}
