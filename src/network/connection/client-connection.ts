/**
 * Network layer: `ClientConnection`, an upstream `SocketConnection` opened with `net.connect` to a
 * TCP or unix address. It reports `Connected` or `ConnectFailed` (with `closeReason`
 * `ECONNREFUSED`, `connect_timeout`, …) to its callbacks, always asynchronously, so the caller can
 * attach callbacks and read filters right after construction. Reading starts on connect.
 */
import { Socket } from 'node:net';
import type { Address } from '../../api/config.js';
import { SocketConnection, type SocketConnectionOptions } from './socket-connection.js';

export interface ClientConnectionOptions extends Omit<SocketConnectionOptions, 'connectTo' | 'connectTimeoutMs'> {
  /** 0 = no connect timeout (the OS one applies). */
  readonly connectTimeoutMs: number;
}

export class ClientConnection extends SocketConnection {
  readonly target: Address;

  constructor(address: Address, options: ClientConnectionOptions) {
    super(new Socket({ allowHalfOpen: true }), { ...options, connectTo: address });
    this.target = address;
  }
}
