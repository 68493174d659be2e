/**
 * Router layer (header mutation): the request/response header add/remove lists of a route, its
 * virtual host and its router configuration, compiled into ONE applier per route and direction.
 *
 *   order: route level, then virtual host, then router configuration (MOSN finalizeRequestHeaders:
 *   the route's parser runs, then calls the virtual host's, which calls the global one; Envoy's
 *   default order is the same). Within a level: adds in config order, then removes.
 *
 * A value `%name%` is the variable `name`, resolved per request (an unknown variable gives "").
 * `append: true` joins onto an existing non-empty value with ", ".
 */
import type { HeaderValueOption } from '../../api/config.js';
import type { MutableHeaders, VariableSource } from '../route-request.js';

export interface HeaderMutationLevel {
  readonly add: readonly HeaderValueOption[];
  readonly remove: readonly string[];
}

export type HeaderApplier = (headers: MutableHeaders, vars: VariableSource) => void;

/** Does nothing; shared by every route without mutations. */
export const noHeaderMutation: HeaderApplier = () => {};

type Step =
  | { readonly op: 0; readonly name: string; readonly literal: string; readonly variable: string | undefined; readonly append: boolean }
  | { readonly op: 1; readonly name: string };

/** Compiles levels (most specific first) into one applier. Control path. */
export function compileHeaderMutator(levels: readonly HeaderMutationLevel[]): HeaderApplier {
  const steps: Step[] = [];
  for (const level of levels) {
    for (const h of level.add) {
      const v = h.value;
      const variable = v.length > 2 && v.startsWith('%') && v.endsWith('%') ? v.slice(1, -1) : undefined;
      steps.push({ op: 0, name: h.key.toLowerCase(), literal: v, variable, append: h.append });
    }
    for (const name of level.remove) steps.push({ op: 1, name: name.toLowerCase() });
  }
  if (steps.length === 0) return noHeaderMutation;
  return (headers, vars) => {
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]!;
      if (s.op === 1) {
        headers.delete(s.name);
        continue;
      }
      const value = s.variable === undefined ? s.literal : vars.getVariable(s.variable) ?? '';
      const existing = s.append ? headers.get(s.name) : undefined;
      headers.set(s.name, existing !== undefined && existing !== '' ? `${existing}, ${value}` : value);
    }
  };
}
