import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { ConnectionEvent, FilterStatus } from '../../api/network.js';
import { RecordingLogger } from '../../../test/fakes/logger.js';
import { refusedAddress, startEchoServer, startServer, waitFor } from '../../../test/fakes/net-fixtures.js';
import { ClientConnection } from './client-connection.js';

const logger = new RecordingLogger();

test('client connect to a refused port reports ConnectFailed (asynchronously) with ECONNREFUSED', async () => {
  const addr = await refusedAddress();
  const events: string[] = [];
  let hookEvent = '';
  const c = new ClientConnection(addr, { ownerName: 'c1', connectTimeoutMs: 1000, bufferLimitBytes: 1024, logger, onClose: (_c, e) => { hookEvent = e; } });
  c.addConnectionCallbacks({ onEvent: (e) => events.push(e) }); // added after construction: still sees the result
  await waitFor(() => c.closed);
  assert.deepEqual(events, [ConnectionEvent.ConnectFailed]);
  assert.equal(c.closeReason, 'ECONNREFUSED');
  assert.equal(hookEvent, ConnectionEvent.ConnectFailed);
  assert.equal(c.write(Buffer.from('x')), false); // safe after close
  c.close('now');
});

test('high/low watermarks follow the write buffer; readDisable is counted', async () => {
  let serverSocket: Socket | undefined;
  const received: Buffer[] = [];
  const srv = await startServer((s) => {
    serverSocket = s;
    s.pause();
    s.on('data', (d: Buffer) => received.push(d));
  });
  const marks: string[] = [];
  const c = new ClientConnection(srv.address, { ownerName: 'c1', connectTimeoutMs: 1000, bufferLimitBytes: 64 * 1024, logger });
  c.addConnectionCallbacks({
    onEvent: (e) => marks.push(e),
    onAboveWriteBufferHighWatermark: () => marks.push('above'),
    onBelowWriteBufferLowWatermark: () => marks.push('below'),
  });
  try {
    await waitFor(() => marks.includes(ConnectionEvent.Connected));
    const chunk = Buffer.alloc(256 * 1024, 7);
    let writes = 0;
    while (c.write(chunk)) {
      if (++writes > 400) assert.fail('write() never reported backpressure');
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(marks, [ConnectionEvent.Connected, 'above']);
    assert.ok(c.writeBufferedBytes > 64 * 1024);
    serverSocket?.resume();
    await waitFor(() => marks.includes('below'), 5000, 'low watermark');
    const total = (writes + 1) * chunk.length;
    await waitFor(() => received.reduce((n, b) => n + b.length, 0) === total, 5000, 'all bytes');
    assert.equal(c.counters.bytesWritten, total);

    // Counted read-disable: two disables need two enables.
    const got: string[] = [];
    c.addReadFilter({ onData: (d) => { got.push(d.toString()); return FilterStatus.Stop; } });
    c.readDisable(true);
    c.readDisable(true);
    serverSocket?.write('ping');
    await new Promise((r) => setTimeout(r, 50));
    c.readDisable(false);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(got, []);
    c.readDisable(false);
    await waitFor(() => got.join('') === 'ping');
  } finally {
    c.close('now');
    await srv.close();
  }
});

test('the idle timer is refreshed by reads and writes, then closes a quiet connection', async () => {
  const srv = await startEchoServer();
  const c = new ClientConnection(srv.address, { ownerName: 'c1', connectTimeoutMs: 1000, bufferLimitBytes: 1024, logger });
  const echoed: Buffer[] = [];
  c.addReadFilter({ onData: (d) => { echoed.push(d); return FilterStatus.Stop; } });
  const events: string[] = [];
  c.addConnectionCallbacks({ onEvent: (e) => events.push(e) });
  try {
    await waitFor(() => events.includes(ConnectionEvent.Connected));
    c.setIdleTimeout(150);
    // Traffic every 50 ms for 400 ms keeps the connection alive past its idle timeout.
    for (let i = 0; i < 8; i++) {
      c.write(Buffer.from('.'));
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(c.closed, false);
    await waitFor(() => c.closed, 2000, 'idle close');
    assert.equal(c.closeReason, 'idle_timeout');
    assert.equal(Buffer.concat(echoed).toString(), '........');
  } finally {
    c.close('now');
    await srv.close();
  }
});
