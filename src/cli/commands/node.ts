import { Option, type Command } from 'commander';
import { fetchBgpStatus, formatNodeStatus, parseHttpAddress, type StatusTarget } from '../../bgp/speaker/status-client.js';

/** The agent's default --http-listen address (see docs/design/agent.md). */
const DEFAULT_HTTP = '127.0.0.1:9099';

/** `tabby node status`: the local agent's BGP peers, in calicoctl's format. */
export function nodeCommand(program: Command): void {
  const node = program
    .command('node')
    .description('the local node: BGP peer status of its agent')
    .addHelpText('after', '\nExamples:\n  tabby node status\n  tabby node status -o json\n  tabby node status --http 127.0.0.1:9099\n');
  node
    .command('status')
    .description("BGP peers of the local agent's speaker (asks the agent's GET /bgp/status)")
    .option('--socket <path>', "the agent's HTTP server on a unix socket")
    .option('--http <host:port>', `the agent's --http-listen address (default: $TABBY_HTTP_LISTEN or ${DEFAULT_HTTP})`)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .addHelpText('after', '\nExample:\n  tabby node status\n')
    .action(async (o: { socket?: string; http?: string; output: string }) => {
      const target: StatusTarget = o.socket ? { socketPath: o.socket } : parseHttpAddress(o.http ?? process.env.TABBY_HTTP_LISTEN ?? DEFAULT_HTTP);
      const status = await fetchBgpStatus(target);
      process.stdout.write(o.output === 'json' ? `${JSON.stringify(status, null, 2)}\n` : formatNodeStatus(status, new Date()));
    });
}
