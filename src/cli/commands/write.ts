import type { Command } from 'commander';
import { ResourceClient, describe } from '../../client/resources.js';
import { assertValid, kindInfo, kindInfoOf, parseDocuments, type Resource } from '../../resources/index.js';
import { TabbyError } from '../../errors.js';
import { addDatastoreOptions, withDatastore } from '../datastore-options.js';
import { readInput } from '../read-input.js';

type WriteVerb = 'apply' | 'create' | 'replace' | 'delete';

const HELP: Record<WriteVerb, { summary: string; example: string }> = {
  apply: { summary: 'create or update the resources in a file', example: 'tabby apply -f pools.yaml' },
  create: { summary: 'create the resources in a file (fails for any that exist)', example: 'cat policy.yaml | tabby create -f -' },
  replace: { summary: 'replace existing resources with the ones in a file', example: 'tabby replace -f pool.yaml' },
  delete: { summary: 'delete the resources in a file, or one by kind and name', example: 'tabby delete -f pool.yaml\n  tabby delete ippool my-pool' },
};

/**
 * apply, create, replace and delete. Every document in the input is validated first; if any
 * is invalid nothing is written. Then each resource is written in file order with one result
 * line; the first failure stops the run, and the resources not attempted are named.
 */
export function writeCommands(program: Command): void {
  for (const verb of ['apply', 'create', 'replace', 'delete'] as const) {
    const cmd = program
      .command(verb === 'delete' ? 'delete [kind] [name]' : verb)
      .description(HELP[verb].summary)
      .addHelpText('after', `\nExample:\n  ${HELP[verb].example}\n`);
    if (verb === 'delete') {
      cmd.option('-f, --filename <file>', 'YAML or JSON file with one or more resources ("-" for stdin)');
      cmd.option('-n, --namespace <ns>', 'namespace, for namespaced kinds', 'default');
    } else cmd.requiredOption('-f, --filename <file>', 'YAML or JSON file with one or more resources ("-" for stdin)');
    addDatastoreOptions(cmd);
    cmd.action(async (...args: unknown[]) => {
      const self = args[args.length - 1] as Command;
      const opts = self.opts<{ filename?: string; namespace?: string }>();
      if (verb === 'delete' && !opts.filename) {
        const [kind, name] = args as [string | undefined, string | undefined];
        if (!kind || !name) throw new TabbyError('USAGE', 'delete needs -f FILE, or a kind and a name: tabby delete ippool my-pool');
        await deleteByName(self, kind, name, opts.namespace);
        return;
      }
      if (verb === 'delete' && args[0] !== undefined && typeof args[0] === 'string') {
        throw new TabbyError('USAGE', 'give either -f FILE or a kind and a name, not both');
      }
      const { text, source } = readInput(opts.filename as string);
      const resources = assertValid(parseDocuments(text, source));
      if (resources.length === 0) throw new TabbyError('USAGE', `${source} holds no resources`);
      await writeAll(self, verb, resources);
    });
  }
}

async function writeAll(cmd: Command, verb: WriteVerb, resources: Resource[]): Promise<void> {
  await withDatastore(cmd, async ({ backend, keys }) => {
    const client = new ResourceClient(backend, keys);
    for (const [i, r] of resources.entries()) {
      try {
        const result = await writeOne(client, verb, r);
        process.stdout.write(`${r.kind.toLowerCase()}/${qualifiedName(r)} ${result}\n`);
      } catch (err) {
        const rest = resources.slice(i + 1).map(describe);
        const tail = rest.length ? ` (not attempted: ${rest.join(', ')})` : '';
        throw new TabbyError((err as TabbyError).code ?? 'WRITE_FAILED', `${verb} ${describe(r)}: ${(err as Error).message}${tail}`, { cause: err });
      }
    }
  });
}

async function writeOne(client: ResourceClient, verb: WriteVerb, r: Resource): Promise<string> {
  switch (verb) {
    case 'apply':
      return (await client.apply(r)).outcome;
    case 'create':
      await client.create(r);
      return 'created';
    case 'replace':
      await client.replace(r);
      return 'replaced';
    case 'delete':
      await client.delete(kindInfoOf(r), r.metadata.name, r.metadata.namespace);
      return 'deleted';
  }
}

async function deleteByName(cmd: Command, kind: string, name: string, namespace?: string): Promise<void> {
  const info = kindInfo(kind);
  await withDatastore(cmd, async ({ backend, keys }) => {
    const gone = await new ResourceClient(backend, keys).delete(info, name, info.namespaced ? namespace : undefined);
    process.stdout.write(`${gone.kind.toLowerCase()}/${qualifiedName(gone)} deleted\n`);
  });
}

function qualifiedName(r: Resource): string {
  return r.metadata.namespace ? `${r.metadata.namespace}/${r.metadata.name}` : r.metadata.name;
}
