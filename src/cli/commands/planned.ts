import type { Command } from 'commander';
import { TabbyError } from '../../errors.js';

/**
 * Commands that the architecture promises and later work delivers. They appear in
 * `tabby --help` so the CLI's shape is visible, and say plainly that they are not here yet.
 * A name that a real command module already registered is skipped.
 */
const PLANNED: Array<{ name: string; summary: string; example: string }> = [
  { name: 'node', summary: 'BGP peer status of the local agent (node status)', example: 'tabby node status' },
  { name: 'lab', summary: 'a whole cluster of network namespaces on this machine', example: 'tabby lab up --nodes 3' },
  { name: 'agent', summary: 'run the node agent', example: 'tabby agent --node-name node1' },
  { name: 'install-cni', summary: 'install the CNI plugin and conflist for a container runtime', example: 'tabby install-cni' },
  { name: 'bpf', summary: 'dump the BPF dataplane state (routes, conntrack, counters, interfaces)', example: 'tabby bpf routes dump' },
];

export function plannedCommands(program: Command, taken: ReadonlySet<string>): void {
  for (const p of PLANNED) {
    if (taken.has(p.name)) continue;
    program
      .command(p.name)
      .description(`${p.summary} (not yet available)`)
      .allowUnknownOption(true)
      .allowExcessArguments(true)
      .addHelpText('after', `\nExample:\n  ${p.example}\n`)
      .action(() => {
        throw new TabbyError('NOT_IMPLEMENTED', `'tabby ${p.name}' is not available in tabby yet; see the README for what works today`);
      });
  }
}
