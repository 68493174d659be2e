/**
 * Network layer: `ClientConnection`, an upstream `SocketConnection` opened with `net.connect` to a
 * TCP or unix address. It reports `Connected` or `ConnectFailed` (with `closeReason`
 * `ECONNREFUSED`, `connect_timeout`, …) to its callbacks, always asynchronously, so the caller can
 * attach callbacks and read filters right after construction. Reading starts on connect. With `tls`
 * the socket is a `TLSSocket` and "connected" means the handshake verified the server (a bad
 * certificate is a connect failure, never a plaintext fallback).
 */
import { Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { Address } from '../../api/config.js';
import { SocketConnection, type SocketConnectionOptions } from './socket-connection.js';

export interface ClientConnectionOptions extends Omit<SocketConnectionOptions, 'connectTo' | 'connectTimeoutMs' | 'connecting'> {
  /** 0 = no connect timeout (the OS one applies); with TLS it covers the handshake too. */
  readonly connectTimeoutMs: number;
  /** Upstream TLS (cluster `tls_context`): `Connected` once the server is verified; a failed verification is a connect failure. */
  readonly tls?: ConnectionOptions;
}

function tlsSocket(address: Address, tls: ConnectionOptions): Socket {
  const where = address.kind === 'tcp' ? { host: address.host, port: address.port } : { path: address.path };
  return tlsConnect({ ...tls, ...where });
}

export class ClientConnection extends SocketConnection {
  readonly target: Address;

  constructor(address: Address, options: ClientConnectionOptions) {
    const { tls, ...rest } = options;
    if (tls === undefined) super(new Socket({ allowHalfOpen: true }), { ...rest, connectTo: address });
    else super(tlsSocket(address, tls), { ...rest, connectTo: address, connecting: 'secureConnect' });
    this.target = address;
  }
}
