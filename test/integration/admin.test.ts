/** Admin API of a real `skiff start`: every endpoint, redaction, selectors, method/content-type guards. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { echo, echoRoundTrip, proxyConfig, SkiffProcess, startUpstream, tempDir, writeJson } from '../fakes/skiff-process.js';

let skiff: SkiffProcess;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
const t = tempDir();
const SECRET = '-----BEGIN PRIVATE KEY-----MIIEvAIBADANBgkqhkiG9w0BAQEFAASC-----END PRIVATE KEY-----';

before(async () => {
  upstream = await startUpstream(echo);
  const doc = proxyConfig({ listeners: [{ name: 'l1', cluster: 'c1' }], clusters: [{ name: 'c1', ports: [upstream.port] }] });
  const cluster = ((doc['cluster_manager'] as Record<string, unknown>)['clusters'] as Record<string, unknown>[])[0] as Record<string, unknown>;
  cluster['tls_context'] = { status: false, private_key: SECRET };
  skiff = await SkiffProcess.start(writeJson(t.dir, 'admin.json', doc));
});

after(async () => {
  await skiff?.stop();
  await upstream?.close();
  t.cleanup();
});

test('/ lists the endpoints; /api/v1/version names the version', async () => {
  const list = await skiff.admin('GET', '/');
  assert.equal(list.status, 200);
  for (const p of ['/api/v1/config_dump', '/api/v1/stats', '/api/v1/states', '/api/v1/get_loglevel', '/api/v1/update_loglevel', '/ready', '/health', '/api/v1/config', '/debug/update_config']) {
    assert.ok(list.body.includes(p), p);
  }
  const v = await skiff.admin('GET', '/api/v1/version');
  assert.match(v.body, /^skiff version: \d+\.\d+\.\d+\n$/);
});

test('/api/v1/states is pid=<pid>&state=6 while running; /ready and /health are 200', async () => {
  const s = await skiff.admin('GET', '/api/v1/states');
  assert.equal(s.body, `pid=${skiff.child.pid}&state=6\n`);
  assert.equal((await skiff.admin('GET', '/ready')).status, 200);
  assert.equal((await skiff.admin('GET', '/health')).status, 200);
});

test('config_dump: MOSN shape, private_key redacted', async () => {
  const d = await skiff.admin('GET', '/api/v1/config_dump');
  assert.equal(d.status, 200);
  assert.ok(!d.body.includes('MIIEvAIBADANBgkqhkiG9w0BAQEFAASC'), 'the key never appears');
  const dump = d.json<{ mosn_config: Record<string, unknown>; listener: Record<string, unknown>; cluster: Record<string, { tls_context: { private_key: string } }>; routers: Record<string, unknown> }>();
  assert.deepEqual(Object.keys(dump.listener), ['l1']);
  assert.deepEqual(Object.keys(dump.cluster), ['c1']);
  assert.equal(dump.cluster['c1']?.tls_context.private_key, '[redacted]');
  assert.ok(Array.isArray(dump.mosn_config['servers']));
});

test('config_dump selectors, unknown names 404, more than one parameter 400', async () => {
  assert.deepEqual(Object.keys((await skiff.admin('GET', '/api/v1/config_dump?alllisteners')).json<object>()), ['l1']);
  assert.deepEqual(Object.keys((await skiff.admin('GET', '/api/v1/config_dump?allclusters')).json<object>()), ['c1']);
  assert.deepEqual((await skiff.admin('GET', '/api/v1/config_dump?allrouters')).json(), {});
  assert.ok('servers' in (await skiff.admin('GET', '/api/v1/config_dump?mosnconfig')).json<object>());
  assert.equal((await skiff.admin('GET', '/api/v1/config_dump?listener=l1')).json<{ name: string }>().name, 'l1');
  const c1 = await skiff.admin('GET', '/api/v1/config_dump?cluster=c1');
  assert.equal(c1.json<{ name: string }>().name, 'c1');
  assert.ok(!c1.body.includes('MIIEvAIBADANBgkqhkiG9w0BAQEFAASC'));
  assert.equal((await skiff.admin('GET', '/api/v1/config_dump?listener=nope')).status, 404);
  assert.equal((await skiff.admin('GET', '/api/v1/config_dump?alllisteners&allclusters')).status, 400);
  assert.equal((await skiff.admin('GET', '/api/v1/config_dump?bogus')).status, 400);
});

test('/api/v1/stats: MOSN names after traffic; ?key= filters one type', async () => {
  assert.ok(await echoRoundTrip(skiff.listenerPort('l1'), randomBytes(10_000)));
  await new Promise((r) => setTimeout(r, 100));
  const all = (await skiff.admin('GET', '/api/v1/stats')).json<Record<string, Record<string, Record<string, string>>>>();
  assert.ok(Number(all['downstream']?.['listener.l1']?.['connection_total']) >= 1, JSON.stringify(all['downstream']));
  assert.equal(all['meta']?.['mosn.info']?.['mosn_state_code'], '6');
  const only = (await skiff.admin('GET', '/api/v1/stats?key=downstream')).json<object>();
  assert.deepEqual(Object.keys(only), ['downstream']);
});

test('update_loglevel then get_loglevel shows the new level; bad level or logger → 400', async () => {
  assert.deepEqual((await skiff.admin('GET', '/api/v1/get_loglevel')).json(), { stderr: 'INFO' });
  const ok = await skiff.admin('POST', '/api/v1/update_loglevel', { body: { log_path: 'stderr', log_level: 'DEBUG' } });
  assert.equal(ok.status, 200, ok.body);
  assert.deepEqual((await skiff.admin('GET', '/api/v1/get_loglevel')).json(), { stderr: 'DEBUG' });
  assert.equal((await skiff.admin('POST', '/api/v1/update_loglevel', { body: { log_path: 'stderr', log_level: 'LOUD' } })).status, 400);
  assert.equal((await skiff.admin('POST', '/api/v1/update_loglevel', { body: { log_path: '/nope.log', log_level: 'INFO' } })).status, 400);
  await skiff.admin('POST', '/api/v1/update_loglevel', { body: { log_path: 'stderr', log_level: 'INFO' } });
});

test('mutating endpoints: GET → 405 (Allow: POST), text/plain → 415, bad JSON → 400; read-only endpoints refuse POST', async () => {
  for (const p of ['/api/v1/update_loglevel', '/api/v1/config', '/debug/update_config']) {
    const g = await skiff.admin('GET', p);
    assert.equal(g.status, 405, p);
    assert.equal(g.headers['allow'], 'POST');
    const plain = await skiff.admin('POST', p, { body: '{"log_level":"DEBUG"}', contentType: 'text/plain' });
    assert.equal(plain.status, 415, p);
    const form = await skiff.admin('POST', p, { body: 'a=b', contentType: 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 415, p);
    const bad = await skiff.admin('POST', p, { body: '{nope', contentType: 'application/json; charset=utf-8' });
    assert.equal(bad.status, 400, p);
  }
  assert.equal((await skiff.admin('POST', '/api/v1/stats', { body: {} })).status, 405);
  assert.deepEqual((await skiff.admin('GET', '/api/v1/get_loglevel')).json(), { stderr: 'INFO' }, 'nothing changed');
});

test('/api/v1/config: an invalid document → 400 {error} naming the path; /debug/update_config extend → 400', async () => {
  const r = await skiff.admin('POST', '/api/v1/config', { body: { servers: [] } });
  assert.equal(r.status, 400);
  assert.match(r.json<{ error: string }>().error, /servers/);
  const e = await skiff.admin('POST', '/debug/update_config', { body: { type: 'extend', config: {} } });
  assert.equal(e.status, 400);
  assert.match(e.body, /extend/);
  const m = await skiff.admin('POST', '/debug/update_config', { body: { config: {} } });
  assert.equal(m.status, 400);
  assert.equal((await skiff.admin('GET', '/api/v1/states')).body, `pid=${skiff.child.pid}&state=6\n`);
});
