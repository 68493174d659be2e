import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FILTER_RULES, KEY_RULES, checkKeys, keyRuleMessage } from './feature-policy.js';

test('docs/config-reference.md lists every policy rule', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../../docs/config-reference.md', import.meta.url)), 'utf8');
  for (const r of KEY_RULES) assert.ok(doc.includes(`| ${r.scope} | \`${r.key}\` | ${r.feature} |`), `${r.scope}.${r.key} missing from the docs table`);
  for (const r of FILTER_RULES) assert.ok(doc.includes(`\`${r.type}\` | ${r.feature} |`), `${r.type} missing from the docs table`);
});

test('rules fire only when the key asks for the feature; keys match case-insensitively', () => {
  const errors: string[] = [];
  const warnings: string[] = [];
  const sink = { error: (i: { path: string }) => errors.push(i.path), warn: (i: { path: string }) => warnings.push(i.path) };
  checkKeys('cluster', { Type: 'SIMPLE', health_check: { service_name: '' }, mark: 0 }, 'c', sink);
  assert.deepEqual([errors, warnings], [[], []]);
  checkKeys('cluster', { TYPE: 'ORIGINAL_DST', health_check: { service_name: 's' } }, 'c', sink);
  assert.deepEqual(errors, ['c.type']);
  assert.deepEqual(warnings, ['c.health_check']);
  assert.match(keyRuleMessage({ feature: 'X', action: 'fail_closed' }), /^X is not implemented in Skiff yet; refusing to start without it \(fail closed\)$/);
});
