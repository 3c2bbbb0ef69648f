/**
 * The ceiling for bench/tasks-delivery.ts: the same pipeline shape as Jobdeck's (an HTTP POST in, a WebSocket
 * frame out to the owner's listeners, `{}` back to the poster) with nothing else: no auth, no validation, no
 * database, no batching. Run as its own process, like the real server. Prints `listening <port>` when ready.
 *
 * POST / with `{owner, update}` sends `{"type":"message","streamId":"0","payload":update}` to every socket
 * that subscribed to `owner`. A socket subscribes by sending `{"owner": "..."}` and gets `{"type":"ready"}`.
 */
import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

const listeners = new Map<string, Set<WebSocket>>();

const server = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const { owner, update } = JSON.parse(body) as { owner: string; update: unknown };
    const text = `{"type":"message","streamId":"0","payload":${JSON.stringify(update)}}`;
    for (const ws of listeners.get(owner) ?? []) ws.send(text);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

// Fastify's default keep-alive (72 s), so pooled client connections are not reset mid-run (Node's default is 5 s).
server.keepAliveTimeout = 72_000;

const wss = new WebSocketServer({ server });
wss.on('connection', (ws) => {
  ws.once('message', (data) => {
    const { owner } = JSON.parse(String(data)) as { owner: string };
    const set = listeners.get(owner) ?? new Set();
    set.add(ws);
    listeners.set(owner, set);
    ws.on('close', () => set.delete(ws));
    ws.send('{"type":"ready"}');
  });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
});
process.on('SIGTERM', () => process.exit(0));
