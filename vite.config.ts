import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig, type Plugin } from 'vite';
import { cspString } from './src-main/common/csp';

/** Puts the app's Content-Security-Policy (one source: src-main/common/csp.ts) in index.html. */
function cspMeta(): Plugin {
  return {
    name: 'bgad-csp-meta',
    transformIndexHtml: {
      order: 'post',
      handler: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: cspString() }, injectTo: 'head-prepend' }],
    },
  };
}

// The renderer: src-renderer -> dist/renderer, loaded from bgad://app/ (desktop) or
// http://127.0.0.1:PORT/ (browser mode), hence relative asset URLs and no inline scripts.
export default defineConfig({
  root: 'src-renderer',
  base: './',
  plugins: [svelte(), cspMeta()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    target: 'chrome130',
    modulePreload: { polyfill: false },
    sourcemap: true,
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: { host: '127.0.0.1' },
});
