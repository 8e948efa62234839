'use strict';
// Generated from src/client.js by scripts/build.mjs: edit the source, then run `npm run build`.
// wsgate client: a WebSocket that reconnects, queues while reconnecting and correlates route
// responses. Dependency-free; runs in browsers and in Node.js (global WebSocket, or pass one).
// See README.md for the conventions it follows.

/** Default reconnect delays in milliseconds: 2 s, 5 s, then every 10 s. */
const DEFAULT_BACKOFF = [2000, 5000, 10000];
/** Default jitter: each delay is spread uniformly over ±20 %. */
const DEFAULT_JITTER = 0.2;
/** Default number of messages kept while reconnecting. */
const DEFAULT_QUEUE_LIMIT = 100;
/** Default request timeout: API Gateway's integration timeout (29 s). */
const DEFAULT_REQUEST_TIMEOUT = 29000;
/** Close codes after which the client does not come back: 1008 Policy Violation. */
const DEFAULT_STOP_CODES = [1008];
/** Handshake statuses that mean "don't come back" when a probe can see them. */
const STOP_STATUSES = [401, 403];

/** Base class of the errors this library throws or rejects with. */
class WsgateError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'WsgateError';
    /** A stable code: QUEUE_FULL, CLOSED, TIMEOUT, CONNECTION_LOST, ABORTED, NO_WEBSOCKET, BAD_PAYLOAD. */
    this.code = code;
  }
}

const OPEN = 1;

/**
 * A reconnecting WebSocket client for wsgate and Amazon API Gateway WebSocket APIs.
 * States: "connecting" (first attempt), "open", "reconnecting" (waiting or retrying),
 * "closed" (for good: see stopReason).
 */
class WsgateClient {
  constructor(options) {
    if (options == null || (typeof options !== 'object')) throw new TypeError('WsgateClient: options with a url are required');
    const o = options;
    if (typeof o.url !== 'string' && typeof o.url !== 'function') throw new TypeError('WsgateClient: options.url must be a string or a function returning one');
    this._o = {
      url: o.url,
      token: o.token,
      tokenParam: o.tokenParam ?? 'token',
      protocols: o.protocols,
      WebSocket: o.WebSocket ?? globalThis.WebSocket,
      backoff: (o.backoff && o.backoff.length ? o.backoff : DEFAULT_BACKOFF).slice(),
      jitter: o.jitter ?? DEFAULT_JITTER,
      random: o.random ?? Math.random,
      queueLimit: o.queueLimit ?? DEFAULT_QUEUE_LIMIT,
      stopCodes: o.stopCodes ?? DEFAULT_STOP_CODES,
      probe: o.probe,
      requestTimeout: o.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT,
      requestIdField: o.requestIdField ?? 'requestId',
    };
    if (typeof this._o.WebSocket !== 'function') {
      throw new WsgateError('WsgateClient: no WebSocket constructor: this runtime has no global WebSocket ' +
        '(Node.js 20 needs --experimental-websocket; Node.js 22 and browsers have it) and options.WebSocket was not given', 'NO_WEBSOCKET');
    }
    this._listeners = new Map();
    this._queue = [];
    this._pending = new Map();
    this._seq = 0;
    this._prefix = Math.floor(this._o.random() * 0x100000000).toString(36) + '-';
    this._attempt = 0; // failed attempts since the last open
    this._ws = null;
    this._timer = null;
    /** "connecting" | "open" | "reconnecting" | "closed" */
    this.state = 'connecting';
    /** Why the client stopped for good (set when state becomes "closed"). */
    this.stopReason = undefined;
    /** The URL of the current or last socket. */
    this.url = undefined;
    if (o.signal) {
      if (o.signal.aborted) {
        this._stop(1000, 'aborted', 'aborted by the AbortSignal before the first connect');
        return;
      }
      o.signal.addEventListener('abort', () => this.close(1000, 'aborted by the AbortSignal'), { once: true });
    }
    this._connect();
  }

  /** Adds a listener for "open", "close", "message" or "error"; returns a function that removes it. */
  on(type, fn) {
    let set = this._listeners.get(type);
    if (!set) this._listeners.set(type, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Removes a listener added with on. */
  off(type, fn) {
    this._listeners.get(type)?.delete(fn);
  }

  /** Resolves at the next "open" (at once if open); rejects if the client stops first. */
  whenOpen() {
    if (this.state === 'open') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(this._closedError());
    return new Promise((resolve, reject) => {
      const offOpen = this.on('open', () => { offOpen(); offClose(); resolve(); });
      const offClose = this.on('close', (e) => { if (!e.willRetry) { offOpen(); offClose(); reject(this._closedError()); } });
    });
  }

  /** Number of messages waiting for the next open. */
  get queued() { return this._queue.length; }

  /**
   * Sends a message: a string, an ArrayBuffer/view/Blob, or any other value as JSON. While
   * the client is (re)connecting the message waits in a queue, sent in order at the next open;
   * a full queue throws WsgateError QUEUE_FULL, a closed client WsgateError CLOSED.
   */
  send(data) {
    const frame = encode(data);
    if (this.state === 'closed') throw this._closedError();
    if (this._ws && this._ws.readyState === OPEN && this._queue.length === 0) {
      this._ws.send(frame);
      return;
    }
    if (this._queue.length >= this._o.queueLimit) {
      throw new WsgateError(`send queue full: ${this._queue.length} messages are waiting for the connection ` +
        `(state ${this.state}); raise options.queueLimit or wait for "open"`, 'QUEUE_FULL');
    }
    this._queue.push(frame);
  }

  /**
   * Sends {action, ...payload, [requestIdField]: id} and resolves with the first JSON message
   * whose requestIdField equals id: the route response of a two-way route whose backend echoes
   * the id (a convention of this client, not of the gateway). Rejects with WsgateError TIMEOUT
   * after options.timeout (default requestTimeout), CONNECTION_LOST if the socket the request
   * went out on closes first, ABORTED on options.signal, or what send throws.
   */
  request(action, payload, options = {}) {
    if (typeof action !== 'string' || action === '') return Promise.reject(new TypeError('request: action must be a non-empty string'));
    if (payload != null && (typeof payload !== 'object' || Array.isArray(payload))) {
      return Promise.reject(new WsgateError('request: payload must be a plain object (its fields are sent beside "action")', 'BAD_PAYLOAD'));
    }
    const field = this._o.requestIdField;
    const id = this._prefix + (++this._seq);
    const msg = { action, ...payload, [field]: id };
    const timeout = options.timeout ?? this._o.requestTimeout;
    return new Promise((resolve, reject) => {
      const p = { resolve, reject, timer: null, sent: false, cleanup: null };
      const done = () => {
        clearTimeout(p.timer);
        this._pending.delete(id);
        if (p.cleanup) p.cleanup();
      };
      p.resolve = (v) => { done(); resolve(v); };
      p.reject = (e) => { done(); reject(e); };
      if (options.signal) {
        if (options.signal.aborted) return reject(new WsgateError(`request ${action}: aborted`, 'ABORTED'));
        const onAbort = () => p.reject(new WsgateError(`request ${action}: aborted`, 'ABORTED'));
        options.signal.addEventListener('abort', onAbort, { once: true });
        p.cleanup = () => options.signal.removeEventListener('abort', onAbort);
      }
      p.timer = setTimeout(() => p.reject(new WsgateError(`request ${action} (${field} ${id}): no response within ${timeout} ms`, 'TIMEOUT')), timeout);
      this._pending.set(id, p);
      p.sent = this._ws !== null && this._ws.readyState === OPEN && this._queue.length === 0;
      try {
        this.send(msg);
      } catch (err) {
        p.reject(err);
      }
    });
  }

  /** Closes the socket and stops reconnecting. Pending requests reject with CLOSED. */
  close(code = 1000, reason = '') {
    if (this.state === 'closed') return;
    this._stop(code, reason, reason ? `closed by the application: ${reason}` : 'closed by the application');
  }

  // --- internals ---

  _emit(type, ev) {
    const set = this._listeners.get(type);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(ev);
      } catch (err) {
        if (type !== 'error') this._emit('error', { error: err, message: `a "${type}" listener threw: ${err && err.message}` });
      }
    }
  }

  _closedError() {
    return new WsgateError(`client is closed: ${this.stopReason}`, 'CLOSED');
  }

  async _resolveURL() {
    let url = typeof this._o.url === 'function' ? await this._o.url() : this._o.url;
    let token = this._o.token;
    if (typeof token === 'function') token = await token();
    if (token != null && token !== '') {
      const u = new URL(url);
      u.searchParams.set(this._o.tokenParam, token);
      url = u.toString();
    }
    return url;
  }

  async _connect() {
    let url;
    try {
      url = await this._resolveURL();
    } catch (err) {
      this._emit('error', { error: err, message: `resolving the URL: ${err && err.message}` });
      this._retry(undefined, 'resolving the URL failed');
      return;
    }
    if (this.state === 'closed') return;
    this.url = url;
    let ws;
    try {
      ws = this._o.protocols ? new this._o.WebSocket(url, this._o.protocols) : new this._o.WebSocket(url);
    } catch (err) {
      // A malformed URL or a refused protocol list: no retry can fix it.
      this._emit('error', { error: err, message: err && err.message });
      this._stop(1000, '', `cannot open a WebSocket to ${url}: ${err && err.message}`);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this._ws = ws;
    let opened = false;
    ws.onopen = () => {
      if (this._ws !== ws) return;
      opened = true;
      this._attempt = 0;
      this.state = 'open';
      // Flush in order before anyone else can send: send() queues while the queue is non-empty.
      const q = this._queue;
      this._queue = [];
      for (const frame of q) ws.send(frame);
      for (const p of this._pending.values()) p.sent = true;
      this._emit('open', { url, protocol: ws.protocol });
    };
    ws.onmessage = (e) => {
      if (this._ws !== ws) return;
      const data = e.data;
      let json;
      if (typeof data === 'string') {
        const c = data.charCodeAt(0);
        if (c === 123 || c === 91) { // { or [
          try { json = JSON.parse(data); } catch { json = undefined; }
        }
      }
      const id = json && typeof json === 'object' ? json[this._o.requestIdField] : undefined;
      if (id !== undefined && this._pending.has(id)) {
        this._pending.get(id).resolve(json);
        return;
      }
      this._emit('message', { data, json });
    };
    const ended = (code, reason) => {
      if (this._ws !== ws) return;
      this._ws = null;
      this._onClose(code, reason, opened, url);
    };
    ws.onerror = () => {
      if (this._ws !== ws) return;
      this._emit('error', { error: undefined, message: opened ? 'WebSocket error' : `WebSocket handshake to ${url} failed` });
      if (!opened) {
        // Browsers follow a failed handshake with close (1006); Node.js 20's WebSocket fires
        // only error and stays CONNECTING. Either way the attempt is over here.
        ended(1006, '');
        try { ws.close(); } catch { /* not closable yet: it is dropped all the same */ }
      }
    };
    ws.onclose = (e) => ended(e.code, e.reason);
  }

  async _onClose(code, reason, opened, url) {
    if (this.state === 'closed') return;
    // Requests that went out on this socket cannot be answered on the next one.
    for (const p of [...this._pending.values()]) {
      if (p.sent) p.reject(new WsgateError(`connection closed (${code}) before the response arrived`, 'CONNECTION_LOST'));
    }
    if (opened && this._o.stopCodes.includes(code)) {
      this._finish(code, reason, `the gateway closed the connection with ${code}${reason ? ` (${reason})` : ''}, which means "don't come back"`);
      return;
    }
    if (!opened && this._o.probe) {
      // A browser cannot see why a handshake failed: ask the probe for the status.
      this.state = 'reconnecting';
      let status;
      try {
        status = await this._o.probe({ url, protocols: this._o.protocols });
      } catch (err) {
        this._emit('error', { error: err, message: `handshake probe failed: ${err && err.message}` });
      }
      if (this.state === 'closed') return;
      if (STOP_STATUSES.includes(status)) {
        this._finish(code, reason, `the gateway refused the handshake with ${status}, which means "don't come back"`, status);
        return;
      }
    }
    this._retry({ code, reason, opened }, opened ? 'connection lost' : 'handshake failed');
  }

  _retry(closeInfo, what) {
    if (this.state === 'closed') return;
    const b = this._o.backoff;
    const base = b[Math.min(this._attempt, b.length - 1)];
    const j = this._o.jitter;
    const delay = Math.max(0, Math.round(base * (1 + j * (2 * this._o.random() - 1))));
    this._attempt++;
    this.state = 'reconnecting';
    this._timer = setTimeout(() => { this._timer = null; this._connect(); }, delay);
    if (closeInfo) {
      this._emit('close', {
        code: closeInfo.code, reason: closeInfo.reason, wasOpen: closeInfo.opened, willRetry: true, retryIn: delay,
        why: `${what}; reconnecting in ${delay} ms (attempt ${this._attempt})`,
      });
    }
  }

  _finish(code, reason, why, status) {
    this.state = 'closed';
    this.stopReason = why;
    clearTimeout(this._timer);
    this._timer = null;
    for (const p of [...this._pending.values()]) p.reject(this._closedError());
    const dropped = this._queue.length;
    this._queue = [];
    if (dropped) why += `; ${dropped} queued message(s) were not sent`;
    this.stopReason = why;
    this._emit('close', { code, reason, status, willRetry: false, why });
  }

  _stop(code, reason, why) {
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      try { ws.close(code, reason); } catch { ws.close(); }
    }
    this._finish(code, reason, why);
  }
}

function encode(data) {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data;
  if (typeof Blob !== 'undefined' && data instanceof Blob) return data;
  const s = JSON.stringify(data);
  if (s === undefined) throw new WsgateError(`send: cannot encode ${typeof data} as JSON`, 'BAD_PAYLOAD');
  return s;
}

module.exports = { DEFAULT_BACKOFF, DEFAULT_JITTER, DEFAULT_QUEUE_LIMIT, DEFAULT_REQUEST_TIMEOUT, DEFAULT_STOP_CODES, STOP_STATUSES, WsgateError, WsgateClient };
