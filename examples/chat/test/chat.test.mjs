// The chat example end to end: wsgate serving template.yaml (built from this repository), the
// backend server.mjs, and two WsgateClients (clients/js) chatting through them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WsgateClient } from '../../../clients/js/src/client.js';
import { buildWsgate, freePort, waitFor } from '../../../clients/js/test/gateway.mjs';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const procs = [];
after(async () => {
  for (const p of procs.reverse()) {
    if (p.exitCode === null) {
      p.kill('SIGTERM');
      await new Promise((r) => p.on('exit', r));
    }
  }
});

function start(cmd, argv, ready) {
  const p = spawn(cmd, argv, { cwd: here, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  return waitFor(`${cmd} ${argv.join(' ')} to be ready (output: ${out})`, () => {
    if (p.exitCode !== null) throw new Error(`${cmd} exited ${p.exitCode}:\n${out}`);
    return ready(out);
  }, 20000).then(() => ({ output: () => out }));
}

test('two people chat through wsgate serve --template', async () => {
  const [gwPort, bePort] = [await freePort(), await freePort()];
  const backend = await start(process.execPath, ['server.mjs', '--port', String(bePort), '--gateway', `http://127.0.0.1:${gwPort}/dev`], (o) => o.includes('chat backend on'));
  await start(buildWsgate(), ['serve', '--template', 'template.yaml', '--parameter', `BackendUrl=http://127.0.0.1:${bePort}`, '--listen', `127.0.0.1:${gwPort}`], (o) => o.includes('wsgate listening'));

  // The page and the client module are served by the backend.
  const page = await fetch(`http://127.0.0.1:${bePort}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<script type="module" src="chat.js">/);
  assert.match(await (await fetch(`http://127.0.0.1:${bePort}/client.js`)).text(), /export class WsgateClient/);

  const inbox = { ann: [], bob: [] };
  const clients = {};
  for (const name of ['ann', 'bob']) {
    clients[name] = new WsgateClient({ url: `ws://127.0.0.1:${gwPort}/dev?name=${name}`, backoff: [100] });
    clients[name].on('message', (e) => inbox[name].push(e.json));
    await clients[name].whenOpen();
  }
  await waitFor('ann to hear that bob joined', () => inbox.ann.some((m) => m.type === 'joined' && m.name === 'bob'));

  clients.ann.send({ action: 'sendmessage', data: 'hello bob' });
  for (const name of ['ann', 'bob']) {
    await waitFor(`${name} to get ann's message`, () => inbox[name].some((m) => m.type === 'message' && m.from === 'ann' && m.data === 'hello bob'));
  }

  const who = await clients.bob.request('whoonline', {}, { timeout: 5000 });
  assert.deepEqual(who.names, ['ann', 'bob']);
  assert.equal(who.type, 'online');

  clients.ann.close(1000, 'bye');
  await waitFor('bob to hear that ann left', () => inbox.bob.some((m) => m.type === 'left' && m.name === 'ann'));
  clients.bob.close();
  assert.equal(inbox.bob.filter((m) => m.type === 'message').length, 1, `bob got one message: ${JSON.stringify(inbox.bob)}`);
  assert.doesNotMatch(backend.output(), /PostToConnection .*: [45]\d\d/);
});

test('a handshake without a name is refused by $connect', async () => {
  const [gwPort, bePort] = [await freePort(), await freePort()];
  await start(process.execPath, ['server.mjs', '--port', String(bePort), '--gateway', `http://127.0.0.1:${gwPort}/dev`], (o) => o.includes('chat backend on'));
  await start(buildWsgate(), ['serve', '--template', 'template.yaml', '--parameter', `BackendUrl=http://127.0.0.1:${bePort}`, '--listen', `127.0.0.1:${gwPort}`], (o) => o.includes('wsgate listening'));
  const { nodeHandshakeProbe } = await import('../../../clients/js/src/node-probe.js');
  let status;
  await nodeHandshakeProbe()({ url: `ws://127.0.0.1:${gwPort}/dev` }).then((s) => { status = s; });
  assert.equal(status, 400);
});
