/**
 * One POST with two deadlines: the TCP connection must be made within `connectTimeoutMs` (a host that
 * drops packets), and the whole exchange, answer included, must end within `timeoutMs` (a server that
 * accepts and then stalls). fetch has neither without a dispatcher package, hence node:http.
 */
import * as http from 'node:http';
import * as https from 'node:https';

export interface PostDeadlines {
  connectTimeoutMs: number;
  timeoutMs: number;
  /** Largest answer read; a longer one is an error. */
  maxResponseBytes: number;
}

export interface PostAnswer {
  status: number;
  body: Buffer;
}

/** The deadline that passed: `phase` says which one. */
export class PostTimeout extends Error {
  constructor(
    readonly phase: 'connect' | 'response',
    readonly ms: number,
  ) {
    super(phase === 'connect' ? `no connection within ${ms} ms` : `no complete answer within ${ms} ms`);
    this.name = 'PostTimeout';
  }
}

export function postBytes(url: URL, body: Buffer, headers: Record<string, string>, deadlines: PostDeadlines): Promise<PostAnswer> {
  return new Promise<PostAnswer>((resolve, reject) => {
    const transport = url.protocol === 'https:' ? https : http;
    const request = transport.request(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } });
    const settle = (error: Error | null, answer?: PostAnswer) => {
      clearTimeout(connectTimer);
      clearTimeout(wholeTimer);
      if (error) {
        request.destroy();
        reject(error);
      } else resolve(answer!);
    };
    const connectTimer = setTimeout(() => settle(new PostTimeout('connect', deadlines.connectTimeoutMs)), deadlines.connectTimeoutMs);
    const wholeTimer = setTimeout(() => settle(new PostTimeout('response', deadlines.timeoutMs)), deadlines.timeoutMs);
    request.on('socket', (socket) => {
      // A kept-alive socket is connected already.
      if (!socket.connecting) clearTimeout(connectTimer);
      else socket.once('connect', () => clearTimeout(connectTimer));
    });
    request.on('error', (error) => settle(error));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > deadlines.maxResponseBytes) settle(new Error(`answer larger than ${deadlines.maxResponseBytes} bytes`));
        else chunks.push(chunk);
      });
      response.on('end', () => settle(null, { status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      response.on('error', (error) => settle(error));
    });
    request.end(body);
  });
}
