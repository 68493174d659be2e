/**
 * Config layer (schema): `servers[]` entries (MOSN `ServerConfig`, pkg/config/v2/server.go). The
 * server carries the listeners and router configurations; `default_log_level` is mapped by the
 * loader (an unknown level → INFO with a warning, as MOSN does).
 */
import { z } from 'zod';
import type { LogLevel } from '../../api/config.js';
import { duration, ignored } from '../../base/schema.js';
import { policyShape } from '../feature-policy.js';
import { listenerSchema } from './listener.js';
import { routerSchema } from './router.js';

export const DEFAULT_GRACEFUL_TIMEOUT_MS = 30_000;

export const serverSchema = z.object({
  ...policyShape('server'),
  mosn_server_name: z.string().default(''),
  default_log_path: z.string().default('stderr'),
  default_log_level: z.string().default('INFO'),
  use_netpoll_mode: ignored('use_netpoll_mode is a Go I/O mode; Skiff has one event loop per process'),
  graceful_timeout: duration().default(DEFAULT_GRACEFUL_TIMEOUT_MS),
  processor: z.union([z.number().int(), z.string()]).optional(),
  listeners: z.array(listenerSchema).default([]),
  routers: z.array(routerSchema).default([]),
});

const LEVELS: Readonly<Record<string, LogLevel>> = {
  TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', WARNING: 'warn', ERROR: 'error', FATAL: 'fatal', CRITICAL: 'fatal',
};

/** MOSN's level names (case-insensitive) → Skiff's; undefined for an unknown name. */
export function parseLogLevel(text: string): LogLevel | undefined {
  return LEVELS[text.trim().toUpperCase()];
}

/**
 * `processor`: an int, a numeric string, or `"auto"` (MOSN `setMaxProcsWithProcessor`); absent or
 * ≤ 0 → 1. Returns the reason for anything else.
 */
export function parseProcessor(value: number | string | undefined): number | 'auto' | string {
  if (value === undefined) return 1;
  if (typeof value === 'string') {
    if (value.trim().toLowerCase() === 'auto') return 'auto';
    if (!/^-?\d+$/.test(value.trim())) return `processor must be an integer or "auto", got ${JSON.stringify(value)}`;
    value = Number(value.trim());
  }
  return value > 0 ? value : 1;
}
