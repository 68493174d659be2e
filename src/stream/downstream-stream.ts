/**
 * Stream layer: what the L7 proxy's per-request phase machine (`ActiveStream`) needs from a downstream
 * request/response exchange, whatever the protocol: HTTP/1 (`Http1ServerStream`) or HTTP/2
 * (`Http2ServerStream`). The request arrives as an HTTP/1-shaped head (`Http1Head`: HTTP/2 pseudo
 * headers mapped to method, path and host) and events; the response goes out through these calls.
 */
import type { Connection } from '../api/network.js';
import type { Http1Head } from '../protocol/http1/http1-types.js';

export interface ServerStreamEvents {
  onBody(chunk: Buffer): void;
  onTrailers(trailers: string[]): void;
  /** The request message is complete. */
  onEnd(): void;
  /** Tunnel bytes from the client after `acceptUpgrade` (`end` = the client half-closed). */
  onTunnelData(chunk: Buffer, end: boolean): void;
  /** The client closed or reset the stream before it finished. */
  onReset(reason: string): void;
  /** The client's write buffer drained below the low watermark. */
  onWritable(): void;
}

export interface DownstreamStream {
  readonly head: Http1Head;
  events: ServerStreamEvents;
  readonly connection: Connection;
  /** `HTTP/1.1`, `HTTP/1.0`, `HTTP/2` (access logs). */
  readonly protocol: string;
  readonly headersSent: boolean;
  /** Status sent (0 before headers). */
  readonly statusCode: number;
  readonly bytesSent: number;
  /** Ask for the connection to close after this response (HTTP/1 only; HTTP/2 keeps its connection). */
  setCloseAfter(): void;
  sendInterim(statusCode: number, reason: string, headers: readonly string[]): void;
  /**
   * Final response head. `headers` is a flat name/value list without hop-by-hop fields. `bodyLength`:
   * -1 unknown, 0+ declared. `bodyless`: HEAD, 204, 304.
   */
  sendHeaders(statusCode: number, reason: string, headers: string[], bodyLength: number, bodyless: boolean, upgrade?: boolean): void;
  /** False when the client's buffer is full (wait for `onWritable`). */
  sendData(chunk: Buffer): boolean;
  sendEnd(trailers?: readonly string[]): void;
  localReply(statusCode: number, body: string, extraHeaders?: readonly string[], close?: boolean): void;
  /** Abort the response (HTTP/1: close the connection; HTTP/2: RST_STREAM). */
  reset(reason: string): void;
  acceptUpgrade(): void;
  tunnelWrite(chunk: Buffer): boolean;
  tunnelEnd(): void;
  /** Pause/resume reading the request body; calls must pair. */
  readDisable(disabled: boolean): void;
}

/** Creates the events object of each new downstream stream (the proxy). */
export interface DownstreamOwner {
  newStream(stream: DownstreamStream, head: Http1Head): ServerStreamEvents;
}
