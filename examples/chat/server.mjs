// The chat backend: the three handlers of AWS's simple-websockets-chat-app (onconnect,
// ondisconnect, sendmessage) as HTTP endpoints that wsgate's HTTP_PROXY integrations call, plus
// the page itself. No dependencies: node server.mjs [--port 3000] [--gateway http://127.0.0.1:8080/dev]
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '3000' },
    host: { type: 'string', default: '127.0.0.1' },
    // The @connections endpoint: http://{gateway}/{stage}. wsgate serves it on the same port as
    // the WebSockets; without management.credentials it takes unsigned calls from loopback.
    gateway: { type: 'string', default: process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080/dev' },
  },
});

// The connection table (a DynamoDB table in AWS's app): connection id -> display name.
const connections = new Map();

const files = {
  '/': [join(here, 'public', 'index.html'), 'text/html; charset=utf-8'],
  '/chat.js': [join(here, 'public', 'chat.js'), 'text/javascript; charset=utf-8'],
  '/client.js': [join(here, '..', '..', 'clients', 'js', 'src', 'client.js'), 'text/javascript; charset=utf-8'],
};

// postTo sends data to one connection through the management API (PostToConnection). A 410
// means the connection is gone: forget it, as the AWS app does.
async function postTo(id, data) {
  const res = await fetch(`${args.gateway}/@connections/${encodeURIComponent(id)}`, { method: 'POST', body: JSON.stringify(data) });
  if (res.status === 410) connections.delete(id);
  else if (!res.ok) console.error(`PostToConnection ${id}: ${res.status} ${await res.text()}`);
}

function broadcast(data, except) {
  return Promise.all([...connections.keys()].filter((id) => id !== except).map((id) => postTo(id, data)));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let b = '';
    req.on('data', (d) => { b += d; if (b.length > 1 << 20) req.destroy(); });
    req.on('end', () => resolve(b));
    req.on('error', reject);
  });
}

const handlers = {
  // $connect: a name is required (1 to 32 characters); refusing answers 400, and the gateway
  // refuses the handshake with that status.
  async connect(id, url) {
    const name = (url.searchParams.get('name') ?? '').trim();
    if (!name || name.length > 32) return [400, { message: 'give a name of 1 to 32 characters: ?name=...' }];
    connections.set(id, name);
    await broadcast({ type: 'joined', name, at: Date.now() }, id);
    return [200, {}];
  },
  async disconnect(id) {
    const name = connections.get(id);
    connections.delete(id);
    if (name) await broadcast({ type: 'left', name, at: Date.now() });
    return [200, {}];
  },
  async sendmessage(id, url, body) {
    let msg;
    try { msg = JSON.parse(body); } catch { return [400, { message: 'send JSON' }]; }
    const text = String(msg.data ?? '').slice(0, 2000);
    if (!text) return [200, {}];
    await broadcast({ type: 'message', from: connections.get(id) ?? '?', data: text, at: Date.now() });
    return [200, {}];
  },
  // A two-way route: the body returned is the route response, sent back on the socket.
  async whoonline(id, url, body) {
    let msg = {};
    try { msg = JSON.parse(body); } catch { /* answer anyway */ }
    return [200, { requestId: msg.requestId, type: 'online', names: [...new Set(connections.values())].sort() }];
  },
};

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  try {
    if (req.method === 'GET' && files[url.pathname]) {
      const [file, type] = files[url.pathname];
      res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(await readFile(file));
      return;
    }
    const h = req.method === 'POST' && handlers[url.pathname.slice(1)];
    if (!h) {
      res.writeHead(404).end();
      return;
    }
    const id = req.headers.connectionid;
    const [status, out] = await h(id, url, await readBody(req));
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(out));
  } catch (err) {
    console.error(err);
    res.writeHead(500).end();
  }
});
server.listen(Number(args.port), args.host, () => {
  console.log(`chat backend on http://${args.host}:${server.address().port}/ (gateway ${args.gateway})`);
});
