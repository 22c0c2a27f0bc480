/**
 * The Settings view's state and logic (no DOM): the data folder (desktop app), the execution
 * provider, the threads and the number format, loaded from and saved to the services; the
 * inference API for line controllers (on or off; the desktop app: its loopback port and whether
 * it listens) and its key (shown, rotated).
 */
import { untrack } from 'svelte';
import { DEFAULT_API_PORT, type ExecutionProvider, type Settings } from '../../../src-main/common/api';
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
  /** Answer /v1 (as `bgad serve --api`): browser mode on the server's port, the desktop app on `apiPort`. */
  apiEnabled = $state(false);
  /** Desktop app: the loopback port of /v1. */
  apiPort = $state(DEFAULT_API_PORT);
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
      this.apiPort = s.apiPort ?? DEFAULT_API_PORT;
    }, (e) => this.#app.fail(e));
  }

  async save(): Promise<void> {
    this.saving = true;
    try {
      const patch: { executionProvider: ExecutionProvider; threads: number; dataDir?: string; apiEnabled?: boolean; apiPort?: number } = { executionProvider: this.ep, threads: this.threads, apiEnabled: this.apiEnabled };
      const desktop = this.#app.info?.mode === 'electron';
      if (desktop && this.dataDir !== this.settings?.dataDir) patch.dataDir = this.dataDir;
      if (desktop) patch.apiPort = this.apiPort;
      const saved = await this.#api.app.setSettings(patch);
      this.settings = saved;
      this.#app.setNumberFormat(this.nf);
      const api = saved.apiListener;
      if (api?.state === 'failed') this.#app.notify({ kind: 'error', message: `Settings saved, but ${api.error ?? 'the inference API did not start'}.`, hint: api.hint });
      else this.#app.notify({ kind: 'info', message: patch.dataDir ? 'Saved. The new data folder is used from the next start.' : 'Settings saved.' });
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
