// Runs `node --test` on test/, adding --experimental-websocket where this Node.js has no global
// WebSocket (Node.js 20; Node.js 22 has it). `npm test` and the CI both start the tests here.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readdirSync } from 'node:fs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = [];
if (typeof WebSocket === 'undefined') args.push('--experimental-websocket');
const tests = readdirSync(join(root, 'test')).filter((f) => f.endsWith('.test.mjs')).map((f) => join('test', f));
args.push('--test', '--test-concurrency=1', ...tests, ...process.argv.slice(2));
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
