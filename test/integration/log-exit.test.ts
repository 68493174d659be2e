// Log outputs never crash the process at exit (regression): a Skiff that starts and stops at once,
// with its access-log directory deleted under it, exits cleanly. Before log files were opened
// synchronously, the asynchronously opening writer made pino's exit hook throw
// "sonic boom is not ready yet" and the process died with a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const harness = new URL('../fakes/l7-harness.js', import.meta.url).href;

test('start, delete the access-log directory, stop at once: the process exits 0 without a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-logexit-'));
  const script = join(dir, 'run.mjs');
  const logDir = join(dir, 'logs');
  writeFileSync(script, `
    import { rmSync } from 'node:fs';
    const { startSkiff, l7Document } = await import(${JSON.stringify(harness)});
    const s = await startSkiff(l7Document({ clusters: { c1: ['127.0.0.1:9'] },
      listener: { access_logs: [{ log_path: ${JSON.stringify(join(logDir, 'access.log'))}, log_format: '%response_code%' }] } }));
    rmSync(${JSON.stringify(logDir)}, { recursive: true, force: true });
    await s.close();
    console.log('stopped');
  `);
  try {
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000, cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    assert.equal(r.stdout.trim(), 'stopped');
    assert.doesNotMatch(r.stderr, /not ready|Error/, r.stderr);
    assert.equal(r.status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
