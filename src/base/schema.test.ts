import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { duration, ignored, parseWithSchema } from './schema.js';
import { ConfigError } from './errors.js';

const collect = () => {
  const warnings: string[] = [];
  const notes: string[] = [];
  return { warnings, notes, ctx: { path: 'root', warn: (p: string, m: string) => warnings.push(`${p}: ${m}`), note: (p: string, m: string) => notes.push(`${p}: ${m}`) } };
};

const schema = z.object({
  name: z.string(),
  connect_timeout: duration().optional(),
  hosts: z.array(z.object({ address: z.string(), weight: z.number().default(1) })).default([]),
  log_path: ignored('MOSN ignores listener log_path'),
});

test('keys match case-insensitively, exact spelling preferred', () => {
  const { ctx } = collect();
  const v = parseWithSchema(schema, { Name: 'a', HOSTS: [{ Address: 'x' }] }, ctx);
  assert.deepEqual(v, { name: 'a', hosts: [{ address: 'x', weight: 1 }] });
  const w = parseWithSchema(schema, { NAME: 'upper', name: 'exact' }, ctx);
  assert.equal(w.name, 'exact');
});

test('unknown keys warn with a did-you-mean; ignored keys are noted', () => {
  const { ctx, warnings, notes } = collect();
  parseWithSchema(schema, { name: 'a', conect_timeout: '1s', log_path: '/x' }, ctx);
  assert.deepEqual(warnings, ['root.conect_timeout: unknown key "conect_timeout" ignored (did you mean "connect_timeout"?)']);
  assert.deepEqual(notes, ['root.log_path: MOSN ignores listener log_path']);
});

test('durations: Go strings and nanosecond integers', () => {
  const { ctx } = collect();
  assert.equal(parseWithSchema(schema, { name: 'a', connect_timeout: '1m30s' }, ctx).connect_timeout, 90000);
  assert.equal(parseWithSchema(schema, { name: 'a', connect_timeout: 250_000_000 }, ctx).connect_timeout, 250);
  assert.throws(() => parseWithSchema(schema, { name: 'a', connect_timeout: '10parsecs' }, ctx), (e: unknown) => e instanceof ConfigError && /root\.connect_timeout: unknown unit "parsecs"/.test(e.message));
});

test('errors name the JSON path of every problem', () => {
  const { ctx } = collect();
  assert.throws(() => parseWithSchema(schema, { hosts: [{ address: 'a' }, { address: 3 }] }, ctx), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(e.issues.map((i) => i.path), ['root.name', 'root.hosts[1].address']);
    assert.equal(e.issues[0]?.message, 'is required');
    return true;
  });
});
