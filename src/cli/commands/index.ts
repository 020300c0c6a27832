import type { CommandModule } from '../program.js';
import { agentCommand } from './agent.js';
import { bpfCommand } from './bpf.js';
import { getCommand } from './get.js';
import { installCniCommand } from './install-cni.js';
import { ipamCommand } from './ipam.js';
import { labCommand } from './lab.js';
import { nodeCommand } from './node.js';
import { writeCommands } from './write.js';

/** Every command module the `tabby` CLI has, in the order `--help` lists them. */
export const COMMANDS: CommandModule[] = [writeCommands, getCommand, ipamCommand, nodeCommand, labCommand, agentCommand, installCniCommand, bpfCommand];
