/**
 * Proxy layer: one request's stream filter chain (MOSN's receiver filters at three phases, sender
 * filters on the response head), built from the listener's `stream_filters` creators. It remembers
 * where a Stop left the receivers, so the phase machine resumes there on `continue()`.
 */
import type { StreamFilterCreator } from '../../api/extension.js';
import type { HeaderMap } from '../../api/protocol.js';
import { StreamFilterStatus, type StreamFilterHandler, type StreamFilterPhase, type StreamReceiverFilter, type StreamSenderFilter } from '../../api/stream.js';

/** What running the receivers of a phase ended with. */
export const ChainResult = { Done: 0, Stopped: 1, Threw: 2 } as const;
export type ChainResult = (typeof ChainResult)[keyof typeof ChainResult];

type Receiver = { readonly f: StreamReceiverFilter; readonly phase: StreamFilterPhase };

/** The stream running the chain, as the chain needs it. */
export interface FilterChainOwner {
  /** The filter that just returned Stop already called `continue()`: consume that and go on. */
  consumeContinue(): boolean;
  /** A filter ended the stream (a local reply). */
  readonly filterAborted: boolean;
}

export class StreamFilterChain {
  readonly #receivers: readonly Receiver[];
  readonly #senders: readonly StreamSenderFilter[];
  #index = 0;
  /** The last filter's exception (for the caller's log line). */
  error: unknown;

  private constructor(receivers: readonly Receiver[], senders: readonly StreamSenderFilter[]) {
    this.#receivers = receivers;
    this.#senders = senders;
  }

  /** Runs the creators; undefined when they installed nothing. */
  static build(creators: readonly StreamFilterCreator[], handler: StreamFilterHandler): StreamFilterChain | undefined {
    const receivers: { f: StreamReceiverFilter; phase: StreamFilterPhase }[] = [];
    const senders: StreamSenderFilter[] = [];
    const builder = {
      addReceiverFilter(f: StreamReceiverFilter, phase: StreamFilterPhase): void { f.setHandler?.(handler); receivers.push({ f, phase }); },
      addSenderFilter(f: StreamSenderFilter): void { f.setHandler?.(handler); senders.push(f); },
    };
    for (const create of creators) create(builder);
    return receivers.length + senders.length === 0 ? undefined : new StreamFilterChain(receivers, senders);
  }

  /** Runs the receivers of `phase`, resuming after the one that last stopped. */
  runReceivers(phase: StreamFilterPhase, headers: HeaderMap, trailers: HeaderMap | undefined, owner: FilterChainOwner): ChainResult {
    const list = this.#receivers;
    for (; this.#index < list.length; this.#index++) {
      const r = list[this.#index]!;
      if (r.phase !== phase) continue;
      let status: StreamFilterStatus;
      try {
        status = r.f.onReceive(headers, undefined, trailers);
      } catch (err) {
        this.error = err;
        return ChainResult.Threw;
      }
      if (owner.filterAborted) return ChainResult.Stopped;
      if (status === StreamFilterStatus.Stop && !owner.consumeContinue()) {
        this.#index++;
        return ChainResult.Stopped;
      }
    }
    this.#index = 0;
    return ChainResult.Done;
  }

  /** Runs the sender filters on a response head (a filter's exception goes to `onError`; the rest still run). */
  runSenders(headers: HeaderMap, onError: (err: unknown) => void): void {
    for (const s of this.#senders) {
      try {
        if (s.append(headers, undefined, undefined) === StreamFilterStatus.Stop) break;
      } catch (err) {
        onError(err);
      }
    }
  }

  destroy(): void {
    for (const r of this.#receivers) r.f.onDestroy?.();
    for (const s of this.#senders) s.onDestroy?.();
  }
}
