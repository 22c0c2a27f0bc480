/**
 * Loads the renderer's runes modules (`*.svelte.ts`: $state, $derived, $effect) in Node for
 * the tests of the view state classes. The unit suite's Vitest config compiles TypeScript
 * only, so these modules go through a small Vite server with the Svelte compiler instead:
 * client output (effects run, as in the app) and the browser build of `svelte`, one module
 * graph per loader, so the state classes, the app state and the test helpers of
 * ./runes-root.svelte.ts share one Svelte runtime.
 */
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { createServer, createServerModuleRunner } from 'vite';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface RunesLoader {
  /** Imports a module by its path from the repository root, e.g. `src-renderer/lib/app-state.svelte.ts`. */
  import<T>(path: string): Promise<T>;
  close(): Promise<void>;
}

export async function runesLoader(): Promise<RunesLoader> {
  const server = await createServer({
    configFile: false,
    root: ROOT,
    logLevel: 'error',
    appType: 'custom',
    plugins: [svelte({ configFile: false, dynamicCompileOptions: () => ({ generate: 'client' }) })],
    server: { middlewareMode: true, hmr: false, ws: false, watch: null },
    optimizeDeps: { noDiscovery: true, include: [] },
    // the browser build of svelte (the server build has no effects), inlined so that every
    // module of the graph uses the same runtime
    ssr: { noExternal: ['svelte'], resolve: { conditions: ['browser'], externalConditions: ['browser'] } },
  });
  const runner = createServerModuleRunner(server.environments.ssr, { hmr: false });
  return {
    import: <T>(path: string) => runner.import(`/${path.replace(/^\//, '')}`) as Promise<T>,
    async close() {
      await runner.close();
      await server.close();
    },
  };
}
