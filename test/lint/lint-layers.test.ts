/** The layering lint rule (scripts/lint-layers.mjs) flags cross-layer imports and passes the real tree. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const script = join(repo, 'scripts', 'lint-layers.mjs');

function lint(files: Record<string, string>): { status: number | null; stderr: string } {
  const root = mkdtempSync(join(tmpdir(), 'skiff-lint-'));
  try {
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, p)), { recursive: true });
      writeFileSync(join(root, p), text);
    }
    const r = spawnSync(process.execPath, [script, '--root', root], { encoding: 'utf8' });
    return { status: r.status, stderr: r.stderr };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('the real source tree obeys the layering', () => {
  const r = spawnSync(process.execPath, [script], { cwd: repo, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('a lower layer importing a higher one is a violation', () => {
  const r = lint({ 'src/base/a.ts': "import { x } from '../network/b.js';\nexport const a = x;\n", 'src/network/b.ts': 'export const x = 1;\n' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /src\/base\/a\.ts: layer 'base' may not import 'network'/);
});

test('an extension may import only api/, base/ and its own folder', () => {
  const r = lint({
    'src/extensions/network-filters/one/f.ts': "import '../two/g.js';\nimport '../../../upstream/u.js';\nimport '../../../api/index.js';\nimport './h.js';\n",
    'src/extensions/network-filters/one/h.ts': '',
    'src/extensions/network-filters/two/g.ts': '',
    'src/upstream/u.ts': '',
    'src/api/index.ts': '',
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /extension imports another extension/);
  assert.match(r.stderr, /layer 'extensions' may not import 'upstream'/);
  assert.doesNotMatch(r.stderr, /api\/index|h\.js/);
});

test('test files are exempt and type-only imports are still checked', () => {
  const r = lint({ 'src/base/a.test.ts': "import '../server/s.js';\n", 'src/api/t.ts': "import type { S } from '../server/s.js';\nexport type T = S;\n", 'src/server/s.ts': 'export type S = 1;\n' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /src\/api\/t\.ts: layer 'api' may not import 'server'/);
  assert.doesNotMatch(r.stderr, /a\.test\.ts/);
});
