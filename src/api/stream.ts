/**
 * API layer (plug-in SDK): stream (per-request) filter contracts, MOSN's phases
 * (api: stream_filter.go). The L7 proxy that drives them lands with the HTTP/1 work; the contract
 * is fixed here so custom stream filters can already be written, loaded and validated.
 */
import type { HeaderMap } from './protocol.js';

/** When a receiver filter runs in the request's phase machine. */
export const StreamFilterPhase = { BeforeRoute: 0, AfterRoute: 1, AfterChooseHost: 2 } as const;
export type StreamFilterPhase = (typeof StreamFilterPhase)[keyof typeof StreamFilterPhase];

/** `Stop` pauses the chain: the filter later calls `continue()` or `sendLocalReply()` on its handler. */
export const StreamFilterStatus = { Continue: 0, Stop: 1 } as const;
export type StreamFilterStatus = (typeof StreamFilterStatus)[keyof typeof StreamFilterStatus];

/** What a stream filter can do to its stream. */
export interface StreamFilterHandler {
  continue(): void;
  sendLocalReply(status: number, body: string, headers?: Readonly<Record<string, string>>): void;
  getVariable(name: string): string | undefined;
  setVariable(name: string, value: string): void;
}

export interface StreamReceiverFilter {
  setHandler?(handler: StreamFilterHandler): void;
  onReceive(headers: HeaderMap, data: Buffer | undefined, trailers: HeaderMap | undefined): StreamFilterStatus;
  onDestroy?(): void;
}

export interface StreamSenderFilter {
  setHandler?(handler: StreamFilterHandler): void;
  append(headers: HeaderMap, data: Buffer | undefined, trailers: HeaderMap | undefined): StreamFilterStatus;
  onDestroy?(): void;
}

export interface StreamFilterChainBuilder {
  addReceiverFilter(filter: StreamReceiverFilter, phase: StreamFilterPhase): void;
  addSenderFilter(filter: StreamSenderFilter): void;
}
