import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGoDuration, parseGoDuration } from './duration.js';

test('parses what Go time.ParseDuration parses', () => {
  const cases: [string, number][] = [['300ms', 300], ['1.5s', 1500], ['1m30s', 90000], ['1h', 3600000], ['0', 0], ['-2s', -2000], ['100us', 0.1], ['100µs', 0.1], ['10ns', 0.00001], ['.5s', 500], ['2h45m', 9900000]];
  for (const [text, ms] of cases) assert.equal(parseGoDuration(text), ms, text);
});

test('rejects what Go rejects', () => {
  for (const bad of ['', '1', 's', '1x', '1.2.3s', '--1s', ' 1s']) assert.equal(typeof parseGoDuration(bad), 'string', bad);
});

test('formats like Go', () => {
  assert.equal(formatGoDuration(0), '0s');
  assert.equal(formatGoDuration(1500), '1.5s');
  assert.equal(formatGoDuration(90000), '1m30s');
  assert.equal(formatGoDuration(250), '250ms');
});
