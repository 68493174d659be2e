/**
 * Live config updates on a real `skiff start`, while a long tcp_proxy transfer runs through it:
 * add a listener and change a cluster, remove a listener (it drains), reject an invalid document
 * and a port already in use (nothing changes), and MOSN's /debug/update_config partial form.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { canConnect, echo, echoRoundTrip, proxyConfig, SkiffProcess, slowStreamer, startUpstream, tcpCollect, tempDir, writeJson } from '../fakes/skiff-process.js';

test('live updates keep an established transfer untouched', async () => {
  const t = tempDir();
  let streamHash = '';
  const TOTAL = 4 * 1024 * 1024;
  const stream = await startUpstream(slowStreamer(TOTAL, 3000, (h) => (streamHash = h)));
  let e2Connections = 0;
  const e1 = await startUpstream(echo);
  const e2 = await startUpstream((s) => {
    e2Connections++;
    echo(s);
  });
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const busyPort = (blocker.address() as net.AddressInfo).port;
  const v1 = proxyConfig({
    listeners: [
      { name: 'main', cluster: 'stream' },
      { name: 'old', cluster: 'echo', address: '127.0.0.2:0' },
    ],
    clusters: [
      { name: 'stream', ports: [stream.port] },
      { name: 'echo', ports: [e1.port] },
    ],
  });
  const skiff = await SkiffProcess.start(writeJson(t.dir, 'v1.json', v1));
  try {
    const transfer = tcpCollect(skiff.listenerPort('main'));
    await new Promise((r) => setTimeout(r, 300));

    // 1. add a listener and give cluster "echo" a second host
    const v2 = proxyConfig({
      listeners: [
        { name: 'main', cluster: 'stream' },
        { name: 'old', cluster: 'echo', address: '127.0.0.2:0' },
        { name: 'new', cluster: 'echo', address: '127.0.0.3:0' },
      ],
      clusters: [
        { name: 'stream', ports: [stream.port] },
        { name: 'echo', ports: [e1.port, e2.port] },
      ],
    });
    const r2 = await skiff.admin('POST', '/api/v1/config', { body: v2 });
    assert.equal(r2.status, 200, r2.body);
    const s2 = r2.json<{ version: number; added: { listeners: string[] }; updated: { clusters: string[] }; removed: { listeners: string[] } }>();
    assert.equal(s2.version, 2);
    assert.deepEqual(s2.added.listeners, ['new']);
    assert.deepEqual(s2.updated.clusters, ['echo']);
    assert.deepEqual(s2.removed.listeners, []);
    const newPort = await skiff.waitForListener('new');
    for (let i = 0; i < 4; i++) assert.ok(await echoRoundTrip(newPort, randomBytes(2048), '127.0.0.3'), 'the new listener serves');
    assert.ok(e2Connections >= 1, 'the added host receives connections');

    // 2. remove listener "old" while one of its connections is open: it stops accepting, the connection drains
    const oldPort = skiff.listenerPort('old');
    const held = net.connect(oldPort, '127.0.0.2');
    held.on('error', () => undefined);
    await new Promise((r) => held.once('connect', r));
    const v3 = structuredClone(v2);
    const listeners = ((v3['servers'] as Record<string, unknown>[])[0] as Record<string, unknown>)['listeners'] as { name: string }[];
    listeners.splice(listeners.findIndex((l) => l.name === 'old'), 1);
    const r3 = await skiff.admin('POST', '/api/v1/config', { body: v3 });
    assert.equal(r3.status, 200, r3.body);
    assert.deepEqual(r3.json<{ removed: { listeners: string[] } }>().removed.listeners, ['old']);
    assert.equal(await canConnect(oldPort, '127.0.0.2'), false, 'the removed listener no longer accepts');
    const payload = randomBytes(1000);
    const echoed = new Promise<Buffer>((resolve) => {
      const parts: Buffer[] = [];
      held.on('data', (d: Buffer) => {
        parts.push(d);
        if (Buffer.concat(parts).length >= payload.length) resolve(Buffer.concat(parts));
      });
    });
    held.write(payload);
    assert.deepEqual(await echoed, payload, 'its open connection still works while draining');
    held.destroy();

    // 3. an invalid document → 400 with the reason; the old config keeps serving
    const bad = structuredClone(v3);
    (((bad['servers'] as Record<string, unknown>[])[0] as Record<string, unknown>)['listeners'] as Record<string, unknown>[]).push({ name: 'broken', address: '127.0.0.9:99999' });
    const r4 = await skiff.admin('POST', '/api/v1/config', { body: bad });
    assert.equal(r4.status, 400);
    assert.match(r4.json<{ error: string }>().error, /servers\[0\]\.listeners\[2\]\.address/);
    assert.ok(await echoRoundTrip(newPort, randomBytes(512), '127.0.0.3'));

    // 4. a port already in use → rejected, nothing changes (not even the other changes in that document)
    const busy = structuredClone(v3);
    (((busy['servers'] as Record<string, unknown>[])[0] as Record<string, unknown>)['listeners'] as Record<string, unknown>[]).push({
      name: 'busy',
      address: `127.0.0.1:${busyPort}`,
      bind_port: true,
      filter_chains: [{ filters: [{ type: 'tcp_proxy', config: { cluster: 'echo' } }] }],
    });
    (((busy['cluster_manager'] as Record<string, unknown>)['clusters'] as Record<string, unknown>[])).push({ name: 'never', type: 'SIMPLE', hosts: [{ address: '127.0.0.1:1' }] });
    const r5 = await skiff.admin('POST', '/api/v1/config', { body: busy });
    assert.equal(r5.status, 400);
    assert.equal(r5.json<{ error: string }>().error, `listener "busy": address 127.0.0.1:${busyPort} is already in use`);
    const dump = (await skiff.admin('GET', '/api/v1/config_dump')).json<{ listener: object; cluster: object }>();
    assert.deepEqual(Object.keys(dump.listener).sort(), ['main', 'new']);
    assert.deepEqual(Object.keys(dump.cluster).sort(), ['echo', 'stream']);

    // 5. MOSN's partial form adds a cluster
    const r6 = await skiff.admin('POST', '/debug/update_config', {
      body: { type: 'cluster', config: { name: 'extra', type: 'SIMPLE', lb_type: 'LB_RANDOM', hosts: [{ address: `127.0.0.1:${e1.port}` }] } },
    });
    assert.equal(r6.status, 200, r6.body);
    assert.equal(r6.body, 'success\n');
    assert.equal((await skiff.admin('GET', '/api/v1/config_dump?cluster=extra')).status, 200);
    // ...and a listener that uses it
    const r7 = await skiff.admin('POST', '/debug/update_config', {
      body: { type: 'listener', config: [{ name: 'extra_l', address: '127.0.0.4:0', bind_port: true, filter_chains: [{ filters: [{ type: 'tcp_proxy', config: { cluster: 'extra' } }] }] }] },
    });
    assert.equal(r7.status, 200, r7.body);
    assert.ok(await echoRoundTrip(await skiff.waitForListener('extra_l'), randomBytes(512), '127.0.0.4'));

    // the long transfer finished byte-exact, untouched by all of the above
    const got = await transfer;
    assert.equal(got.bytes, TOTAL);
    assert.equal(got.sha256, streamHash);
    assert.ok(skiff.logs.some((l) => l.msg === 'listener drained' && l['listener'] === 'old'));
  } finally {
    await skiff.stop();
    blocker.close();
    await Promise.all([stream.close(), e1.close(), e2.close()]);
    t.cleanup();
  }
});
