/**
 * The preload script (sandboxed; bundled to dist/preload/preload.cjs with only `electron`
 * external). It exposes the contract-derived `window.api` and nothing else.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { installPreload } from './bridge';

installPreload(contextBridge, ipcRenderer);
