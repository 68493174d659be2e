/**
 * Config layer (schema): the top-level `admin` object, Envoy-shaped as MOSN reads it:
 * `{"address": {"socket_address": {"address": "127.0.0.1", "port_value": 34901}}}`. An absent
 * `admin` means no admin server. An absent `address` binds loopback (never all interfaces by default).
 */
import { z } from 'zod';
import type { AdminConfig } from '../../api/config.js';
import { tcpAddress } from '../../base/address.js';
import { ignored } from '../../base/schema.js';
import { isIP } from 'node:net';

const socketAddressSchema = z.object({
  address: z.string().default('127.0.0.1'),
  port_value: z.number().int().min(0).max(65535, 'port_value must be 0..65535'),
  protocol: ignored('admin socket_address.protocol is always TCP'),
  resolver_name: ignored('admin socket_address.resolver_name is not used'),
  ipv4_compat: ignored('admin socket_address.ipv4_compat is not used'),
});

export const adminSchema = z.object({
  address: z.object({ socket_address: socketAddressSchema }),
}).transform((a, ctx): AdminConfig => {
  const host = a.address.socket_address.address.trim() || '127.0.0.1';
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare) === 0 && !/^[A-Za-z0-9.-]+$/.test(bare)) {
    ctx.issues.push({ code: 'custom', message: `invalid admin address "${host}"`, input: host, path: ['address', 'socket_address', 'address'] });
    return z.NEVER;
  }
  return { address: tcpAddress(bare, a.address.socket_address.port_value) };
});
