import type { CommandModule } from '../program.js';

/** Every command module the `tabby` CLI has, in the order `--help` lists them. */
export const COMMANDS: CommandModule[] = [];
