import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { DEFAULT_AGENT_SOCKET } from '../../cni/netconf.js';
import { DEFAULT_BIN_DIR, DEFAULT_CONF_DIR, DEFAULT_NETWORK_NAME, installCni } from '../../agent/install-cni.js';

/** The plugin entry beside this CLI: dist/cni/main.js when built, src/cni/main.ts in a checkout run with tsx. */
function defaultPluginEntry(): { entry: string; tsLoader?: string } {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.ts')) {
    return { entry: fileURLToPath(new URL('../../cni/main.ts', import.meta.url)), tsLoader: fileURLToPath(import.meta.resolve('tsx')) };
  }
  return { entry: fileURLToPath(new URL('../../cni/main.js', import.meta.url)) };
}

export function installCniCommand(program: Command): void {
  program
    .command('install-cni')
    .description('install the tabby-cni plugin launcher and its CNI conflist for a container runtime')
    .option('--bin-dir <dir>', 'where the runtime looks for plugin executables', DEFAULT_BIN_DIR)
    .option('--conf-dir <dir>', 'where the runtime looks for network configurations', DEFAULT_CONF_DIR)
    .option('--cni-socket <path>', "the agent's CNI socket", DEFAULT_AGENT_SOCKET)
    .option('--network-name <name>', 'the network name in the conflist', DEFAULT_NETWORK_NAME)
    .option('--plugin-entry <path>', 'absolute path of the plugin program (default: the one of this tabby)')
    .option('--dry-run', 'print what would be written, write nothing')
    .addHelpText('after', '\nExamples:\n  tabby install-cni\n  tabby install-cni --bin-dir /tmp/cni/bin --conf-dir /tmp/cni/net.d --cni-socket /run/tabby/node1/cni.sock --dry-run\n')
    .action(async (o: { binDir: string; confDir: string; cniSocket: string; networkName: string; pluginEntry?: string; dryRun?: boolean }) => {
      const found = defaultPluginEntry();
      const entry = o.pluginEntry ?? found.entry;
      const files = await installCni({
        binDir: o.binDir,
        confDir: o.confDir,
        cniSocket: o.cniSocket,
        networkName: o.networkName,
        pluginEntry: entry,
        nodeBinary: process.execPath,
        ...(found.tsLoader ? { tsLoader: found.tsLoader } : {}),
        ...(o.dryRun ? { dryRun: true } : {}),
      });
      for (const f of files) {
        if (o.dryRun) process.stdout.write(`# ${f.path} (mode ${f.mode.toString(8)}, would ${f.action})\n${f.content}\n`);
        else process.stdout.write(`${f.action === 'unchanged' ? 'unchanged' : f.action === 'create' ? 'created' : 'updated'} ${f.path}\n`);
      }
    });
}
