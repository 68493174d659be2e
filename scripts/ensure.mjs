// Makes a fresh clone runnable: installs dependencies when missing or stale, builds the native addon
// when missing or stale (node-gyp), then compiles with tsc
// (incremental, so a no-op build costs about a second). Used by `npm start`, `npm test`, `bin/skiff`.
import { existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const say = (m) => { if (!quiet) process.stderr.write(`[ensure] ${m}\n`); };
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
  if (r.status !== 0) { process.stderr.write(`[ensure] ${cmd} ${args.join(' ')} failed (exit ${r.status})\n`); process.exit(r.status ?? 1); }
};
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

const installed = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(join(root, 'node_modules', '.bin', 'tsc')) || mtime(join(root, 'package-lock.json')) > mtime(installed) || mtime(join(root, 'package.json')) > mtime(installed)) {
  say('installing dependencies (npm ci)…');
  run('npm', existsSync(join(root, 'package-lock.json')) ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund']);
}
// The native fd-passing addon (native/skiff_fd.c): rebuilt when missing or older than its sources.
const addon = join(root, 'build', 'Release', 'skiff_fd.node');
if (mtime(addon) === 0 || mtime(addon) < mtime(join(root, 'native', 'skiff_fd.c')) || mtime(addon) < mtime(join(root, 'binding.gyp'))) {
  say('building the native addon (node-gyp)…');
  // Headers installed beside node (e.g. /usr/include/node): use them instead of downloading.
  const prefix = join(dirname(process.execPath), '..');
  const nodedir = !process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'common.gypi')) ? [`--nodedir=${prefix}`] : [];
  const gyp = join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  if (existsSync(gyp)) run(process.execPath, [gyp, 'rebuild', ...nodedir]);
  else run('npx', ['--no-install', 'node-gyp', 'rebuild', ...nodedir]);
}
say('compiling (tsc, incremental)…');
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root]);
