// WsgateClient against a real wsgate built from this repository (go build in the test).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { WsgateClient, WsgateError } from '../src/client.js';
import { nodeHandshakeProbe } from '../src/node-probe.js';
import { startGateway, startRecorder, waitFor, freePort } from './gateway.mjs';

const fast = { backoff: [50, 100, 200], jitter: 0.2 };
const cleanups = [];
after(async () => { for (const f of cleanups.reverse()) await f(); });

function events(client) {
  const seen = { open: [], close: [], message: [], error: [] };
  for (const t of Object.keys(seen)) client.on(t, (e) => seen[t].push(e));
  return seen;
}

test('reconnects after a gateway restart and delivers queued sends once, in order', async () => {
  const rec = await startRecorder();
  cleanups.push(rec.close);
  const yaml = `stage: dev
routeSelectionExpression: $request.body.action
routes:
  $default: { integration: rec }
integrations:
  rec: { type: HTTP_PROXY, uri: ${rec.url}/message }
`;
  let gw = await startGateway(yaml);
  const port = gw.port;
  cleanups.push(() => gw.stop());
  const client = new WsgateClient({ url: gw.url, ...fast });
  cleanups.push(() => client.close());
  const seen = events(client);
  await client.whenOpen();
  client.send({ n: 0 });
  await waitFor('message 0 at the backend', () => rec.bodies.length === 1);

  await gw.stop();
  await waitFor('the close event', () => seen.close.length >= 1);
  const first = seen.close[0];
  assert.equal(first.code, 1001, `close code: ${JSON.stringify(first)}`);
  assert.equal(first.willRetry, true);
  assert.match(first.why, /reconnecting in \d+ ms/);

  // The gateway is down: these wait in the queue.
  for (let n = 1; n <= 5; n++) client.send({ n });
  assert.equal(client.queued, 5);
  assert.notEqual(client.state, 'open');

  gw = await startGateway(yaml, port);
  await waitFor('a second open', () => seen.open.length === 2);
  await waitFor('6 messages at the backend', () => rec.bodies.length >= 6);
  client.send({ n: 6 });
  await waitFor('7 messages at the backend', () => rec.bodies.length >= 7);
  assert.deepEqual(rec.bodies.map((b) => JSON.parse(b.body).n), [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(client.queued, 0);
  assert.equal(client.state, 'open');
});

test('send while reconnecting: a full queue throws QUEUE_FULL and keeps what it had', async () => {
  const port = await freePort(); // nothing listens: every attempt fails
  const client = new WsgateClient({ url: `ws://127.0.0.1:${port}/dev`, queueLimit: 2, ...fast });
  cleanups.push(() => client.close());
  client.send('a');
  client.send('b');
  assert.throws(() => client.send('c'), (e) => e instanceof WsgateError && e.code === 'QUEUE_FULL' && /send queue full: 2 messages/.test(e.message));
  assert.equal(client.queued, 2);
});

test('no reconnect after the authorizer refused the handshake with 401', async () => {
  const yaml = `stage: dev
routes:
  $connect: { authorizer: jwt }
  $default: { integration: echo, routeResponse: true }
authorizers:
  jwt: { type: JWT, identitySource: route.request.querystring.token, secret: test-secret-of-32-bytes-or-more!! }
integrations:
  echo: { type: MOCK, requestTemplates: { $default: '{"statusCode": 200}' }, responses: { $default: { templates: { $default: 'hi' } } } }
`;
  const gw = await startGateway(yaml);
  cleanups.push(() => gw.stop());
  let constructed = 0;
  class CountingWebSocket extends WebSocket {
    constructor(...a) { super(...a); constructed++; }
  }
  const client = new WsgateClient({
    url: gw.url, token: 'not-a-jwt', WebSocket: CountingWebSocket, probe: nodeHandshakeProbe(), ...fast,
  });
  const seen = events(client);
  await assert.rejects(client.whenOpen(), (e) => e.code === 'CLOSED' && /refused the handshake with 401/.test(e.message));
  assert.equal(client.state, 'closed');
  assert.equal(seen.open.length, 0);
  const last = seen.close.at(-1);
  assert.equal(last.willRetry, false);
  assert.equal(last.status, 401);
  assert.match(client.stopReason, /401, which means "don't come back"/);
  // Longer than several backoff periods: a regression that retries would construct again.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(constructed, 1, 'the client must not try again after a 401');
  assert.throws(() => client.send('x'), (e) => e.code === 'CLOSED');
});

test('without a probe a refused handshake looks like an outage and is retried', async () => {
  const yaml = `stage: dev
routes:
  $connect: { authorizer: jwt }
authorizers:
  jwt: { type: JWT, identitySource: route.request.querystring.token, secret: test-secret-of-32-bytes-or-more!! }
`;
  const gw = await startGateway(yaml);
  cleanups.push(() => gw.stop());
  const client = new WsgateClient({ url: gw.url, token: 'bad', ...fast });
  const seen = events(client);
  await waitFor('two retries', () => seen.close.filter((e) => e.willRetry && !e.wasOpen).length >= 2);
  assert.match(seen.close[0].why, /handshake failed; reconnecting/);
  client.close();
  assert.equal(client.state, 'closed');
  assert.equal(seen.close.at(-1).willRetry, false);
});

test('request resolves with the route response that echoes its requestId', async () => {
  const yaml = `stage: dev
routeSelectionExpression: $request.body.action
routes:
  $default: { integration: plain, routeResponse: true }
  add: { integration: add, routeResponse: true }
integrations:
  # No request template: the MOCK's "backend answer" is the message itself, which the
  # response template reads.
  add:
    type: MOCK
    responses:
      $default:
        templates:
          $default: '{"requestId":$input.json(''$.requestId''),"sum":$input.json(''$.a''),"b":$input.json(''$.b'')}'
  plain: { type: MOCK, requestTemplates: { $default: '{"statusCode": 200}' }, responses: { $default: { templates: { $default: 'plain $context.routeKey' } } } }
`;
  const gw = await startGateway(yaml);
  cleanups.push(() => gw.stop());
  const client = new WsgateClient({ url: gw.url, ...fast });
  cleanups.push(() => client.close());
  const seen = events(client);
  // Sent before the socket is open: they wait in the queue and still correlate.
  const answers = await Promise.all([1, 2, 3].map((a) => client.request('add', { a, b: a * 10 })));
  assert.deepEqual(answers.map((r) => [r.sum, r.b]), [[1, 10], [2, 20], [3, 30]]);
  for (const r of answers) assert.match(r.requestId, /^[0-9a-z]+-\d+$/);
  // A message that is no response goes to "message".
  client.send('hello');
  await waitFor('a message event', () => seen.message.length === 1);
  assert.equal(seen.message[0].data, 'plain $default');
  // A route that answers without the id times out, with a message saying what was missing.
  await assert.rejects(client.request('other', {}, { timeout: 300 }), (e) => e.code === 'TIMEOUT' && /requestId/.test(e.message));
});

test('the AbortSignal closes the client and rejects what is pending', async () => {
  const yaml = `stage: dev
routes:
  $default: { integration: rec }
integrations:
  rec: { type: HTTP_PROXY, uri: http://127.0.0.1:9/nothing-listens }
`;
  const gw = await startGateway(yaml);
  cleanups.push(() => gw.stop());
  const ac = new AbortController();
  const client = new WsgateClient({ url: gw.url, signal: ac.signal, ...fast });
  const seen = events(client);
  await client.whenOpen();
  const pending = client.request('slow', {}, { timeout: 10000 });
  ac.abort();
  await assert.rejects(pending, (e) => e.code === 'CLOSED');
  assert.equal(client.state, 'closed');
  assert.equal(seen.close.at(-1).willRetry, false);
  assert.match(client.stopReason, /AbortSignal/);
});

test('the CommonJS build loads and exports the same names', () => {
  const require = createRequire(import.meta.url);
  const cjs = require('../dist/client.cjs');
  assert.equal(typeof cjs.WsgateClient, 'function');
  assert.deepEqual(cjs.DEFAULT_BACKOFF, [2000, 5000, 10000]);
  assert.equal(typeof require('../dist/node-probe.cjs').nodeHandshakeProbe, 'function');
});
