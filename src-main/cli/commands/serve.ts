import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { optNum, type Command } from '../command';
import { findAppRoot, runServe, startErrorLine } from '../../api-host/serve';

const serve: Command = {
  name: 'serve',
  summary: 'Run the app in your browser (127.0.0.1 only, with a per-start access token)',
  usage: [
    'Usage: bgad serve [--port N] [--data-dir DIR] [--open]',
    '',
    '  --port N        port on 127.0.0.1 (default: a free one)',
    '  --data-dir DIR  data folder (default: BGAD_DATA_DIR or the OS default)',
    '  --open          open the address in the default browser (through a private page, so',
    '                  the token is never on a command line)',
    '',
    'Prints http://127.0.0.1:PORT/?token=... ; requests without that token are refused.',
    'Exit status 2 when the port is in use or not allowed.',
  ].join('\n'),
  options: { port: { type: 'string' }, 'data-dir': { type: 'string' }, open: { type: 'boolean' } },
  async run({ values }, io) {
    const port = optNum(values.port, 'port', { min: 0, max: 65535, integer: true });
    const dataDir = typeof values['data-dir'] === 'string' ? values['data-dir'] : undefined;
    try {
      return await runServe({ port, dataDir, open: values.open === true, appRoot: findAppRoot(dirname(fileURLToPath(import.meta.url))) });
    } catch (e) {
      const line = startErrorLine(e);
      if (!line) throw e;
      io.err(line);
      return 2;
    }
  },
};

export default serve;
