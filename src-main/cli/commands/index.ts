import type { Command } from '../command';

/**
 * The registry of `bgad` subcommands. Each command is one file in this folder; add one
 * import and one entry per command (keep the list alphabetical).
 */
export async function loadCommands(): Promise<Command[]> {
  const mods = await Promise.all([
    import('./api-key'),
    import('./backbones'),
    import('./bench'),
    import('./eval'),
    import('./export'),
    import('./inspect'),
    import('./train'),
    import('./watch'),
    import('./datasets'),
    import('./db'),
    import('./import'),
    import('./serve'),
    import('./synth'),
  ]);
  return mods.map((m) => m.default).sort((a, b) => a.name.localeCompare(b.name));
}
