// Test helpers: build the real wsgate once, start it on a port the test chose (so a restart
// comes back on the same port), and a recording HTTP backend for HTTP_PROXY integrations.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createHTTPServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'node:net';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
let built;

/**
 * Builds ./cmd/wsgate into a temp dir (once per process) and returns the binary's path. With
 * WSGATE_BIN set, that binary is used instead (the CI builds it once for several suites).
 */
export function buildWsgate() {
  if (built) return built;
  if (process.env.WSGATE_BIN) return (built = process.env.WSGATE_BIN);
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-js-'));
  const bin = join(dir, 'wsgate');
  execFileSync('go', ['build', '-o', bin, './cmd/wsgate'], { cwd: repo, stdio: 'inherit' });
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  built = bin;
  return bin;
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Polls cond every 20 ms until it returns truthy or the deadline passes. */
export async function waitFor(what, cond, deadlineMs = 10000) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

/**
 * Starts wsgate with the given YAML (its listen key is set here) and resolves once it accepts
 * TCP connections. stop() sends SIGTERM and waits for the process to exit.
 */
export async function startGateway(yaml, port) {
  const bin = buildWsgate();
  port ??= await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-cfg-'));
  const file = join(dir, 'wsgate.yaml');
  writeFileSync(file, `listen: 127.0.0.1:${port}\n${yaml}`);
  const proc = spawn(bin, ['serve', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  let dead = false;
  exited.then(() => { dead = true; });
  await waitFor(`wsgate on port ${port} (log so far: ${log})`, async () => {
    if (dead) throw new Error(`wsgate exited before listening:\n${log}`);
    return canConnect(port);
  });
  return {
    port,
    url: `ws://127.0.0.1:${port}/dev`,
    log: () => log,
    async stop() {
      if (!dead) proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An HTTP backend that records every request body (in arrival order) and answers 200. */
export async function startRecorder() {
  const bodies = [];
  const srv = createHTTPServer((req, res) => {
    let b = '';
    req.on('data', (d) => { b += d; });
    req.on('end', () => {
      bodies.push({ path: req.url, connectionId: req.headers.connectionid, body: b });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('');
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { bodies, url: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)) };
}
