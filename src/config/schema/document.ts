/**
 * Config layer (schema): the whole MOSN v2 document (`MOSNConfig`, pkg/config/v2/config.go). Keys
 * Skiff reads are typed here; keys of unimplemented features are declared by the feature-policy
 * table (feature-policy.ts), which decides whether they fail, warn or pass.
 */
import { z } from 'zod';
import { ignored } from '../../base/schema.js';
import { policyShape } from '../feature-policy.js';
import { adminSchema } from './admin.js';
import { clusterManagerSchema } from './cluster.js';
import { serverSchema } from './server.js';

export const documentSchema = z.object({
  ...policyShape('document'),
  servers: z.array(serverSchema).default([]),
  cluster_manager: clusterManagerSchema.optional(),
  admin: adminSchema.optional(),
  disable_upgrade: z.boolean().optional(),
  close_graceful: z.boolean().optional(),
  pid: z.string().default(''),
  uds_dir: z.string().default(''),
  node: ignored('node identifies this proxy to an xDS server; Skiff has no xDS client yet'),
  plugin: ignored('plugin.log_base is for Go out-of-process plugins'),
});

export type ParsedDocument = z.output<typeof documentSchema>;
