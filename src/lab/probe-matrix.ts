/**
 * The connectivity matrix of `tabby lab probe`: rows are the probing pod, columns the
 * probed one; a cell is ✓ only when both the TCP and the UDP echo came back (or shows
 * which one failed). Pure, so its rendering is unit-tested.
 */

/** One target as reported by a prober (probe-agent.ts prints a list of these). */
export interface ProbeTargetResult {
  target: string;
  ip: string;
  tcp: boolean;
  udp: boolean;
  tcpError?: string;
  udpError?: string;
}

export interface ProbePod {
  name: string;
  node: string;
  ip: string;
}

export interface ProbeCell extends ProbeTargetResult {
  from: string;
}

/** Which protocols decide whether a pair counts as connected (both unless --tcp or --udp). */
export interface ProbeJudge {
  tcp: boolean;
  udp: boolean;
}

export interface ProbeMatrix {
  port: number;
  judge: ProbeJudge;
  pods: ProbePod[];
  cells: ProbeCell[];
  pairs: number;
  tcpConnected: number;
  udpConnected: number;
  ok: boolean;
}

export function buildMatrix(port: number, pods: ProbePod[], byFrom: Map<string, ProbeTargetResult[]>, judge: ProbeJudge = { tcp: true, udp: true }): ProbeMatrix {
  const cells: ProbeCell[] = [];
  for (const from of pods) {
    const results = byFrom.get(from.name) ?? [];
    for (const to of pods) {
      if (to.name === from.name) continue;
      const r = results.find((x) => x.target === to.name);
      cells.push(r ? { from: from.name, ...r } : { from: from.name, target: to.name, ip: to.ip, tcp: false, udp: false, tcpError: 'not probed', udpError: 'not probed' });
    }
  }
  const tcpConnected = cells.filter((c) => c.tcp).length;
  const udpConnected = cells.filter((c) => c.udp).length;
  const ok = (!judge.tcp || tcpConnected === cells.length) && (!judge.udp || udpConnected === cells.length);
  return { port, judge, pods, cells, pairs: cells.length, tcpConnected, udpConnected, ok };
}

function cellText(c: ProbeCell | undefined, ascii: boolean, judge: ProbeJudge): string {
  if (!c) return ascii ? '-' : '·';
  if ((c.tcp || !judge.tcp) && (c.udp || !judge.udp)) return ascii ? 'ok' : '✓';
  if (!c.tcp && !c.udp) return ascii ? 'FAIL' : '✗';
  if (!(judge.tcp && judge.udp)) return ascii ? 'FAIL' : '✗';
  return c.tcp ? (ascii ? 'FAIL(udp)' : '✗ udp') : ascii ? 'FAIL(tcp)' : '✗ tcp';
}

export function summaryLine(m: ProbeMatrix): string {
  return `${m.tcpConnected}/${m.pairs} pairs connected over TCP, ${m.udpConnected}/${m.pairs} over UDP`;
}

/** The table, a summary line, and one line per failed pair with the reason. */
export function renderMatrix(m: ProbeMatrix, opts: { ascii?: boolean } = {}): string {
  const ascii = opts.ascii ?? false;
  const names = m.pods.map((p) => p.name);
  const header = ['FROM \\ TO', ...names];
  const rows = m.pods.map((from) => [from.name, ...m.pods.map((to) => cellText(m.cells.find((c) => c.from === from.name && c.target === to.name), ascii, m.judge))]);
  // Width by code points so ✓/✗ align like one character.
  const width = (s: string) => [...s].length;
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) => cells.map((c, i) => c + ' '.repeat((widths[i] ?? 0) - width(c))).join('  ').trimEnd();
  const out = [line(header), ...rows.map(line), '', summaryLine(m)];
  for (const c of m.cells) {
    const tcpBad = m.judge.tcp && !c.tcp;
    const udpBad = m.judge.udp && !c.udp;
    if (!tcpBad && !udpBad) continue;
    const why = [tcpBad ? `tcp: ${c.tcpError ?? 'failed'}` : '', udpBad ? `udp: ${c.udpError ?? 'failed'}` : ''].filter(Boolean).join('; ');
    out.push(`  ${c.from} -> ${c.target} (${c.ip}): ${why}`);
  }
  return out.join('\n') + '\n';
}
