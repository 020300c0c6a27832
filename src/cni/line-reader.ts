import type { Socket } from 'node:net';

/** Why reading a line stopped short. */
export class LineReadError extends Error {
  constructor(readonly reason: 'closed' | 'too-large' | 'socket', message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Resolves with the first "\n"-terminated line from `socket` (without the newline), or
 * with the unterminated remainder when the peer ends its side after writing a complete
 * message. Rejects when the peer closes first, sends more than `maxBytes`, or errors.
 */
export function readLine(socket: Socket, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err: LineReadError | undefined, line?: string): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(line ?? '');
    };
    const onData = (chunk: Buffer): void => {
      const nl = chunk.indexOf(0x0a);
      if (nl >= 0) {
        chunks.push(chunk.subarray(0, nl));
        size += nl;
        if (size > maxBytes) return finish(new LineReadError('too-large', `message larger than ${maxBytes} bytes`));
        return finish(undefined, Buffer.concat(chunks).toString('utf8'));
      }
      chunks.push(chunk);
      size += chunk.length;
      if (size > maxBytes) finish(new LineReadError('too-large', `message larger than ${maxBytes} bytes`));
    };
    const onEnd = (): void => {
      if (size > 0) finish(undefined, Buffer.concat(chunks).toString('utf8'));
      else finish(new LineReadError('closed', 'the peer closed the connection without sending anything'));
    };
    const onError = (e: Error): void => finish(new LineReadError('socket', e.message, { cause: e }));
    const onClose = (): void => finish(new LineReadError('closed', 'the connection closed before a complete message arrived'));
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}
