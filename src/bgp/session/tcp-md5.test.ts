import { describe, expect, it } from 'vitest';
import type { SessionSocket } from './socket.js';
import { tcpConnector } from './socket.js';
import { md5Connector, type TcpMd5 } from './tcp-md5.js';

/** The first error a socket reports, and that it closed after it. */
function outcome(s: SessionSocket): Promise<{ error: string; closed: boolean }> {
  return new Promise((resolve) => {
    let error = '';
    s.on('error', (e) => (error = e.message));
    s.on('close', () => resolve({ error, closed: true }));
  });
}

describe('md5Connector', () => {
  it('a socket that cannot be keyed fails like a refused connection, and nothing goes out unsigned', async () => {
    const noSocket: TcpMd5 = {
      socket: () => {
        throw new Error('EMFILE: too many open files');
      },
      setKey: () => undefined,
    };
    expect(await outcome(md5Connector(noSocket)({ host: '192.0.2.1', port: 179, password: 'pw' }))).toEqual({ error: 'EMFILE: too many open files', closed: true });
    expect(await outcome(tcpConnector({ host: '192.0.2.1', port: 179, password: 'pw' }))).toEqual({
      error: 'TCP-MD5 is not available to this connector: the BGP password cannot be used', closed: true,
    });
  });
});
