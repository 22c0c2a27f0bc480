// `npm start`: launch the desktop app (Electron), building first when needed.
// Where Electron's binary was never downloaded (an offline `npm ci`), explain that in one
// paragraph and point to browser mode instead; exit code 1, no stack trace.
// Never calls require('electron'): on a machine without the binary that would try to download it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const electronPkg = join(root, 'node_modules', 'electron');

/** The Electron executable, or null when it is not installed. Mirrors electron/index.js. */
function findElectron() {
  if (!existsSync(join(electronPkg, 'package.json'))) return null;
  const pathFile = join(electronPkg, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : '';
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) {
    const exe = join(override, relative || (process.platform === 'win32' ? 'electron.exe' : 'electron'));
    return existsSync(exe) ? exe : null;
  }
  if (!relative) return null;
  const exe = join(electronPkg, 'dist', relative);
  return existsSync(exe) ? exe : null;
}

function electronVersion() {
  try {
    return JSON.parse(readFileSync(join(electronPkg, 'package.json'), 'utf8')).version;
  } catch {
    return 'the version in package.json';
  }
}

const electron = findElectron();
if (!electron) {
  const paragraph = [
    `BGAD Inspector cannot open its desktop window: the Electron runtime (Electron ${electronVersion()}) is not installed on this machine.`,
    'npm installs the Electron package but downloads its program separately, and that download needs the internet, so an offline',
    '"npm ci" leaves it out. To get it, run "npx install-electron" in this folder on a machine with internet access (set',
    'ELECTRON_MIRROR to use a local mirror), or copy node_modules/electron/dist and node_modules/electron/path.txt from a',
    'networked machine with the same operating system; installers built with "npx electron-builder" on a networked machine',
    'need nothing else. Meanwhile the same app runs in your browser: "npm run serve" starts it on 127.0.0.1 and prints the',
    'address (with its access token) to open.',
  ].join(' ');
  process.stderr.write(paragraph + '\n');
  process.exit(1);
}

// Build when the app or the renderer is missing or older than the sources (BGAD_SKIP_BUILD=1 skips).
function newest(dir) {
  let t = 0;
  const stack = existsSync(dir) ? [dir] : [];
  while (stack.length) {
    const d = stack.pop();
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else t = Math.max(t, statSync(p).mtimeMs);
    }
  }
  return t;
}

const outputs = ['dist/app/main.cjs', 'dist/preload/preload.cjs', 'dist/app/engine-process.cjs', 'dist/renderer/index.html'].map((p) => join(root, p));
const builtAt = Math.min(...outputs.map((p) => (existsSync(p) ? statSync(p).mtimeMs : 0)));
if (process.env.BGAD_SKIP_BUILD !== '1' && (builtAt === 0 || builtAt < Math.max(newest(join(root, 'src-main')), newest(join(root, 'src-renderer'))))) {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write('npm start: the build failed (see above); fix it and run "npm start" again.\n');
    process.exit(r.status ?? 1);
  }
}

const env = { ...process.env };
delete env.ELECTRON_RUN_AS_NODE; // would make Electron behave as plain Node
const child = spawn(electron, [root, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('error', (e) => {
  process.stderr.write(`npm start: could not launch Electron at ${electron}: ${e.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
