/**
 * Config layer (schema): one filter entry, as listeners carry them in `filter_chains[].filters`,
 * `stream_filters` and `listener_filters`: `{type, config, skiff_module?}`. The `config` object is
 * kept raw here: the loader hands it to the registered factory's `parseConfig`, which owns its keys.
 *
 * Skiff key `skiff_module`: a JS module (path relative to the config file) whose default export is
 * the factory for `type`; see docs/config-reference.md.
 */
import { z } from 'zod';
import { policyShape } from '../feature-policy.js';

export const filterSchema = z.object({
  ...policyShape('filter'),
  type: z.string().min(1, 'a filter needs a "type"'),
  config: z.unknown().optional(),
  skiff_module: z.string().min(1, 'skiff_module must name a JS module path').optional(),
});

export interface FilterEntry {
  readonly type: string;
  readonly config: unknown;
  readonly skiffModule?: string;
}

export const filterEntrySchema = filterSchema.transform((f): FilterEntry => (
  f.skiff_module === undefined ? { type: f.type, config: f.config } : { type: f.type, config: f.config, skiffModule: f.skiff_module }
));
