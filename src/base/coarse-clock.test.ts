import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coarseNow } from './coarse-clock.js';

test('coarseNow: one value per event-loop turn, fresh in the next turn', async () => {
  const a = coarseNow();
  const spin = Date.now() + 5;
  while (Date.now() < spin) { /* let real time pass within this turn */ }
  assert.equal(coarseNow(), a, 'the same turn reads the same value');
  await new Promise((r) => setTimeout(r, 5));
  const b = coarseNow();
  assert.ok(b >= a + 5, `a later turn reads the real time (${b - a} ms later)`);
  assert.ok(Math.abs(b - Date.now()) <= 2);
});
