#!/usr/bin/env node
/** The `bgad` command line: a composition root (nothing imports it). */
import { isAppError } from '../common/errors';
import { parseCommandArgs, UsageError, type CliIO, type Command } from './command';
import { loadCommands } from './commands/index';
import { consoleLine } from './terminal-text';

// every line passes consoleLine: no file name can smuggle terminal escape sequences out
const io: CliIO = {
  out: (l) => process.stdout.write(consoleLine(l) + '\n'),
  err: (l) => process.stderr.write(consoleLine(l) + '\n'),
  progress: (l) => {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K' + consoleLine(l));
    else process.stderr.write(consoleLine(l) + '\n');
  },
  interactive: process.stderr.isTTY === true,
};

function mainHelp(cmds: Command[]): string {
  const w = Math.max(...cmds.map((c) => c.name.length), 4);
  return [
    'bgad — BGAD Inspector command line (offline anomaly inspection)',
    '',
    'Usage: bgad <command> [options]      bgad <command> --help for its options',
    '',
    'Commands:',
    ...cmds.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'Global: --data-dir DIR (or BGAD_DATA_DIR) chooses the data folder where commands use one.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const cmds = await loadCommands();
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainHelp(cmds));
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    io.out(process.env.BGAD_VERSION ?? '0.1.0');
    return 0;
  }
  const cmd = cmds.find((c) => c.name === name);
  if (!cmd) {
    io.err(`bgad: unknown command "${name}". Run "bgad --help" to list the commands.`);
    return 2;
  }
  try {
    const args = parseCommandArgs(cmd, rest);
    if (args.values.help) {
      io.out(`${cmd.summary}\n\n${cmd.usage}`);
      return 0;
    }
    return await cmd.run(args as never, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`bgad ${cmd.name}: ${e.message}\n\n${cmd.usage}`);
      return 2;
    }
    if (isAppError(e)) {
      io.err(`bgad ${cmd.name}: ${e.describe()}`);
      return e.code === 'BAD_ARGUMENT' || e.code === 'BAD_MODEL' ? 2 : 1;
    }
    io.err(`bgad ${cmd.name}: internal error: ${(e as Error).stack ?? String(e)}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => { console.error(e); process.exitCode = 1; },
);
