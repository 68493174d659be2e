/**
 * Base layer: config parsing with MOSN's (Go encoding/json) semantics on top of zod schemas.
 *
 *   raw JSON ──normalise(schema)──▶ canonical keys ──zod.safeParse──▶ typed value | issues with JSON paths
 *
 * normalise walks the schema beside the value: object keys match the schema's keys exactly first,
 * then ASCII case-insensitively (`"Name"` → `name`, Go's rule); an unknown key is dropped with a
 * warning and a did-you-mean; a key declared with `ignored()` is dropped with a note. Every issue
 * is reported with its full JSON path, `servers[0].listeners[1].address`. Used by src/config/ and by
 * every plug-in's `parseConfig` (plug-ins may import base/).
 */
import { z } from 'zod';
import { parseGoDuration } from './duration.js';
import { suggestion } from './did-you-mean.js';
import { ConfigError, type ConfigIssue } from './errors.js';

const IGNORED = 'skiff:ignored:';

/** Where issues go while parsing; api's `ParseContext` satisfies it (base cannot import api). */
export interface SchemaContext {
  readonly path: string;
  warn(path: string, message: string): void;
  note(path: string, message: string): void;
}

/** A key MOSN (or Skiff) accepts but ignores: present → a note, never an error. */
export function ignored(reason: string) {
  return z.unknown().optional().describe(IGNORED + reason);
}

/**
 * A duration: a Go duration string ("300ms", "1m30s") or a JSON number of nanoseconds (Go
 * `time.Duration`), as milliseconds. Negative values are rejected.
 */
export function duration() {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = typeof v === 'number' ? v / 1e6 : parseGoDuration(v.trim());
    if (typeof ms === 'string') {
      ctx.issues.push({ code: 'custom', message: `${ms}`, input: v });
      return z.NEVER;
    }
    if (!Number.isFinite(ms) || ms < 0) {
      ctx.issues.push({ code: 'custom', message: `duration must be a non-negative Go duration like "30s", got ${JSON.stringify(v)}`, input: v });
      return z.NEVER;
    }
    return ms;
  });
}

/** Appends a property or index to a JSON path: `a` + `b` → `a.b`, `a` + 0 → `a[0]`. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  const safe = /^[A-Za-z_$][\w$ -]*$/.test(key) && !key.endsWith(' ') ? key : JSON.stringify(key);
  return base === '' ? safe : `${base}.${safe}`;
}

export function pathOf(base: string, segments: readonly PropertyKey[]): string {
  let p = base;
  for (const s of segments) p = joinPath(p, typeof s === 'number' ? s : String(s));
  return p;
}

type AnySchema = z.core.$ZodType;
const defOf = (s: AnySchema) => (s as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;

/** Peels wrappers that do not change the JSON shape. */
function unwrap(schema: AnySchema): AnySchema {
  let s = schema;
  for (let i = 0; i < 32; i++) {
    const def = defOf(s);
    switch (def.type) {
      case 'optional': case 'nullable': case 'default': case 'prefault': case 'readonly': case 'catch': case 'nonoptional':
        s = def['innerType'] as AnySchema; break;
      case 'pipe': s = def['in'] as AnySchema; break;
      case 'lazy': s = (def['getter'] as () => AnySchema)(); break;
      default: return s;
    }
  }
  return s;
}

function descriptionOf(schema: AnySchema): string | undefined {
  return (schema as unknown as { description?: string }).description;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Renames keys to the schema's spelling and drops unknown ones (reporting them). Pure: returns a copy. */
export function normalise(schema: AnySchema, value: unknown, path: string, ctx: Pick<SchemaContext, 'warn' | 'note'>): unknown {
  const s = unwrap(schema);
  const def = defOf(s);
  if (def.type === 'object' && isPlainObject(value)) {
    const shape = def['shape'] as Record<string, AnySchema>;
    const loose = def['catchall'] !== undefined && defOf(def['catchall'] as AnySchema).type !== 'never';
    const keys = Object.keys(shape);
    const folded = new Map<string, string>();
    for (const k of keys) if (!folded.has(k.toLowerCase())) folded.set(k.toLowerCase(), k);
    const out: Record<string, unknown> = {};
    for (const [rawKey, v] of Object.entries(value)) {
      const key = rawKey in shape ? rawKey : folded.get(rawKey.toLowerCase());
      const at = joinPath(path, rawKey);
      if (key === undefined) {
        if (loose) out[rawKey] = v;
        else ctx.warn(at, `unknown key "${rawKey}" ignored${suggestion(rawKey, keys)}`);
        continue;
      }
      const field = shape[key] as AnySchema;
      const desc = descriptionOf(field);
      if (desc?.startsWith(IGNORED)) {
        ctx.note(at, desc.slice(IGNORED.length));
        continue;
      }
      // Go: an exact-case key wins over a case-folded duplicate.
      if (key in out && rawKey !== key) continue;
      out[key] = normalise(field, v, joinPath(path, key), ctx);
    }
    return out;
  }
  if (def.type === 'array' && Array.isArray(value)) {
    const element = def['element'] as AnySchema;
    return value.map((v, i) => normalise(element, v, joinPath(path, i), ctx));
  }
  if (def.type === 'record' && isPlainObject(value)) {
    const valueType = def['valueType'] as AnySchema;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalise(valueType, v, joinPath(path, k), ctx);
    return out;
  }
  if (def.type === 'union') {
    // Normalise with the first option of the value's JSON kind (objects → an object option).
    const options = def['options'] as AnySchema[];
    const kind = Array.isArray(value) ? 'array' : isPlainObject(value) ? 'object' : 'scalar';
    for (const o of options) {
      const t = defOf(unwrap(o)).type;
      if ((kind === 'object' && (t === 'object' || t === 'record')) || (kind === 'array' && t === 'array')) return normalise(o, value, path, ctx);
    }
  }
  return value;
}

/** Converts zod issues to Skiff's `path: message` issues, with paths under `base`. */
export function zodIssues(error: z.core.$ZodError, base: string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    // A union failure is more useful as its first branch's detail than "invalid input".
    const errors = (issue as { errors?: z.core.$ZodIssue[][] }).errors;
    if (issue.code === 'invalid_union' && errors?.length) {
      const first = errors.find((e) => e.length > 0)?.[0];
      if (first) {
        out.push({ path: pathOf(base, [...issue.path, ...first.path]), message: messageOf(first) });
        continue;
      }
    }
    out.push({ path: pathOf(base, issue.path), message: messageOf(issue) });
  }
  return out;
}

function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined) return 'is required';
  return issue.message;
}

/**
 * Normalises `raw` with MOSN's key semantics, validates it, and returns the typed result. Throws
 * `ConfigError` listing every issue with its path under `ctx.path`.
 */
export function parseWithSchema<S extends AnySchema>(schema: S, raw: unknown, ctx: SchemaContext): z.output<S> {
  const value = normalise(schema, raw, ctx.path, ctx);
  const result = z.safeParse(schema, value, { reportInput: true });
  if (!result.success) throw new ConfigError(zodIssues(result.error, ctx.path));
  return result.data;
}

/** Deep-freezes a parsed config value: config objects are immutable snapshots. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
