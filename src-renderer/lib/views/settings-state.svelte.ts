/**
 * The Settings view's state and logic (no DOM): the data folder (desktop app), the execution
 * provider, the threads and the number format, loaded from and saved to the services.
 */
import { untrack } from 'svelte';
import type { ExecutionProvider, Settings } from '../../../src-main/common/api';
import type { ApiClient } from '../api-client';
import type { AppState } from '../app-state.svelte';
import { numberFormat, type NumberFormat } from '../format';

/** The part of the API client the view uses. */
export type SettingsApi = Pick<ApiClient, 'app'>;

export class SettingsState {
  readonly #api: SettingsApi;
  readonly #app: AppState;

  /** The settings as saved. */
  settings = $state.raw<Settings | null>(null);
  dataDir = $state('');
  ep = $state<ExecutionProvider>('cpu');
  threads = $state(0);
  nf = $state<NumberFormat>(numberFormat());
  saving = $state(false);

  /** Execution providers of this computer. */
  readonly providers = $derived.by((): readonly ExecutionProvider[] => this.#app.info?.executionProviders ?? ['cpu']);

  constructor(api: SettingsApi, app: AppState) {
    this.#api = api;
    this.#app = app;
    $effect(() => {
      untrack(() => this.#load());
    });
  }

  #load(): void {
    this.#api.app.getSettings().then((s) => {
      this.settings = s;
      this.dataDir = s.dataDir;
      this.ep = s.executionProvider;
      this.threads = s.threads;
    }, (e) => this.#app.fail(e));
  }

  async save(): Promise<void> {
    this.saving = true;
    try {
      const patch: { executionProvider: ExecutionProvider; threads: number; dataDir?: string } = { executionProvider: this.ep, threads: this.threads };
      if (this.#app.info?.mode === 'electron' && this.dataDir !== this.settings?.dataDir) patch.dataDir = this.dataDir;
      this.settings = await this.#api.app.setSettings(patch);
      this.#app.setNumberFormat(this.nf);
      this.#app.notify({ kind: 'info', message: patch.dataDir ? 'Saved. The new data folder is used from the next start.' : 'Settings saved.' });
    } catch (e) {
      this.#app.fail(e);
    } finally {
      this.saving = false;
    }
  }
}
