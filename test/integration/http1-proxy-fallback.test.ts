// `fallback_for_unknown_protocol` (MOSN): a `proxy` listener that also serves non-HTTP clients
// through the next network filter (tcp_proxy). HTTP requests are proxied and never open the
// fallback's upstream; other bytes (also when the first read was too short to decide) reach the
// tcp_proxy upstream whole and in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { l7Document, startSkiff } from '../fakes/l7-harness.js';
import { rawRequest, ScriptedOrigin } from '../fakes/scripted-origin.js';

test('fallback_for_unknown_protocol: HTTP is proxied, other bytes go whole to tcp_proxy', async () => {
  const http = await ScriptedOrigin.start();
  let echoConnections = 0;
  const echo = net.createServer((s) => { echoConnections++; s.on('error', () => undefined); s.pipe(s); });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const echoPort = (echo.address() as net.AddressInfo).port;
  const doc = l7Document({
    clusters: { c1: [http.address], echo: [`127.0.0.1:${echoPort}`] },
    listener: {
      filter_chains: [{ filters: [
        { type: 'proxy', config: { downstream_protocol: 'Auto', router_config_name: 'r1', fallback_for_unknown_protocol: true } },
        { type: 'tcp_proxy', config: { cluster: 'echo' } },
      ] }],
    },
  });
  const skiff = await startSkiff(doc);
  try {
    const res = await rawRequest(skiff.port(), 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(res.status, 200);
    assert.equal(http.requests.length, 1);
    assert.equal(echoConnections, 0, 'an HTTP connection does not open the fallback upstream');

    const c = net.connect(skiff.port(), '127.0.0.1');
    await new Promise((r) => c.once('connect', r));
    let got = '';
    c.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    c.write('ABC'); // too short to decide: held
    await new Promise((r) => setTimeout(r, 50));
    c.write('DEFGHIJ\n'); // no HTTP method: fallback with the held bytes first
    c.write('more\n');
    const until = Date.now() + 3000;
    while (got.length < 'ABCDEFGHIJ\nmore\n'.length && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(got, 'ABCDEFGHIJ\nmore\n', 'every byte reached the tcp_proxy upstream, in order');
    assert.equal(echoConnections, 1);
    c.destroy();
  } finally {
    await skiff.close();
    await http.close();
    await new Promise<void>((r) => echo.close(() => r()));
  }
});
