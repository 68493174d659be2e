import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogOutputs } from '../log/log-outputs.js';
import { createAccessLogSink } from './access-log-sink.js';

const waitFor = async (cond: () => boolean, ms = 3000): Promise<void> => {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};
const read = (p: string): string => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};

test('no access log configured → enabled false', () => {
  const sink = createAccessLogSink([], new LogOutputs());
  assert.equal(sink.enabled, false);
  sink.log(() => 'x'); // a no-op, never throws
});

test('two listeners naming one file share its writer; lines are appended; reopen after rotate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-al-'));
  try {
    const outputs = new LogOutputs({ baseDir: dir });
    const a = createAccessLogSink([{ path: 'logs/access.log', format: 'A %bytes_sent%' }], outputs);
    const b = createAccessLogSink([{ path: join(dir, 'logs/access.log'), format: 'B %bytes_sent%' }], outputs);
    assert.equal([...outputs.outputs()].length, 1);
    a.log((n) => (n === 'bytes_sent' ? '1' : undefined));
    b.log(() => undefined);
    const file = join(dir, 'logs/access.log');
    await waitFor(() => read(file) === 'A 1\nB -\n');
    // logrotate: move the file away, SIGUSR1 → reopen → new lines go to a fresh file
    renameSync(file, `${file}.1`);
    outputs.reopenAll();
    a.log(() => '2');
    await waitFor(() => read(file) === 'A 2\n');
    assert.equal(read(`${file}.1`), 'A 1\nB -\n');
    outputs.flushSync();
    outputs.retain([]);
    a.log(() => '3'); // closed output: dropped, no throw
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unwritable path fails at config time with the path in the message', () => {
  assert.throws(() => createAccessLogSink([{ path: '/dev/null/skiff/access.log', format: '%x%' }], new LogOutputs()), /cannot open log file "\/dev\/null\/skiff\/access.log": ENOTDIR/);
});

test('a throwing getter does not throw out of log()', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-al-'));
  try {
    const outputs = new LogOutputs({ baseDir: dir });
    const sink = createAccessLogSink([{ path: 'a.log', format: '%x%' }], outputs);
    sink.log(() => {
      throw new Error('plug-in bug');
    });
    sink.log(() => 'ok');
    await waitFor(() => read(join(dir, 'a.log')) === 'ok\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
