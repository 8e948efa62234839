'use strict';
// Generated from src/node-probe.js by scripts/build.mjs: edit the source, then run `npm run build`.
// Node.js only: learn the HTTP status of a refused WebSocket handshake, which the WebSocket API
// hides (browsers and Node's WebSocket report only "closed with 1006").
const { request: httpRequest } = require('node:http');
const { request: httpsRequest } = require('node:https');
const { randomBytes } = require('node:crypto');

/**
 * Returns a probe for WsgateClient's options.probe. After a handshake failed, it sends the same
 * upgrade request again (same URL, same subprotocols) and resolves with the status the server
 * answered (401, 403, 500, ...), or undefined when nothing answered (the gateway is down).
 * If the server accepts this time (101) the probe closes the socket at once with 1000: the
 * gateway then runs $connect and $disconnect for that short connection.
 * options.timeout (ms, default 5000) bounds the probe; options.headers are added to the request.
 */
function nodeHandshakeProbe(options = {}) {
  const timeout = options.timeout ?? 5000;
  return ({ url, protocols }) => new Promise((resolve) => {
    let u;
    try {
      u = new URL(url);
    } catch {
      resolve(undefined);
      return;
    }
    const secure = u.protocol === 'wss:' || u.protocol === 'https:';
    const headers = {
      ...options.headers,
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    };
    if (protocols && protocols.length) headers['Sec-WebSocket-Protocol'] = [].concat(protocols).join(', ');
    const req = (secure ? httpsRequest : httpRequest)({
      hostname: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || (secure ? 443 : 80),
      path: u.pathname + u.search, method: 'GET', headers, timeout,
    });
    let settled = false;
    const settle = (v) => { if (!settled) { settled = true; resolve(v); } };
    req.on('upgrade', (res, socket) => {
      // A masked close frame, code 1000, then end: a polite goodbye.
      const mask = randomBytes(4);
      const payload = Buffer.from([0x03 ^ mask[0], 0xe8 ^ mask[1]]);
      socket.end(Buffer.concat([Buffer.from([0x88, 0x82]), mask, payload]));
      socket.on('error', () => {});
      settle(res.statusCode);
    });
    req.on('response', (res) => { res.resume(); settle(res.statusCode); });
    req.on('timeout', () => { req.destroy(); settle(undefined); });
    req.on('error', () => settle(undefined));
    req.end();
  });
}

module.exports = { nodeHandshakeProbe };
