// Custom filters loaded from a JS module named by the Skiff key `skiff_module`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { NetworkFilterFactory } from '../../src/api/extension.js';
import { loadConfigDocument } from '../../src/config/index.js';
import { CONFIG_TEST_DIR, testRegistries } from './test-registries.js';

const baseDir = join(CONFIG_TEST_DIR, 'fixtures');
const doc = (listener: Record<string, unknown>) => ({ servers: [{ listeners: [{ name: 'l', address: '127.0.0.1:2045', bind_port: true, ...listener }] }] });

test('a custom stream filter and a custom network filter load, register and parse', async () => {
  const registries = testRegistries();
  const { config, warnings } = await loadConfigDocument(doc({
    filter_chains: [{ filters: [{ type: 'echo', skiff_module: './custom-network-filter.mjs', config: { prefix: '> ' } }] }],
    stream_filters: [
      { type: 'add_header', skiff_module: './custom-stream-filter.mjs', config: { header: 'x-skiff', value: 1, extra: true } },
      { type: 'add_header', skiff_module: 'custom-stream-filter.mjs', config: { header: 'x-two' } },
    ],
  }), { registries, baseDir });
  const l = config.server.listeners[0];
  assert.deepEqual(l?.filterChains[0]?.filters, [{ type: 'echo', config: { prefix: '> ' }, module: join(baseDir, 'custom-network-filter.mjs') }]);
  assert.deepEqual(l?.streamFilters.map((f) => [f.config, f.module]), [
    [{ header: 'x-skiff', value: '1' }, join(baseDir, 'custom-stream-filter.mjs')],
    [{ header: 'x-two', value: '' }, join(baseDir, 'custom-stream-filter.mjs')],
  ]);
  // the module's ctx.warn lands with its path
  assert.deepEqual(warnings, [{ path: 'servers[0].listeners[0].stream_filters[0].config.extra', message: 'extra is ignored' }]);
  assert.ok(registries.streamFilters.has('add_header'));

  // the registered network factory really works: its creator installs a read filter that echoes
  const echo = registries.networkFilters.get('echo') as NetworkFilterFactory<unknown>;
  const written: Buffer[] = [];
  let filter: { onData(b: Buffer): unknown } | undefined;
  const fakeConnection = { addReadFilter: (f: { onData(b: Buffer): unknown }) => { filter = f; }, write: (b: Buffer) => { written.push(b); } };
  echo.create(l?.filterChains[0]?.filters[0]?.config, {} as never)(fakeConnection as never);
  filter?.onData(Buffer.from('hi'));
  assert.equal(Buffer.concat(written).toString(), '> hi');

  // loading again with the same registries (a live update) does not register twice
  await loadConfigDocument(doc({ stream_filters: [{ type: 'add_header', skiff_module: './custom-stream-filter.mjs', config: { header: 'h' } }] }), { registries, baseDir });
  assert.equal(registries.streamFilters.names().filter((n) => n === 'add_header').length, 1);
});

const rejectsAt = async (listener: Record<string, unknown>, path: string, message: RegExp) => {
  await assert.rejects(loadConfigDocument(doc(listener), { registries: testRegistries(), baseDir }), (err: unknown) => {
    const text = (err as Error).message;
    assert.ok(text.split('\n').some((line) => line.startsWith(`${path}: `) && message.test(line)), text);
    return true;
  });
};

test('bad skiff_modules are errors at the skiff_module path', async () => {
  const at = 'servers[0].listeners[0].stream_filters[0].skiff_module';
  await rejectsAt({ stream_filters: [{ type: 'x', skiff_module: './missing.mjs' }] }, at, /cannot load skiff_module "\.\/missing\.mjs"/);
  await rejectsAt({ stream_filters: [{ type: 'x', skiff_module: './not-a-factory.mjs' }] }, at, /must default-export a filter factory/);
  await rejectsAt({ stream_filters: [{ type: 'echo', skiff_module: './custom-network-filter.mjs' }] }, at, /exports a network_filter factory, but it is used as a stream_filter/);
  await rejectsAt({ stream_filters: [{ type: 'other', skiff_module: './custom-stream-filter.mjs', config: { header: 'h' } }] }, at, /exports factory "add_header", but the filter type is "other"/);
  await rejectsAt({ filter_chains: [{ filters: [{ type: 'tcp_proxy', skiff_module: './shadows-tcp-proxy.mjs' }] }] },
    'servers[0].listeners[0].filter_chains[0].filters[0].skiff_module', /network filter "tcp_proxy" is already registered \(a built-in or another module\)/);
});

test('a module factory that throws a plain Error is reported at the config path', async () => {
  await rejectsAt({ stream_filters: [{ type: 'add_header', skiff_module: './custom-stream-filter.mjs', config: {} }] },
    'servers[0].listeners[0].stream_filters[0].config', /stream filter "add_header": header is required/);
});
