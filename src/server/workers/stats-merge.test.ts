import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { StatsSnapshot } from '../../observability/index.js';
import { mergeStatsSnapshots, overlayStats } from './stats-merge.js';

test('counters and gauges are summed per type, labels and key', () => {
  const a: StatsSnapshot = { downstream: { 'listener.l1': { request_total: '3', connection_active: '1' } } };
  const b: StatsSnapshot = { downstream: { 'listener.l1': { request_total: '4', connection_active: '2' } } };
  assert.deepEqual(mergeStatsSnapshots([a, b]), { downstream: { 'listener.l1': { request_total: '7', connection_active: '3' } } });
});

test('_min takes the minimum and _max the maximum', () => {
  const a: StatsSnapshot = { upstream: { 'cluster.c': { rt_min: '5', rt_max: '50', rt_count: '2' } } };
  const b: StatsSnapshot = { upstream: { 'cluster.c': { rt_min: '2', rt_max: '30', rt_count: '1' } } };
  assert.deepEqual(mergeStatsSnapshots([a, b]), { upstream: { 'cluster.c': { rt_min: '2', rt_max: '50', rt_count: '3' } } });
});

test('types, label sets and keys only some workers have are kept; text keeps the first value', () => {
  const a: StatsSnapshot = { downstream: { 'listener.l1': { request_total: '1', version: 'v1' } } };
  const b: StatsSnapshot = {
    downstream: { 'listener.l2': { request_total: '2' }, 'listener.l1': { version: 'v2', extra: '9' } },
    upstream: { 'cluster.c': { request_total: '5' } },
  };
  assert.deepEqual(mergeStatsSnapshots([a, b]), {
    downstream: { 'listener.l1': { request_total: '1', version: 'v1', extra: '9' }, 'listener.l2': { request_total: '2' } },
    upstream: { 'cluster.c': { request_total: '5' } },
  });
});

test('the inputs are not modified; no workers → empty', () => {
  const a: StatsSnapshot = { downstream: { 'listener.l1': { request_total: '1' } } };
  const copy = structuredClone(a);
  mergeStatsSnapshots([a, a]);
  assert.deepEqual(a, copy);
  assert.deepEqual(mergeStatsSnapshots([]), {});
});

test('the controller overlays its own state gauge instead of a sum', () => {
  const merged = mergeStatsSnapshots([
    { meta: { 'mosn.info': { mosn_state_code: '6' } } },
    { meta: { 'mosn.info': { mosn_state_code: '6' } } },
  ]);
  assert.equal(merged['meta']?.['mosn.info']?.['mosn_state_code'], '12');
  overlayStats(merged, { meta: { 'mosn.info': { mosn_state_code: '6' } } });
  assert.equal(merged['meta']?.['mosn.info']?.['mosn_state_code'], '6');
});

test('property: a summed key equals the sum over workers, whatever the order', () => {
  const worker = fc.record({ a: fc.nat(1_000_000), b: fc.nat(1_000_000), lat_max: fc.nat(10_000), lat_min: fc.nat(10_000) });
  fc.assert(
    fc.property(fc.array(worker, { minLength: 1, maxLength: 8 }), (ws) => {
      const snaps: StatsSnapshot[] = ws.map((w) => ({ t: { l: { a: String(w.a), b: String(w.b), lat_max: String(w.lat_max), lat_min: String(w.lat_min) } } }));
      const m = mergeStatsSnapshots(snaps)['t']?.['l'];
      const r = mergeStatsSnapshots([...snaps].reverse())['t']?.['l'];
      assert.deepEqual(m, r);
      assert.equal(m?.['a'], String(ws.reduce((s, w) => s + w.a, 0)));
      assert.equal(m?.['lat_max'], String(Math.max(...ws.map((w) => w.lat_max))));
      assert.equal(m?.['lat_min'], String(Math.min(...ws.map((w) => w.lat_min))));
    }),
  );
});
