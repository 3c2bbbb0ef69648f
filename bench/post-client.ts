/**
 * A lean HTTP/1.1 load driver for benchmarks: keep-alive sockets, one request in flight per socket, every
 * request a real POST with its own JSON body and headers. Node's `http` client spends about 0.2 ms of CPU per
 * request on this machine; on two cores shared with the server and a browser, that is CPU taken from what
 * is measured. This one writes a preformatted request and reads only the status line and Content-Length.
 *
 * It understands what Fastify answers (Content-Length bodies, keep-alive), nothing more: not chunked
 * bodies, not redirects. A socket the server closes is replaced; its request fails.
 */
import net from 'node:net';

interface Request {
  head: string;
  body: Buffer;
  resolve: (status: number) => void;
  reject: (error: Error) => void;
}

const HEADER_END = Buffer.from('\r\n\r\n');

class Connection {
  private socket!: net.Socket;
  private closing = false;
  private current: Request | null = null;
  private received: Buffer = Buffer.alloc(0);

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly done: (conn: Connection) => void,
  ) {
    this.connect();
  }

  private connect() {
    this.socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    this.socket.on('data', (chunk) => this.onData(chunk));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      const failed = this.current;
      this.current = null;
      this.received = Buffer.alloc(0);
      if (this.closing) return;
      this.connect();
      if (failed) {
        failed.reject(new Error('the server closed the connection'));
        // It was busy, so it is in no idle list: hand it back.
        this.done(this);
      }
    });
  }

  send(request: Request) {
    this.current = request;
    this.socket.write(request.head);
    this.socket.write(request.body);
  }

  close() {
    this.closing = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer) {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    const end = this.received.indexOf(HEADER_END);
    if (end < 0) return;
    const head = this.received.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.received.length < end + 4 + length) return;
    const status = Number(head.slice(9, 12));
    this.received = Buffer.alloc(0);
    const request = this.current;
    this.current = null;
    request?.resolve(status);
    this.done(this);
  }
}

export class PostClient {
  private readonly idle: Connection[] = [];
  private readonly all: Connection[] = [];
  private readonly waiting: Request[] = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly headers: Record<string, string>,
    connections: number,
  ) {
    for (let i = 0; i < connections; i++) {
      const conn = new Connection(host, port, (c) => this.next(c));
      this.all.push(conn);
      this.idle.push(conn);
    }
  }

  /** POSTs a JSON body; resolves with the status code once the whole answer arrived. */
  post(path: string, json: string): Promise<number> {
    const body = Buffer.from(json);
    const headerLines = Object.entries(this.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    const head = `POST ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n${headerLines}\r\n`;
    return new Promise((resolve, reject) => {
      const request = { head, body, resolve, reject };
      const conn = this.idle.pop();
      if (conn) conn.send(request);
      else this.waiting.push(request);
    });
  }

  close() {
    for (const conn of this.all) conn.close();
  }

  private next(conn: Connection) {
    const request = this.waiting.shift();
    if (request) conn.send(request);
    else this.idle.push(conn);
  }
}
