#!/usr/bin/env node
/**
 * The small program the lab runs inside pods to judge connectivity with real packets.
 *
 *   serve --port P                      TCP echo and UDP echo on P; prints "ready"; exits when stdin closes
 *   probe --port P --timeout-ms T --targets name=ip,...   one TCP and one UDP echo per target; prints JSON
 *   sink --port P                       accepts one TCP stream, prints {"bytes": n} when it ends
 *   send --to ip:port --mbps R --min-bytes N   streams until stdin closes and N bytes went out; prints {"bytes": n}
 *
 * It uses only node: built-ins so it starts fast and runs from dist/ or source alike.
 */
import { createSocket } from 'node:dgram';
import { connect, createServer, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { ProbeTargetResult } from './probe-matrix.js';


function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

function serve(port: number): void {
  const tcp = createServer((s) => {
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  const udp = createSocket('udp4');
  udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
  let listening = 0;
  const up = () => {
    if (++listening === 2) process.stdout.write('ready\n');
  };
  tcp.listen(port, '0.0.0.0', up);
  udp.bind(port, '0.0.0.0', up);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
}

function tcpEcho(ip: string, port: number, timeoutMs: number): Promise<string | undefined> {
  const nonce = `tabby-probe ${randomBytes(8).toString('hex')}\n`;
  return new Promise((resolve) => {
    let got = '';
    const s: Socket = connect({ host: ip, port });
    const done = (err?: string) => {
      clearTimeout(timer);
      s.destroy();
      resolve(err);
    };
    const timer = setTimeout(() => done(`no echo within ${timeoutMs} ms`), timeoutMs);
    s.on('connect', () => s.write(nonce));
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes(nonce)) done();
    });
    s.on('error', (e) => done(e.message));
  });
}

function udpEcho(ip: string, port: number, timeoutMs: number): Promise<string | undefined> {
  const nonce = Buffer.from(`tabby-probe ${randomBytes(8).toString('hex')}`);
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    // Datagrams may be lost while neighbours resolve: resend every 200 ms until the deadline.
    const send = () => s.send(nonce, port, ip, () => undefined);
    const retry = setInterval(send, 200);
    const done = (err?: string) => {
      clearTimeout(timer);
      clearInterval(retry);
      s.close();
      resolve(err);
    };
    const timer = setTimeout(() => done(`no echo within ${timeoutMs} ms`), timeoutMs);
    s.on('message', (m) => {
      if (m.equals(nonce)) done();
    });
    s.on('error', (e) => done(e.message));
    send();
  });
}

async function probe(port: number, timeoutMs: number, targets: string): Promise<void> {
  const list = targets
    .split(',')
    .filter(Boolean)
    .map((t) => {
      const [target, ip] = t.split('=');
      return { target: target ?? '', ip: ip ?? '' };
    });
  const results = await Promise.all(
    list.map(async ({ target, ip }): Promise<ProbeTargetResult> => {
      const [tcpError, udpError] = await Promise.all([tcpEcho(ip, port, timeoutMs), udpEcho(ip, port, timeoutMs)]);
      return { target, ip, tcp: tcpError === undefined, udp: udpError === undefined, ...(tcpError ? { tcpError } : {}), ...(udpError ? { udpError } : {}) };
    }),
  );
  process.stdout.write(JSON.stringify({ results }) + '\n');
}

function sink(port: number): void {
  const server = createServer((s) => {
    let bytes = 0;
    s.on('data', (d) => (bytes += d.length));
    s.on('end', () => {
      process.stdout.write(JSON.stringify({ bytes }) + '\n');
      s.end(() => process.exit(0));
    });
    s.on('error', (e) => {
      process.stdout.write(JSON.stringify({ bytes, error: e.message }) + '\n');
      process.exit(1);
    });
  });
  server.listen(port, '0.0.0.0', () => process.stdout.write('ready\n'));
}

/**
 * Streams to `to` at about `mbps` megabits per second until stdin closes and at least
 * `minBytes` went out, then ends the stream. Pacing keeps a long transfer running across
 * whatever the caller does meanwhile (agent restarts) without hogging the CPU.
 */
function send(to: string, mbps: number, minBytes: number): void {
  const [host, portText] = to.split(':');
  const s = connect({ host: host ?? '', port: Number(portText) });
  const tickMs = 10;
  const perTick = Math.max(1024, Math.floor((mbps * 1e6) / 8 / (1000 / tickMs)));
  const chunk = Buffer.alloc(perTick, 0x61);
  let sent = 0;
  let stdinClosed = false;
  let ended = false;
  process.stdin.resume();
  process.stdin.on('end', () => (stdinClosed = true));
  process.stdin.on('close', () => (stdinClosed = true));
  const timer = setInterval(() => {
    if (ended || s.writableNeedDrain) return;
    if (stdinClosed && sent >= minBytes) {
      ended = true;
      clearInterval(timer);
      s.end();
      return;
    }
    s.write(chunk);
    sent += chunk.length;
  }, tickMs);
  s.on('connect', () => process.stdout.write('sending\n'));
  // The sink closes only after it counted everything, so 'close' without error means delivered.
  s.on('close', (hadError) => {
    clearInterval(timer);
    process.stdout.write(JSON.stringify({ bytes: sent, ...(hadError || !ended ? { error: 'connection closed early' } : {}) }) + '\n');
    process.exit(hadError || !ended ? 1 : 0);
  });
  s.on('error', (e) => {
    clearInterval(timer);
    process.stdout.write(JSON.stringify({ bytes: sent, error: e.message }) + '\n');
    process.exit(1);
  });
}

const [mode, ...rest] = process.argv.slice(2);
const port = Number(flag(rest, 'port') ?? '7777');
switch (mode) {
  case 'serve':
    serve(port);
    break;
  case 'probe':
    await probe(port, Number(flag(rest, 'timeout-ms') ?? '3000'), flag(rest, 'targets') ?? '');
    break;
  case 'sink':
    sink(port);
    break;
  case 'send':
    send(flag(rest, 'to') ?? '', Number(flag(rest, 'mbps') ?? '200'), Number(flag(rest, 'min-bytes') ?? '0'));
    break;
  default:
    process.stderr.write('usage: probe-agent serve|probe|sink|send ...\n');
    process.exitCode = 2;
}
