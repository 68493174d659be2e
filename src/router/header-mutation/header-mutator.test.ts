import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MutableHeaders } from '../route-request.js';
import { compileHeaderMutator, noHeaderMutation } from './header-mutator.js';

class MapHeaders implements MutableHeaders {
  readonly map = new Map<string, string>();
  readonly log: string[] = [];
  constructor(init: Record<string, string> = {}) { for (const [k, v] of Object.entries(init)) this.map.set(k, v); }
  get(n: string) { return this.map.get(n); }
  set(n: string, v: string) { this.log.push(`set ${n}=${v}`); this.map.set(n, v); }
  delete(n: string) { this.log.push(`del ${n}`); this.map.delete(n); }
}
const vars = { getVariable: (n: string) => ({ upstream_host: '10.0.0.1:80', x: 'X' } as Record<string, string>)[n] };
const add = (key: string, value: string, append = false) => ({ key, value, append });

test('no mutations → the shared no-op', () => {
  assert.equal(compileHeaderMutator([{ add: [], remove: [] }, { add: [], remove: [] }]), noHeaderMutation);
});

test('order: route, then virtual host, then router config; adds before removes in a level', () => {
  const apply = compileHeaderMutator([
    { add: [add('X-Level', 'route')], remove: ['x-drop'] },
    { add: [add('x-level', 'vhost')], remove: [] },
    { add: [add('x-level', 'router', true)], remove: ['x-level-none'] },
  ]);
  const h = new MapHeaders({ 'x-drop': '1' });
  apply(h, vars);
  assert.deepEqual(h.log, ['set x-level=route', 'del x-drop', 'set x-level=vhost', 'set x-level=vhost, router', 'del x-level-none']);
  assert.equal(h.get('x-level'), 'vhost, router');
});

const cases: [string, ReturnType<typeof add>, Record<string, string>, string][] = [
  ['literal replaces', add('a', 'v'), { a: 'old' }, 'v'],
  ['append joins with ", "', add('a', 'v', true), { a: 'old' }, 'old, v'],
  ['append to missing sets', add('a', 'v', true), {}, 'v'],
  ['append to empty sets', add('a', 'v', true), { a: '' }, 'v'],
  ['%var% resolves', add('a', '%upstream_host%'), {}, '10.0.0.1:80'],
  ['unknown %var% → empty', add('a', '%nope%'), {}, ''],
  ['only whole-value %var% is a variable', add('a', 'pre-%x%'), {}, 'pre-%x%'],
  ['"%%" is a literal', add('a', '%%'), {}, '%%'],
];
for (const [name, option, init, expected] of cases) {
  test(`header add: ${name}`, () => {
    const h = new MapHeaders(init);
    compileHeaderMutator([{ add: [option], remove: [] }])(h, vars);
    assert.equal(h.get('a'), expected);
  });
}
