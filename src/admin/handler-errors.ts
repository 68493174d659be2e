/**
 * Admin layer: turns a rejected update into a reply. Config and update errors are the client's
 * problem (400 with the reason, and the old config keeps serving); anything else is a bug (500).
 */
import { ConfigError, SkiffError } from '../base/errors.js';
import { json, text, type AdminResponse } from './admin-handler.js';

export function rejectionReason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function isClientError(err: unknown): boolean {
  return err instanceof SkiffError;
}

/** `{error, code, issues?}` with 400 for SkiffErrors, 500 otherwise. */
export function jsonRejection(err: unknown): AdminResponse {
  const body: Record<string, unknown> = { error: rejectionReason(err) };
  if (err instanceof SkiffError) body['code'] = err.code;
  if (err instanceof ConfigError) body['issues'] = err.issues;
  return json(isClientError(err) ? 400 : 500, body);
}

/** MOSN-style plain-text rejection. */
export function textRejection(err: unknown): AdminResponse {
  return text(isClientError(err) ? 400 : 500, rejectionReason(err));
}
