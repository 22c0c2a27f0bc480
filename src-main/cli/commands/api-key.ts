import { UsageError, type Command } from '../command';
import { API_KEY_MODE, ensureApiKey, readApiKey, rotateApiKey } from '../../db/api-key';
import { resolveDataDir } from '../../db/paths';

const octal = (mode: number) => `0${mode.toString(8).padStart(3, '0')}`;

const command: Command = {
  name: 'api-key',
  summary: 'Print the key of the inference API (bgad serve --api), or make a new one with --rotate',
  usage: [
    'Usage: bgad api-key [--data-dir DIR] [--rotate] [--json]',
    '',
    '  --data-dir DIR  data folder (default: BGAD_DATA_DIR or the per-user app data folder)',
    '  --rotate        replace the key with a new one: the old key stops working at once,',
    '                  also in a running "bgad serve --api"',
    '  --json          print { "key", "file", "created", "rotated" }',
    '',
    'The key lives in the data folder (file "api-key", readable by its owner only). It is made',
    'the first time it is needed and kept until rotated. Line controllers send it as',
    '"Authorization: Bearer <key>" to /v1/inspect and /v1/health.',
  ].join('\n'),
  options: { 'data-dir': { type: 'string' }, rotate: { type: 'boolean' }, json: { type: 'boolean' } },
  async run({ values, positionals }, io) {
    if (positionals.length) throw new UsageError('bgad api-key takes no arguments');
    const dataDir = resolveDataDir({ dataDir: typeof values['data-dir'] === 'string' ? values['data-dir'] : undefined });
    const rotate = values.rotate === true;
    const old = rotate ? safeRead(dataDir) : null;
    const stored = rotate ? { ...rotateApiKey(dataDir), created: old === null } : ensureApiKey(dataDir);
    if (values.json === true) {
      io.out(JSON.stringify({ key: stored.key, file: stored.file, created: stored.created, rotated: rotate }, null, 2));
      return 0;
    }
    io.out(stored.key);
    if (rotate) io.err(old ? `A new API key is in ${stored.file}; the old key stops working now (a running "bgad serve --api" takes the new one at its next request). Give the new key to every line controller.` : `A new API key is in ${stored.file}.`);
    else if (stored.created) io.err(`A new API key was made and saved in ${stored.file} (readable by you only).`);
    if (process.platform !== 'win32' && (stored.mode & 0o077) !== 0) {
      io.err(`Note: ${stored.file} can be read by others (mode ${octal(stored.mode)}); make it ${octal(API_KEY_MODE)} (chmod 600) or rotate the key.`);
    }
    return 0;
  },
};

/** The old key, if there is a readable one (a damaged file is simply replaced by --rotate). */
function safeRead(dataDir: string): string | null {
  try {
    return readApiKey(dataDir)?.key ?? null;
  } catch {
    return null;
  }
}

export default command;
