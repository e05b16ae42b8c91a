/**
 * The bare relay Parley is compared with in `npm run bench`: WebSocket only (`ws`), the device's
 * token in the URL, each binary frame forwarded to its target connection and acknowledged to the
 * sender, nothing stored, no limits, no encryption checks. It speaks the same frame format as
 * Parley (`u32 header length | header JSON | payload`) so one load generator drives both.
 *
 * Run as a process: `node --import tsx bench/src/relay.ts PORT`; prints `{"listening":PORT}`.
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.argv[2] ?? 0);
const conns = new Map<string, WebSocket>();
const http = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ status: 'ok', rssMb: process.memoryUsage().rss / 1048576 }));
});
const wss = new WebSocketServer({ server: http, perMessageDeflate: false, maxPayload: 1 << 20 });

wss.on('connection', (ws, req) => {
  const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? '';
  conns.set(token, ws);
  ws.on('close', () => {
    if (conns.get(token) === ws) conns.delete(token);
  });
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) return;
    const len = data.readUInt32BE(0);
    const header = JSON.parse(data.toString('utf8', 4, 4 + len)) as { id: number; to: string };
    const target = conns.get(header.to);
    if (target) {
      const event = Buffer.from(JSON.stringify({ event: 'deliver', body: { from: token } }));
      const out = Buffer.allocUnsafe(4 + event.length + data.length - 4 - len);
      out.writeUInt32BE(event.length, 0);
      event.copy(out, 4);
      data.copy(out, 4 + event.length, 4 + len);
      target.send(out);
    }
    ws.send(`{"id":${header.id},"status":200,"body":{}}`);
  });
});

http.listen(port, '127.0.0.1', () => {
  const addr = http.address();
  process.stdout.write(JSON.stringify({ listening: typeof addr === 'object' && addr ? addr.port : port }) + '\n');
});
