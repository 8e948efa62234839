// Builds the CommonJS files in dist/ from the ES modules in src/, with no dependencies: the
// sources use only `export class|function|const NAME` and `import { a as b } from 'node:x'`,
// which this script rewrites line by line; anything else is an error, so a new construct in
// src/ fails the build instead of producing a broken file.
//
//   node scripts/build.mjs           write dist/
//   node scripts/build.mjs --check   exit 1 if dist/ is not what src/ builds (CI)
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const files = { 'src/client.js': 'dist/client.cjs', 'src/node-probe.js': 'dist/node-probe.cjs' };

export function toCommonJS(src, name) {
  const exported = [];
  const out = src.split('\n').map((line, i) => {
    let m = line.match(/^export (class|function|const|async function) ([A-Za-z_$][\w$]*)/);
    if (m) {
      exported.push(m[2]);
      return line.slice('export '.length);
    }
    m = line.match(/^import \{ ([^}]+) \} from '(node:[a-z_/]+)';$/);
    if (m) {
      const names = m[1].split(',').map((s) => s.trim().replace(/\s+as\s+/, ': '));
      return `const { ${names.join(', ')} } = require('${m[2]}');`;
    }
    if (/^\s*(export|import)\b/.test(line)) throw new Error(`${name}:${i + 1}: the build script cannot rewrite: ${line.trim()}`);
    return line;
  });
  return `'use strict';\n// Generated from ${name} by scripts/build.mjs: edit the source, then run \`npm run build\`.\n` +
    out.join('\n') + `\nmodule.exports = { ${exported.join(', ')} };\n`;
}

const check = process.argv.includes('--check');
let stale = 0;
for (const [from, to] of Object.entries(files)) {
  const want = toCommonJS(readFileSync(join(root, from), 'utf8'), from);
  if (check) {
    let have = '';
    try { have = readFileSync(join(root, to), 'utf8'); } catch { /* missing counts as stale */ }
    if (have !== want) { console.error(`${to} is stale: run \`npm run build\` in clients/js and commit it`); stale++; }
    continue;
  }
  mkdirSync(dirname(join(root, to)), { recursive: true });
  writeFileSync(join(root, to), want);
  console.log(`wrote ${to}`);
}
if (stale) process.exit(1);
