import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatsStore } from '../observability/stats.js';
import { Stage, StageManager, stageName } from './stages.js';

test('stage numbers are MOSN’s', () => {
  assert.equal(Stage.Running, 6);
  assert.equal(Stage.GracefulStopping, 8);
  assert.equal(Stage.Stopped, 11);
  assert.equal(Stage.Upgrading, 13);
  assert.equal(stageName(Stage.AfterStart), 'AfterStart');
});

test('set notifies observers once per change and publishes meta mosn_state_code', () => {
  const stats = new StatsStore();
  const sm = new StageManager(stats);
  const seen: [number, number][] = [];
  sm.onChange((n, p) => seen.push([n, p]));
  sm.onChange(() => {
    throw new Error('observer bug');
  });
  sm.set(Stage.Initing);
  sm.set(Stage.Initing);
  sm.set(Stage.Running);
  assert.deepEqual(seen, [
    [2, 0],
    [6, 2],
  ]);
  assert.equal(stats.get('meta', { mosn: 'info' }, 'mosn_state_code'), 6);
  assert.equal(sm.stopping, false);
  sm.set(Stage.GracefulStopping);
  assert.equal(sm.stopping, true);
});
