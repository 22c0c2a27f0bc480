import { mount } from 'svelte';
import App from './App.svelte';
import { ApiError, connectApi, type ApiClient } from './lib/api-client';
import { restoreNumberFormat } from './lib/app-state.svelte';
import './app.css';

restoreNumberFormat(window.localStorage);

const target = document.getElementById('app')!;
let api: ApiClient | null = null;
let startError: ApiError | null = null;
try {
  api = connectApi();
} catch (e) {
  startError = e instanceof ApiError ? e : new ApiError({ code: 'INTERNAL', message: String(e) });
}

mount(App, { target, props: { api, startError } });
