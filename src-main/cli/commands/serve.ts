import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { optNum, UsageError, type Command } from '../command';
import { findAppRoot, runServe, startErrorLine } from '../../api-host/serve';
import { API_MAX_MB_LIMIT, DEFAULT_API_MAX_MB } from '../../api-host/v1-api';

const serve: Command = {
  name: 'serve',
  summary: 'Run the app in your browser (127.0.0.1 only, with a per-start access token); --api adds the inference API',
  usage: [
    'Usage: bgad serve [--port N] [--data-dir DIR] [--open] [--api [--api-max-mb N] [--host ADDR]]',
    '',
    '  --port N          port on 127.0.0.1 (default: a free one)',
    '  --data-dir DIR    data folder (default: BGAD_DATA_DIR or the OS default)',
    '  --open            open the address in the default browser (through a private page, so',
    '                    the token is never on a command line)',
    '  --api             also answer the inference API for line controllers: POST /v1/inspect',
    '                    (body: the image) and GET /v1/health, with the key that',
    '                    "bgad api-key" prints (Authorization: Bearer <key>)',
    `  --api-max-mb N    largest image /v1/inspect accepts, in MiB (default ${DEFAULT_API_MAX_MB}, at most ${API_MAX_MB_LIMIT})`,
    '  --host ADDR       also listen on this network interface (e.g. 192.168.1.20, or 0.0.0.0 for',
    '                    all), for /v1 only: the API key is then its only protection. The app',
    '                    itself stays on 127.0.0.1.',
    '',
    'Prints http://127.0.0.1:PORT/?token=... ; requests without that token are refused.',
    'Exit status 2 when the port is in use or not allowed, or the options do not fit.',
  ].join('\n'),
  options: {
    port: { type: 'string' },
    'data-dir': { type: 'string' },
    open: { type: 'boolean' },
    api: { type: 'boolean' },
    'api-max-mb': { type: 'string' },
    host: { type: 'string' },
  },
  async run({ values }, io) {
    const port = optNum(values.port, 'port', { min: 0, max: 65535, integer: true });
    const dataDir = typeof values['data-dir'] === 'string' ? values['data-dir'] : undefined;
    const api = values.api === true;
    const apiMaxMb = optNum(values['api-max-mb'], 'api-max-mb', { min: 1, max: API_MAX_MB_LIMIT });
    const host = typeof values.host === 'string' ? values.host.trim() : undefined;
    if (host !== undefined && host === '') throw new UsageError('--host needs an address, e.g. --host 192.168.1.20');
    if (host !== undefined && !api) throw new UsageError('--host makes the inference API reachable from the network: it needs --api (the app itself is served on 127.0.0.1 only)');
    try {
      return await runServe({ port, dataDir, open: values.open === true, api, apiMaxMb, host, appRoot: findAppRoot(dirname(fileURLToPath(import.meta.url))) });
    } catch (e) {
      const line = startErrorLine(e);
      if (!line) throw e;
      io.err(line);
      return 2;
    }
  },
};

export default serve;
