/**
 * Proxy layer: Envoy's response-flag letters for locally generated replies and access logs, and the
 * one-line body of a local reply ("<why> (<FLAG>)"), so the client and the access log say the same.
 */
export const ResponseFlag = {
  None: '',
  NoRouteFound: 'NR',
  NoClusterFound: 'NC',
  NoHealthyUpstream: 'UH',
  UpstreamConnectionFailure: 'UF',
  UpstreamConnectionTermination: 'UC',
  UpstreamOverflow: 'UO',
  UpstreamRequestTimeout: 'UT',
  UpstreamProtocolError: 'UPE',
  StreamIdleTimeout: 'SI',
  DownstreamConnectionTermination: 'DC',
} as const;
export type ResponseFlag = (typeof ResponseFlag)[keyof typeof ResponseFlag];

export function localReplyBody(message: string, flag: string): string {
  return flag === '' ? `${message}\n` : `${message} (${flag})\n`;
}
