/**
 * Extension (stream filter `transcoder`, MOSN pkg/filter/stream/transcoder): protocol conversion on the
 * way upstream. It sets the request's `upstream_protocol` variable, which the proxy honours before the
 * route's `upstream_protocol`:
 *
 *   { "type": "transcoder", "config": { "type": "http2bolt_simple" } }   HTTP request → Bolt request
 *   { "type": "transcoder", "config": { "type": "httpTohttp2" } }         HTTP/1 → HTTP/2 upstream
 *   { "type": "transcoder", "config": { "type": "http2Tohttp" } }         HTTP/2 → HTTP/1 upstream
 *   { "type": "transcoder", "config": { "rules": [{ "rule_info": { "upstream_protocol": "bolt" } }] } }
 *
 * http2bolt (MOSN's mapping, field for field): every HTTP request header becomes a Bolt header-map entry
 * (`service` routes it at the Bolt side), the body the content, class `SofaRequest`, the route timeout
 * the Bolt timeout. The Bolt response comes back as HTTP: each header-map entry a header, status 200
 * (500 when the Bolt status is not success), the content the body. Runs after routing (MOSN's default
 * receiver phase; `trans.receiver_phase` 0/1/2 picks another).
 */
import type { ParseContext, StreamFilterFactory } from '../../../api/extension.js';
import { ConfigError } from '../../../base/errors.js';
import { StreamFilterPhase, StreamFilterStatus, type StreamFilterHandler, type StreamReceiverFilter } from '../../../api/stream.js';

const TYPES: Readonly<Record<string, string>> = {
  http2bolt_simple: 'bolt', http2bolt: 'bolt', httpTohttp2: 'Http2', http2Tohttp: 'Http1',
};

export interface TranscoderConfig {
  /** The upstream protocol requests are converted to (`bolt`, `Http2`, `Http1`). */
  readonly upstreamProtocol: string;
  readonly phase: StreamFilterPhase;
}

function fail(ctx: ParseContext, key: string, message: string): never {
  throw new ConfigError([{ path: key === '' ? ctx.path : `${ctx.path}.${key}`, message }]);
}

export const TranscoderFilterFactory: StreamFilterFactory<TranscoderConfig> = {
  kind: 'stream_filter',
  name: 'transcoder',
  parseConfig(raw: unknown, ctx: ParseContext): TranscoderConfig {
    const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const phaseRaw = o['trans.receiver_phase'] ?? o['receiver_phase'];
    const phase = phaseRaw === 0 || phaseRaw === '0' ? StreamFilterPhase.BeforeRoute : phaseRaw === 2 || phaseRaw === '2' ? StreamFilterPhase.AfterChooseHost : StreamFilterPhase.AfterRoute;
    if (typeof o['type'] === 'string') {
      const target = TYPES[o['type']];
      if (target === undefined) fail(ctx, 'type', `unknown transcoder type "${o['type']}" (${Object.keys(TYPES).join(', ')})`);
      return Object.freeze({ upstreamProtocol: target, phase });
    }
    const rules = o['rules'];
    if (Array.isArray(rules) && rules.length > 0) {
      const info = (rules[0] as { rule_info?: { upstream_protocol?: unknown } }).rule_info;
      const proto = info?.upstream_protocol;
      if (typeof proto !== 'string' || proto === '') fail(ctx, 'rules[0].rule_info.upstream_protocol', 'is required');
      if (rules.length > 1 || (rules[0] as { matcher_config?: unknown }).matcher_config !== undefined) {
        ctx.warn(`${ctx.path}.rules`, 'rule matchers are not implemented: the first rule applies to every request');
      }
      return Object.freeze({ upstreamProtocol: proto, phase });
    }
    return fail(ctx, '', 'a transcoder needs a "type" (e.g. "http2bolt_simple") or "rules"');
  },
  create(config: TranscoderConfig) {
    return (chain) => {
      let handler: StreamFilterHandler | undefined;
      const filter: StreamReceiverFilter = {
        setHandler(h) { handler = h; },
        onReceive() {
          handler?.setVariable('upstream_protocol', config.upstreamProtocol);
          return StreamFilterStatus.Continue;
        },
      };
      chain.addReceiverFilter(filter, config.phase);
    };
  },
};
