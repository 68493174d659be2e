/**
 * Proxy layer: an HTTP request converted to an RPC frame and back (MOSN's transcoder `http2bolt`): the
 * request's headers become the protocol's header map, its body the content; the response's header map
 * becomes HTTP headers, its content the body, status 200 (500 when the protocol says it failed).
 */
import type { ClusterConfig } from '../../api/config.js';
import type { ClusterManager, Host } from '../../api/upstream.js';
import type { XFrame, XProtocolCodec } from '../../api/xprotocol.js';
import { FlatHeaders } from '../../protocol/headers/flat-headers.js';
import type { XClientConnection, XResponseHandler } from '../../stream/xprotocol/x-client-connection.js';
import { xClientFor } from '../xprotocol/x-upstreams.js';

export interface ConvertedRequest {
  readonly client: XClientConnection;
  readonly id: number;
}

/** Encodes the request as one frame and sends it on the host's shared connection; a string is why it could not. */
export function sendConverted(codec: XProtocolCodec, headerList: readonly string[], content: Buffer, timeoutMs: number,
  cm: ClusterManager, host: Host, config: ClusterConfig, handler: XResponseHandler): ConvertedRequest | string {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < headerList.length; i += 2) pairs.push([headerList[i]!, headerList[i + 1]!]);
  const bytes = codec.encodeRequest!({ requestId: 0, headers: pairs, content, timeoutMs });
  const decoded = codec.decode(bytes, 0, { maxFrameBytes: Number.MAX_SAFE_INTEGER });
  if (decoded.kind !== 0) return `${codec.name} request could not be built`;
  const client = xClientFor(cm, host, config, codec);
  const id = client.request(decoded.frame, handler);
  return id < 0 ? 'upstream connection unusable' : { client, id };
}

/** The HTTP response of a converted request's response frame. */
export function convertedResponse(codec: XProtocolCodec, frame: XFrame): { status: number; headers: FlatHeaders; body: Buffer } {
  const body = codec.contentOf?.(frame) ?? Buffer.alloc(0);
  const headers = new FlatHeaders([]);
  for (const [k, v] of frame.headers) headers.add(k, v);
  headers.set('content-length', String(body.length));
  return { status: codec.statusToHttp(frame.status) === 200 ? 200 : 500, headers, body };
}
