import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileAccessLogFormat, DEFAULT_ACCESS_LOG_FORMAT, parseAccessLogFormat } from './access-log-format.js';

const vars: Record<string, string> = { bytes_sent: '10', upstream_host: '127.0.0.1:80', empty: '' };
const get = (n: string): string | undefined => vars[n];

test('variables are replaced, literals kept, unknown and empty print "-"', () => {
  const f = compileAccessLogFormat('[%bytes_sent%] %upstream_host% %nope% %empty% end');
  assert.equal(f(get), '[10] 127.0.0.1:80 - - end');
});

test('a % that does not open a variable stays literal', () => {
  assert.equal(compileAccessLogFormat('100% sure %bytes_sent%')(get), '100% sure 10');
  assert.equal(compileAccessLogFormat('50%% of %bytes_sent%')(get), '50%% of 10');
  assert.equal(compileAccessLogFormat('trailing %bytes_sent')(get), 'trailing %bytes_sent');
  assert.equal(compileAccessLogFormat('')(get), '');
});

test('parse splits literals and names (literals = names + 1)', () => {
  const p = parseAccessLogFormat('%a%-%b%');
  assert.deepEqual(p, { literals: ['', '-', ''], names: ['a', 'b'] });
});

test('the default MOSN format compiles and names 17 variables', () => {
  const p = parseAccessLogFormat(DEFAULT_ACCESS_LOG_FORMAT);
  assert.equal(p.names.length, 17);
  assert.ok(p.names.includes('downstream_remote_address'));
  const line = compileAccessLogFormat(DEFAULT_ACCESS_LOG_FORMAT)(() => undefined);
  assert.match(line, /^- -  - -/);
});

test('the getter is called once per variable occurrence, in order', () => {
  const seen: string[] = [];
  compileAccessLogFormat('%x% %y% %x%')((n) => {
    seen.push(n);
    return n;
  });
  assert.deepEqual(seen, ['x', 'y', 'x']);
});
