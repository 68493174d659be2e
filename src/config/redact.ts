/**
 * Config layer: a copy of a config document that is safe to show (config_dump, logs). Private keys
 * at any depth and keys containing "password", "secret" or "token" (case-insensitive) become
 * "[redacted]"; the input is never changed.
 */

export const REDACTED = '[redacted]';

const SENSITIVE = /private_?key|password|secret|token/i;

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE.test(key);
}

export function redactDocument<T>(doc: T): T {
  return redactValue(doc) as T;
}

function redactValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactValue);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSensitiveKey(k) && v !== null && v !== undefined && v !== '' ? REDACTED : redactValue(v);
  return out;
}
