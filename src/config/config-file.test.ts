import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonErrorOffset, lineCol, parseConfigText } from './config-file.js';
import { SkiffError } from '../base/errors.js';

test('JSON errors name line and column, also when V8 gives no position', () => {
  const cases: [string, string][] = [
    ['{\n  "a": 1,\n}', 'c.json:3:1: '],
    ['{\n  "a": tru\n}', 'c.json:2:11: '],
    ['[1,\n ]', 'c.json:2:2: '],
    ['{"a": 1', 'c.json:1:8: '],
    ['xyz', 'c.json:1:1: '],
  ];
  for (const [text, prefix] of cases) {
    assert.throws(() => parseConfigText(text, 'c.json'), (e: unknown) => {
      assert.ok(e instanceof SkiffError);
      assert.equal(e.code, 'E_CONFIG_SYNTAX');
      assert.ok(e.message.startsWith(prefix), `${JSON.stringify(text)} → ${e.message}`);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  }
});

test('jsonErrorOffset and lineCol', () => {
  assert.equal(jsonErrorOffset('{"a":1}'), 7);
  assert.equal(jsonErrorOffset('{"a":1}}'), 7);
  assert.equal(jsonErrorOffset('{"a" 1}'), 5);
  assert.deepEqual(lineCol('ab\ncd', 4), { line: 2, col: 2 });
});

test('YAML by extension, empty documents rejected', () => {
  assert.deepEqual(parseConfigText('a: 1\nb: [x, y]\n', 'c.yml'), { a: 1, b: ['x', 'y'] });
  assert.throws(() => parseConfigText('  \n', 'c.json'), /c\.json: the config file is empty/);
  assert.throws(() => parseConfigText('# only a comment\n', 'c.yaml'), /c\.yaml: the config file is empty/);
});
