/**
 * The Settings view's state and logic (no DOM): the data folder (desktop app), the execution
 * provider, the threads and the number format, loaded from and saved to the services; the
 * inference API for line controllers (browser mode: on or off) and its key (shown, rotated).
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
  /** Browser mode: answer /v1 (as `bgad serve --api`). */
  apiEnabled = $state(false);
  readonly #confirm: (question: string) => boolean;

  /** Execution providers of this computer. */
  readonly providers = $derived.by((): readonly ExecutionProvider[] => this.#app.info?.executionProviders ?? ['cpu']);

  constructor(api: SettingsApi, app: AppState, opts: { confirm?: (question: string) => boolean } = {}) {
    this.#api = api;
    this.#app = app;
    this.#confirm = opts.confirm ?? ((q) => window.confirm(q));
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
      this.apiEnabled = s.apiEnabled === true;
    }, (e) => this.#app.fail(e));
  }

  async save(): Promise<void> {
    this.saving = true;
    try {
      const patch: { executionProvider: ExecutionProvider; threads: number; dataDir?: string; apiEnabled?: boolean } = { executionProvider: this.ep, threads: this.threads };
      if (this.#app.info?.mode === 'electron' && this.dataDir !== this.settings?.dataDir) patch.dataDir = this.dataDir;
      if (this.#app.info?.mode === 'browser') patch.apiEnabled = this.apiEnabled;
      this.settings = await this.#api.app.setSettings(patch);
      this.#app.setNumberFormat(this.nf);
      this.#app.notify({ kind: 'info', message: patch.dataDir ? 'Saved. The new data folder is used from the next start.' : 'Settings saved.' });
    } catch (e) {
      this.#app.fail(e);
    } finally {
      this.saving = false;
    }
  }

  /** Replaces the API key (after a confirmation: every line controller needs the new one). */
  async rotateKey(): Promise<void> {
    if (this.settings?.apiKey && !this.#confirm('Make a new API key? The current key stops working at once; every line controller needs the new one.')) return;
    try {
      this.settings = await this.#api.app.setSettings({ rotateApiKey: true });
      this.#app.notify({ kind: 'info', message: 'A new API key is in use; the old one no longer works.' });
    } catch (e) {
      this.#app.fail(e);
    }
  }
}
