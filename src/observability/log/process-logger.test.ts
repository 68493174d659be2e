import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogOutputs } from './log-outputs.js';
import { LoggerRegistry } from './logger-registry.js';
import { parseLogLevel } from './levels.js';
import { ProcessLogger } from './process-logger.js';

const lines = (p: string): Record<string, unknown>[] =>
  readFileSync(p, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('level changes reach children created earlier; lines are JSON with level names', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-log-'));
  try {
    const outputs = new LogOutputs({ baseDir: dir });
    const root = ProcessLogger.create({ output: outputs.open('skiff.log', { pinned: true }), level: 'info' });
    const child = root.child({ listener: 'l1' });
    child.debug('hidden');
    child.info({ n: 1 }, 'shown');
    assert.equal(child.isLevelEnabled('debug'), false);
    root.setLevel('debug');
    assert.equal(child.isLevelEnabled('debug'), true);
    child.debug('now shown');
    root.setLevel('error');
    child.warn('hidden again');
    child.error('boom');
    await new Promise((r) => setTimeout(r, 50));
    outputs.flushSync();
    const got = lines(join(dir, 'skiff.log'));
    assert.deepEqual(
      got.map((l) => [l['level'], l['msg'], l['listener']]),
      [
        ['info', 'shown', 'l1'],
        ['debug', 'now shown', 'l1'],
        ['error', 'boom', 'l1'],
      ],
    );
    assert.equal(got[0]?.['n'], 1);
    assert.equal(got[0]?.['pid'], process.pid);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the registry lists loggers with MOSN level names and sets them by name', () => {
  const outputs = new LogOutputs();
  const logger = ProcessLogger.create({ output: outputs.open('stderr'), level: 'warn' });
  const reg = new LoggerRegistry();
  reg.register('stderr', logger);
  assert.deepEqual(reg.levels(), { stderr: 'WARN' });
  assert.equal(reg.setLevel('stderr', 'debug'), true);
  assert.equal(logger.level, 'debug');
  assert.equal(reg.setLevel('', 'trace'), true, 'empty name = default logger');
  assert.deepEqual(reg.levels(), { stderr: 'TRACE' });
  assert.equal(reg.setLevel('/nope.log', 'info'), false);
});

test('MOSN level names parse case-insensitively; unknown → undefined', () => {
  assert.equal(parseLogLevel('DEBUG'), 'debug');
  assert.equal(parseLogLevel('Warning'), 'warn');
  assert.equal(parseLogLevel('critical'), 'fatal');
  assert.equal(parseLogLevel('loud'), undefined);
});
