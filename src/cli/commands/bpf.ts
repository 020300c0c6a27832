import { hostname } from 'node:os';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';

import { Option, type Command } from 'commander';

import { TabbyError } from '../../errors.js';
import { conntrackRows, routeRows } from '../../dataplane/bpf/inspect.js';
import { monotonicNs } from '../../dataplane/bpf/conntrack-gc.js';
import { pinDirFor } from '../../dataplane/bpf/pin-dir.js';
import { readVerdicts } from '../../dataplane/bpf/verdict-counters.js';
import { BpfMap, Interfaces, NativeError, Tc } from '../../native/index.js';
import { renderTable } from '../table.js';

interface Common {
  pinDir?: string;
  node?: string;
  output: 'table' | 'json';
}

/** `tabby bpf ...`: read a node's pinned dataplane maps and tc hooks (debugging, no agent needed). */
export function bpfCommand(program: Command): void {
  const bpf = program
    .command('bpf')
    .description("inspect this node's BPF dataplane: routes, conntrack, counters, attached programs")
    .addHelpText('after', '\nExamples:\n  tabby bpf routes dump\n  tabby bpf conntrack dump --node node1 -o json\n  tabby bpf counters\n  tabby bpf ifaces\n');

  const withCommon = (c: Command): Command =>
    c
      .option('--pin-dir <dir>', 'pin directory of the maps (default /sys/fs/bpf/tabby/<node>)')
      .option('--node <name>', 'node whose maps to read (default: this host name)')
      .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'));

  const routes = bpf.command('routes').description('the routes map');
  withCommon(routes.command('dump').description('every route the dataplane knows (prefix -> where it goes)')).action((_o: unknown, self: Command) => {
    const o = self.opts<Common>();
    const rows = withMap(o, 'routes', (m) => routeRows(m.entries()));
    if (o.output === 'json') return print(JSON.stringify(rows, null, 2) + '\n');
    const ifs = new Interfaces();
    print(
      renderTable(
        ['destination', 'type', 'via', 'encap'],
        rows.map((r) => [r.dst, r.type + (r.thisNode ? ' (this node)' : ''), r.ifindex !== undefined ? `${ifaceName(ifs, r.ifindex)} (${r.ifindex})` : (r.nextHop ?? ''), r.ipip ? 'ipip' : '']),
      ),
    );
  });

  const ct = bpf.command('conntrack').description('the conntrack map');
  withCommon(ct.command('dump').description('every tracked flow with its state')).action((_o: unknown, self: Command) => {
    const o = self.opts<Common>();
    const rows = withMap(o, 'ct', (m) => conntrackRows(m.entries(), monotonicNs()));
    if (o.output === 'json') return print(JSON.stringify(rows, null, 2) + '\n');
    print(renderTable(['proto', 'from', 'to', 'state', 'age', 'idle', 'packets'], rows.map((r) => [r.proto, r.initiator, r.responder, r.state, `${r.ageSeconds.toFixed(1)}s`, `${r.idleSeconds.toFixed(1)}s`, r.packets])));
  });

  withCommon(bpf.command('counters').description('packets and bytes per outcome and drop reason (summed over CPUs)'))
    .option('-a, --all', 'also list outcomes that never happened')
    .action((_o: unknown, self: Command) => {
      const o = self.opts<Common & { all?: boolean }>();
      const counts = withMap(o, 'verdicts', (m) => readVerdicts(m));
      if (o.output === 'json') {
        return print(JSON.stringify(Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, { packets: Number(v.packets), bytes: Number(v.bytes) }])), null, 2) + '\n');
      }
      const rows = Object.entries(counts).filter(([, v]) => o.all || v.packets > 0n);
      print(renderTable(['verdict', 'packets', 'bytes'], rows.map(([k, v]) => [k, String(v.packets), String(v.bytes)])));
    });

  bpf
    .command('ifaces')
    .description('interfaces of this namespace with tabby programs on their tc hooks')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action((_o: unknown, self: Command) => {
      const o = self.opts<{ output: string }>();
      const rows = attachedPrograms();
      if (o.output === 'json') return print(JSON.stringify(rows, null, 2) + '\n');
      print(renderTable(['interface', 'ifindex', 'hook', 'program', 'prog id', 'handle', 'priority'], rows.map((r) => [r.iface, String(r.ifindex), r.hook, r.program ?? '?', String(r.progId), `0x${r.handle.toString(16)}`, String(r.priority)])));
    });

}

function print(s: string): void {
  process.stdout.write(s);
}

function pinDirOf(o: Common): string {
  if (o.pinDir && o.node) throw new TabbyError('USAGE', '--pin-dir and --node do not go together');
  return o.pinDir ?? pinDirFor(o.node ?? hostname());
}

function withMap<T>(o: Common, name: string, f: (m: BpfMap) => T): T {
  const path = join(pinDirOf(o), name);
  let map: BpfMap;
  try {
    map = BpfMap.openPinned(path);
  } catch (err) {
    if (err instanceof NativeError && err.code === 'ENOENT') {
      throw new TabbyError('NOT_FOUND', `no pinned map at ${path}: is the agent running in bpf mode on this node? (choose another with --node or --pin-dir)`);
    }
    throw err;
  }
  try {
    return f(map);
  } finally {
    map.close();
  }
}

function ifaceName(ifs: Interfaces, ifindex: number): string {
  try {
    return ifs.name(ifindex);
  } catch {
    return '(gone)';
  }
}

const OUR_PROGRAMS = new Set(['from_workload', 'to_workload', 'from_uplink', 'to_uplink']);

interface AttachedRow {
  iface: string;
  ifindex: number;
  hook: 'ingress' | 'egress';
  program: string | null;
  progId: number;
  handle: number;
  priority: number;
}

function attachedPrograms(): AttachedRow[] {
  const tc = new Tc();
  const ifs = new Interfaces();
  const rows: AttachedRow[] = [];
  for (const iface of readdirSync('/sys/class/net').sort()) {
    let ifindex: number;
    try {
      ifindex = ifs.index(iface);
    } catch {
      continue;
    }
    for (const hook of ['ingress', 'egress'] as const) {
      let filters;
      try {
        filters = tc.list({ ifindex, direction: hook });
      } catch {
        continue; // no clsact qdisc: nothing attached
      }
      for (const f of filters) {
        if (f.name !== null && !OUR_PROGRAMS.has(f.name)) continue;
        rows.push({ iface, ifindex, hook, program: f.name, progId: f.progId, handle: f.handle, priority: f.priority });
      }
    }
  }
  return rows;
}
