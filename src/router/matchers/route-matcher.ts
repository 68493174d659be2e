/**
 * Router layer (matchers): compiles one route's `match` block into a predicate, with MOSN's
 * semantics (pkg/router http_rule.go, variable_rule.go, rpc_rule.go, configutility.go):
 *
 *   prefix    case-sensitive prefix of the path          path   exact, case-INsensitive
 *   regex     RE2 on the path, UNanchored                variables[]  value | regex, chained by `model`
 *   none      RPC rule: headers only (`service: .*` = any)
 *   headers[] all must match (exact, or unanchored RE2 when `regex`); name `method` = request method
 *
 * The path matcher is chosen in MOSN's order: path, prefix, regex, variables, else the RPC rule.
 * Everything is compiled here; the predicate allocates nothing.
 */
import type { HeaderMatcherConfig, RouteMatchConfig } from '../../api/config.js';
import type { RouteRequest } from '../route-request.js';
import { compileLinearRegex, type LinearRegex } from './linear-regex.js';

export type RouteMatchKind = 'path' | 'prefix' | 'regex' | 'variables' | 'rpc';

export interface CompiledRouteMatcher {
  readonly kind: RouteMatchKind;
  /** The prefix or path this rule matched on (for `prefix_rewrite`); '' for other kinds. */
  readonly matchedPath: string;
  matches(req: RouteRequest): boolean;
}

type Predicate = (req: RouteRequest) => boolean;
const always: Predicate = () => true;

/** `headers[]`: every matcher must match. Missing header → no match. */
export function compileHeaderMatchers(headers: readonly HeaderMatcherConfig[]): Predicate {
  if (headers.length === 0) return always;
  const names: string[] = [];
  const values: string[] = [];
  const regexes: (LinearRegex | undefined)[] = [];
  for (const h of headers) {
    names.push(h.name.toLowerCase());
    values.push(h.value);
    regexes.push(h.regex ? compileLinearRegex(h.value) : undefined);
  }
  const n = names.length;
  return (req) => {
    for (let i = 0; i < n; i++) {
      const name = names[i] as string;
      const actual = name === 'method' ? req.method : req.getHeader(name);
      if (actual === undefined) return false;
      const re = regexes[i];
      if (re === undefined ? actual !== values[i] : !re.test(actual)) return false;
    }
    return true;
  };
}

/**
 * `variables[]`: each variable gives a hit (value equality, else regex); hits are folded left to
 * right, each entry's `model` ("and" default, or "or") joining it with the NEXT entry, as MOSN does.
 */
export function compileVariableMatchers(variables: RouteMatchConfig['variables']): Predicate {
  if (variables.length === 0) return always;
  const compiled = variables.map((v) => ({
    name: v.name,
    value: v.value,
    regex: v.value === undefined && v.regex !== undefined ? compileLinearRegex(v.regex) : undefined,
    or: v.model === 'or',
  }));
  return (req) => {
    let result = true;
    let joinWithOr = false;
    for (let i = 0; i < compiled.length; i++) {
      const v = compiled[i]!;
      const actual = req.getVariable(v.name);
      const hit = actual !== undefined && (v.value !== undefined ? actual === v.value : v.regex !== undefined && v.regex.test(actual));
      result = i === 0 ? hit : joinWithOr ? result || hit : result && hit;
      joinWithOr = v.or;
    }
    return result;
  };
}

/** RPC rule: a `service` header matcher with value `.*` matches any request (MOSN's fast path). */
function compileRpcRule(headers: readonly HeaderMatcherConfig[]): Predicate {
  if (headers.some((h) => h.name.toLowerCase() === 'service' && h.value === '.*')) return always;
  return compileHeaderMatchers(headers);
}

/** Compiles a `match` block. Throws on an invalid RE2 pattern (control path). */
export function compileRouteMatcher(m: RouteMatchConfig): CompiledRouteMatcher {
  if (m.path !== undefined && m.path !== '') {
    const headers = compileHeaderMatchers(m.headers);
    const lower = m.path.toLowerCase();
    const len = m.path.length;
    // Case-insensitive equality without allocating when lengths differ (the common miss).
    return { kind: 'path', matchedPath: m.path, matches: (req) => req.path.length === len && req.path.toLowerCase() === lower && headers(req) };
  }
  if (m.prefix !== undefined && m.prefix !== '') {
    const headers = compileHeaderMatchers(m.headers);
    const prefix = m.prefix;
    return { kind: 'prefix', matchedPath: prefix, matches: (req) => req.path.startsWith(prefix) && headers(req) };
  }
  if (m.regex !== undefined && m.regex !== '') {
    const headers = compileHeaderMatchers(m.headers);
    const re = compileLinearRegex(m.regex);
    return { kind: 'regex', matchedPath: '', matches: (req) => re.test(req.path) && headers(req) };
  }
  if (m.variables.length > 0) {
    const headers = compileHeaderMatchers(m.headers);
    const vars = compileVariableMatchers(m.variables);
    return { kind: 'variables', matchedPath: '', matches: (req) => vars(req) && headers(req) };
  }
  const rpc = compileRpcRule(m.headers);
  return { kind: 'rpc', matchedPath: '', matches: rpc };
}
