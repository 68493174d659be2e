/**
 * Admin layer: the contract of one admin endpoint (one file per endpoint under handlers/). The
 * server does method, content-type and body-size checks before a handler runs, so a handler only
 * sees well-formed requests: `GET`/`HEAD` for read-only endpoints, `POST` with a parsed JSON body
 * for mutating ones.
 */
import type { AdminContext } from './admin-context.js';

export interface AdminRequest {
  readonly method: string;
  readonly url: URL;
  /** Mutating endpoints: the parsed JSON body. Read-only endpoints: undefined. */
  readonly body: unknown;
}

export interface AdminResponse {
  readonly status: number;
  readonly kind: 'text' | 'json';
  /** `text`: the string sent as text/plain; `json`: the value sent as application/json. */
  readonly body: unknown;
}

export interface AdminHandler {
  readonly path: string;
  /** Mutating endpoints accept only POST with a JSON body (a browser's simple request can't send one). */
  readonly mutating: boolean;
  /** One line for the `/` listing. */
  readonly description: string;
  handle(req: AdminRequest, ctx: AdminContext): AdminResponse | Promise<AdminResponse>;
}

export const text = (status: number, body: string): AdminResponse => ({ status, kind: 'text', body: body.endsWith('\n') ? body : `${body}\n` });
export const json = (status: number, body: unknown): AdminResponse => ({ status, kind: 'json', body: body ?? null });
