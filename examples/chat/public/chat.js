// The chat page: one WsgateClient (clients/js) to the gateway, which reconnects on its own and
// keeps what you type while it does.
import { WsgateClient } from './client.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
$('gateway').value = params.get('gateway') ?? 'ws://127.0.0.1:8080/dev';
let client = null;

function line(text, cls) {
  const p = document.createElement('p');
  if (cls) p.className = cls;
  p.textContent = text;
  $('log').append(p);
  $('log').scrollTop = $('log').scrollHeight;
  return p;
}

function say(from, text) {
  const p = line('', 'message');
  const b = document.createElement('span');
  b.className = 'from';
  b.textContent = `${from}: `;
  p.append(b, text);
}

function enable(on) {
  for (const id of ['text', 'send', 'who', 'leave']) $(id).disabled = !on;
  for (const id of ['name', 'gateway']) $(id).disabled = on;
}

$('join').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $('name').value.trim();
  const url = new URL($('gateway').value);
  url.searchParams.set('name', name);
  client = new WsgateClient({ url: url.toString() });
  enable(true);
  $('status').textContent = 'connecting…';
  client.on('open', () => { $('status').textContent = `connected as ${name}`; line(`you joined as ${name}`, 'note'); });
  client.on('close', (ev) => {
    $('status').textContent = ev.willRetry ? `disconnected (${ev.code}); ${ev.why}` : `stopped: ${ev.why}`;
    if (!ev.willRetry) enable(false);
  });
  client.on('message', ({ json }) => {
    if (!json) return;
    if (json.type === 'message') say(json.from, json.data);
    else if (json.type === 'joined') line(`${json.name} joined`, 'note');
    else if (json.type === 'left') line(`${json.name} left`, 'note');
  });
});

$('say').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value.trim();
  if (!text || !client) return;
  try {
    client.send({ action: 'sendmessage', data: text });
    $('text').value = '';
  } catch (err) {
    line(err.message, 'note'); // QUEUE_FULL while reconnecting, or CLOSED
  }
});

$('who').addEventListener('click', async () => {
  try {
    const r = await client.request('whoonline', {}, { timeout: 5000 });
    line(`online: ${r.names.join(', ')}`, 'note');
  } catch (err) {
    line(`who's online: ${err.message}`, 'note');
  }
});

$('leave').addEventListener('click', () => { client.close(1000, 'left'); });
