import { Option, type Command } from 'commander';
import { ResourceClient } from '../../client/resources.js';
import { ResourceConflictError } from '../../client/errors.js';
import { allKinds, kindInfo, toJSON, toYAML, type Resource } from '../../resources/index.js';
import { TabbyError } from '../../errors.js';
import { columnsFor } from '../columns.js';
import { addDatastoreOptions, withDatastore } from '../datastore-options.js';
import { renderTable } from '../table.js';

export function getCommand(program: Command): void {
  const kinds = allKinds().map((k) => k.shortNames[0] ?? k.kind.toLowerCase());
  const cmd = program
    .command('get <kind> [name]')
    .description('show resources as a table, YAML or JSON')
    .option('-n, --namespace <ns>', 'namespace, for namespaced kinds', 'default')
    .option('-A, --all-namespaces', 'every namespace, for namespaced kinds')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'wide', 'yaml', 'json']).default('table'))
    .addHelpText('after', `\nKinds: ${kinds.join(', ')}\n\nExamples:\n  tabby get ippool -o wide\n  tabby get wep -A\n  tabby get networkpolicy allow-dns -n kube-system -o yaml\n`);
  addDatastoreOptions(cmd);
  cmd.action(async (kind: string, name: string | undefined, _opts: unknown, self: Command) => {
    const o = self.opts<{ namespace: string; allNamespaces?: boolean; output: string }>();
    const info = kindInfo(kind);
    if (o.allNamespaces && name) throw new TabbyError('USAGE', 'a name and --all-namespaces do not go together');
    const namespace = info.namespaced && !o.allNamespaces ? o.namespace : undefined;
    const resources = await withDatastore(self, async ({ backend, keys }) => {
      const client = new ResourceClient(backend, keys);
      if (!name) return client.list(info, namespace);
      const one = await client.get(info, name, namespace);
      if (!one) throw new ResourceConflictError('NOT_FOUND', `${info.kind} ${info.namespaced ? `${namespace}/` : ''}${name} does not exist`);
      return [one];
    });
    process.stdout.write(render(info.kind, resources, o.output, name !== undefined));
  });
}

function render(kind: string, resources: Resource[], output: string, single: boolean): string {
  if (output === 'yaml') return toYAML(resources);
  if (output === 'json') return toJSON(single && resources[0] ? resources[0] : resources) + '\n';
  const cols = columnsFor(kind, output === 'wide');
  const sorted = [...resources].sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`));
  return renderTable(cols.headers, sorted.map((r) => cols.row(r)));
}
