// Lint rule: the import layering of ARCHITECTURE.md (docs/architecture.md "Import rules").
// Every relative import in src/ is resolved to its layer (the first folder under src/, or `main`)
// and checked against ALLOWED. Test files (*.test.ts) are exempt: they may reach across layers.
// Usage: node scripts/lint-layers.mjs [--root DIR]   (exit 1 and one line per violation)
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const ts = createRequire(import.meta.url)(join(here, 'node_modules', 'typescript'));
const rootArg = process.argv.indexOf('--root');
const root = rootArg > 0 ? resolve(process.argv[rootArg + 1]) : here;
const src = join(root, 'src');

const DATA = ['api', 'base', 'observability'];
/** layer → layers it may import (itself always allowed, except extensions: see below). */
export const ALLOWED = {
  base: [],
  api: ['base'],
  observability: ['api', 'base'],
  config: ['api', 'base'],
  network: [...DATA],
  protocol: ['network', ...DATA],
  stream: ['protocol', 'network', ...DATA],
  router: ['stream', 'protocol', 'network', ...DATA],
  upstream: ['stream', 'protocol', 'network', ...DATA],
  proxy: ['router', 'upstream', 'stream', 'protocol', 'network', ...DATA],
  extensions: ['api', 'base'],
  // the built-in list also names the L7 proxy filter, which lives in its own layer (ADR 0008)
  registry: ['proxy', 'extensions', 'api', 'base'],
  xds: ['config', 'api', 'base'],
  admin: ['config', ...DATA],
  upgrade: ['network', 'config', ...DATA],
  server: ['*'],
  main: ['server', 'config', ...DATA],
};

const layerOf = (file) => {
  const rel = relative(src, file).split(sep);
  return rel.length === 1 ? rel[0].replace(/\.ts$/, '') : rel[0];
};
/** extensions/<kind>/<name>/… : an extension may import only inside its own folder. */
const extensionHome = (file) => relative(src, file).split(sep).slice(0, 3).join('/');

const files = [];
const walk = (d) => {
  for (const n of readdirSync(d)) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) walk(p);
    else if (n.endsWith('.ts') && !n.endsWith('.test.ts') && !n.endsWith('.d.ts')) files.push(p);
  }
};
walk(src);

const problems = [];
for (const file of files) {
  const from = layerOf(file);
  const allowed = ALLOWED[from];
  if (!allowed) { problems.push(`${relative(root, file)}: folder src/${from}/ is not a known layer (add it to scripts/lint-layers.mjs)`); continue; }
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  for (const imp of info.importedFiles) {
    const spec = imp.fileName;
    if (!spec.startsWith('.')) continue; // packages and node: builtins are fine everywhere
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(src + sep)) { problems.push(`${relative(root, file)}: imports ${spec} outside src/`); continue; }
    const to = layerOf(target);
    if (from === 'extensions') {
      if (to === 'extensions' && extensionHome(target) !== extensionHome(file)) {
        problems.push(`${relative(root, file)}: extension imports another extension (${spec}); share code through api/ or base/`);
      } else if (to !== 'extensions' && !allowed.includes(to)) {
        problems.push(`${relative(root, file)}: layer '${from}' may not import '${to}' (${spec}); allowed: ${allowed.join(', ')}`);
      }
      continue;
    }
    if (to === from || allowed.includes('*') || allowed.includes(to)) continue;
    problems.push(`${relative(root, file)}: layer '${from}' may not import '${to}' (${spec}); allowed: ${allowed.join(', ') || '(nothing)'}`);
  }
}
if (problems.length) {
  for (const p of problems) console.error(`layering: ${p}`);
  console.error(`layering: ${problems.length} violation(s)`);
  process.exit(1);
}
console.error(`[lint] import layering ok (${files.length} files)`);
