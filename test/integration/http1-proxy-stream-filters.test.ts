// Stream filter chains run in the proxy's phase machine (issue 3 Deliver 1): receiver filters at
// MOSN's three phases (BeforeRoute, AfterRoute, AfterChooseHost) in order, Stop + continue() later,
// sendLocalReply, variables visible to routing and header mutation, sender filters on the response head.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamFilterFactory } from '../../src/api/extension.js';
import type { HeaderMap } from '../../src/api/protocol.js';
import { StreamFilterPhase, StreamFilterStatus, type StreamFilterHandler } from '../../src/api/stream.js';
import { createBuiltinRegistries } from '../../src/registry/registries.js';
import { l7Document, startSkiff } from '../fakes/l7-harness.js';
import { startUpstream } from '../fakes/skiff-process.js';
import { httpRequest } from '../fakes/skiff-process.js';

interface Trace { events: string[] }

function filterFactory(trace: Trace): StreamFilterFactory<{ mode: string }> {
  return {
    kind: 'stream_filter',
    name: 'test_trace',
    parseConfig: (raw) => ({ mode: String((raw as { mode?: string } | undefined)?.mode ?? 'pass') }),
    create: (config) => (chain) => {
      let handler: StreamFilterHandler | undefined;
      const at = (phase: StreamFilterPhase, label: string) => ({
        setHandler(h: StreamFilterHandler) { handler = h; },
        onReceive(headers: HeaderMap): StreamFilterStatus {
          trace.events.push(label);
          const path = handler!.getVariable('x-mosn-path') ?? '';
          if (phase === StreamFilterPhase.BeforeRoute && path === '/deny') {
            handler!.sendLocalReply(403, 'denied by filter\n');
            return StreamFilterStatus.Stop;
          }
          if (phase === StreamFilterPhase.BeforeRoute && path === '/pause') {
            // resume later, from a timer: the phase machine must re-enter where it stopped
            setTimeout(() => { headers.set('x-resumed', 'yes'); handler!.continue(); }, 30);
            return StreamFilterStatus.Stop;
          }
          if (phase === StreamFilterPhase.BeforeRoute && path === '/sync') {
            handler!.continue(); // done at once after all, then says Stop: the chain must go on
            return StreamFilterStatus.Stop;
          }
          if (phase === StreamFilterPhase.AfterRoute) handler!.setVariable('my_var', 'from-filter');
          return StreamFilterStatus.Continue;
        },
      });
      chain.addReceiverFilter(at(StreamFilterPhase.BeforeRoute, 'before_route'), StreamFilterPhase.BeforeRoute);
      chain.addReceiverFilter(at(StreamFilterPhase.AfterRoute, 'after_route'), StreamFilterPhase.AfterRoute);
      chain.addReceiverFilter(at(StreamFilterPhase.AfterChooseHost, 'after_choose_host'), StreamFilterPhase.AfterChooseHost);
      chain.addSenderFilter({
        append(headers: HeaderMap): StreamFilterStatus {
          trace.events.push('send');
          headers.set('x-filter-mode', config.mode);
          return StreamFilterStatus.Continue;
        },
      });
    },
  };
}

test('stream filters: phases in order, Stop/continue, local reply, variables, sender filter', async () => {
  const seen: string[] = [];
  const origin = await startUpstream((s) => {
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let at: number;
      while ((at = buf.indexOf('\r\n\r\n')) >= 0) {
        seen.push(buf.slice(0, at));
        buf = buf.slice(at + 4);
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
    });
    s.on('error', () => undefined);
  });
  const trace: Trace = { events: [] };
  const registries = createBuiltinRegistries();
  registries.streamFilters.register(filterFactory(trace));
  const doc = l7Document({
    clusters: { c1: [`127.0.0.1:${origin.port}`] },
    virtualHosts: [{ name: 'all', domains: ['*'], routers: [{
      match: { prefix: '/' },
      route: { cluster_name: 'c1', request_headers_to_add: [{ header: { key: 'x-var', value: '%my_var%' } }] },
    }] }],
    listener: { stream_filters: [{ type: 'test_trace', config: { mode: 'm1' } }] },
  });
  const skiff = await startSkiff(doc, process.cwd(), registries);
  try {
    const port = skiff.port();
    const ok = await httpRequest(port, 'GET', '/hello');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-filter-mode'], 'm1', 'the sender filter changed the response head');
    assert.deepEqual(trace.events, ['before_route', 'after_route', 'after_choose_host', 'send']);
    assert.match(seen.at(-1)!, /\r\nx-var: from-filter/i, 'a variable set by a filter feeds %var% header values');

    trace.events.length = 0;
    const denied = await httpRequest(port, 'GET', '/deny');
    assert.equal(denied.status, 403);
    assert.equal(denied.body, 'denied by filter\n');
    assert.deepEqual(trace.events, ['before_route'], 'nothing after the local reply');
    assert.equal(seen.length, 1, 'the denied request never reached the origin');

    trace.events.length = 0;
    const paused = await httpRequest(port, 'GET', '/pause');
    assert.equal(paused.status, 200);
    assert.deepEqual(trace.events, ['before_route', 'after_route', 'after_choose_host', 'send'], 'continue() resumed the chain after the stopped filter');
    assert.match(seen.at(-1)!, /\r\nx-resumed: yes/i);

    trace.events.length = 0;
    const sync = await httpRequest(port, 'GET', '/sync');
    assert.equal(sync.status, 200, 'continue() called before returning Stop does not stall the request');
    assert.deepEqual(trace.events, ['before_route', 'after_route', 'after_choose_host', 'send']);
  } finally {
    await skiff.close();
    await origin.close();
  }
});
