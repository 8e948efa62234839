// Behaviour that a real gateway cannot produce on demand. FakeWebSocket is a fake on purpose:
// wsgate closes with 1008 only for a slow consumer, which a test cannot cause deterministically,
// and the default backoff (2 s, 5 s, 10 s) is checked with mocked timers rather than waited for.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { WsgateClient } from '../src/client.js';

class FakeWebSocket {
  static all = [];
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    this.sent = [];
    FakeWebSocket.all.push(this);
  }
  send(d) { this.sent.push(d); }
  close() { this.readyState = 3; }
  open() { this.readyState = 1; this.onopen?.({}); }
  serverClose(code, reason = '') { this.readyState = 3; this.onclose?.({ code, reason }); }
  fail() { this.onerror?.({}); this.readyState = 3; this.onclose?.({ code: 1006, reason: '' }); }
}

test('default backoff is 2 s, 5 s, then every 10 s (jitter at its midpoint)', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    FakeWebSocket.all = [];
    const client = new WsgateClient({ url: 'ws://gw/dev', WebSocket: FakeWebSocket, random: () => 0.5 });
    const retries = [];
    client.on('close', (e) => retries.push(e.retryIn));
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r)); // the URL is resolved asynchronously
      FakeWebSocket.all.at(-1).fail();
      mock.timers.tick(60000);
    }
    assert.equal(FakeWebSocket.all.length, 5);
    assert.deepEqual(retries, [2000, 5000, 10000, 10000, 10000]);
    client.close();
  } finally {
    mock.timers.reset();
  }
});

test('jitter spreads a delay over ±jitter', async () => {
  FakeWebSocket.all = [];
  const seen = [];
  for (const r of [0, 0.999999]) {
    const c = new WsgateClient({ url: 'ws://gw/dev', WebSocket: FakeWebSocket, random: () => r, backoff: [1000], jitter: 0.2 });
    c.on('close', (e) => { if (e.willRetry) seen.push(e.retryIn); });
    await new Promise((res) => setImmediate(res));
    FakeWebSocket.all.at(-1).fail();
    c.close();
  }
  assert.deepEqual(seen, [800, 1200]);
});

test('a 1008 close from an open connection stops the client and says why', async () => {
  FakeWebSocket.all = [];
  const c = new WsgateClient({ url: 'ws://gw/dev', WebSocket: FakeWebSocket, token: 'abc', protocols: ['chat'] });
  await new Promise((r) => setImmediate(r));
  const ws = FakeWebSocket.all[0];
  assert.equal(ws.url, 'ws://gw/dev?token=abc');
  assert.deepEqual(ws.protocols, ['chat']);
  ws.open();
  const closes = [];
  c.on('close', (e) => closes.push(e));
  ws.serverClose(1008, 'Slow consumer: send queue full');
  assert.equal(closes.length, 1);
  assert.equal(closes[0].willRetry, false);
  assert.match(closes[0].why, /closed the connection with 1008 \(Slow consumer: send queue full\), which means "don't come back"/);
  assert.equal(c.state, 'closed');
  assert.equal(FakeWebSocket.all.length, 1);
});

test('a request in flight when the socket drops rejects with CONNECTION_LOST; a queued one survives', async () => {
  FakeWebSocket.all = [];
  const c = new WsgateClient({ url: 'ws://gw/dev', WebSocket: FakeWebSocket, backoff: [1], jitter: 0 });
  await new Promise((r) => setImmediate(r));
  FakeWebSocket.all[0].open();
  const inflight = c.request('a', { x: 1 });
  FakeWebSocket.all[0].serverClose(1001, 'Going away');
  await assert.rejects(inflight, (e) => e.code === 'CONNECTION_LOST');
  const queued = c.request('b', {});
  await new Promise((r) => setTimeout(r, 20));
  const ws2 = FakeWebSocket.all[1];
  ws2.open();
  const sent = JSON.parse(ws2.sent[0]);
  assert.equal(sent.action, 'b');
  ws2.onmessage({ data: JSON.stringify({ requestId: sent.requestId, ok: true }) });
  assert.deepEqual(await queued, { requestId: sent.requestId, ok: true });
  c.close();
});

test('bad options and payloads give errors that say what to fix', () => {
  assert.throws(() => new WsgateClient({}), /options.url must be a string/);
  assert.throws(() => new WsgateClient({ url: 'ws://x', WebSocket: 'not a constructor' }), /no WebSocket constructor/);
  const c = new WsgateClient({ url: 'ws://gw/dev', WebSocket: FakeWebSocket });
  return assert.rejects(c.request('a', [1, 2]), (e) => e.code === 'BAD_PAYLOAD').finally(() => c.close());
});
