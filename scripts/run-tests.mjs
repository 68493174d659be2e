// Runs the compiled test files with node's built-in test runner.
//   default: every dist/**/*.test.js except *.long.test.js (the CI suite, `npm test`)
//   --long:  only *.long.test.js (soak and fault runs, `npm run test:long`)
//   any other argument filters test files by substring.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const long = args.includes('--long');
const filters = args.filter((a) => !a.startsWith('--'));
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js') && name.endsWith('.long.test.js') === long) {
      // A compiled test whose source was moved or deleted is stale output: skip it, say so.
      const source = join(root, relative(join(root, 'dist'), p)).replace(/\.js$/, '.ts');
      if (existsSync(source)) files.push(p);
      else console.error(`[test] skipping stale ${relative(root, p)} (no ${relative(root, source)})`);
    }
  }
};
for (const d of ['dist/src', 'dist/test']) { try { walk(join(root, d)); } catch { /* absent */ } }
const chosen = files.filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (chosen.length === 0) { console.error('no test files matched'); process.exit(1); }
console.error(`[test] ${chosen.length} files: ${chosen.map((f) => relative(root, f)).join(' ')}`);
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...chosen], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
