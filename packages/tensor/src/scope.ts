/**
 * Explicit memory management: every tensor made inside `tidy(fn)` is freed
 * when fn returns, except the ones it returns and the ones passed to `keep`.
 * No FinalizationRegistry: V8 does not run it inside a synchronous loop.
 */
import type { Tensor } from './tensor.ts';

const scopes: Set<Tensor>[] = [];

/** Registers a new user-visible tensor with the innermost scope. */
export function track(t: Tensor): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Removes `t` from every scope so no `tidy` frees it; returns it. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/**
 * The tensors of `scope` anywhere inside a result: the result itself, or
 * inside arrays / plain objects. Membership in the scope identifies them, so
 * this file needs no `instanceof Tensor` (tensor.ts imports it).
 */
function collect(value: unknown, scope: ReadonlySet<unknown>, out: Set<Tensor>): void {
  if (scope.has(value)) out.add(value as Tensor);
  else if (Array.isArray(value)) for (const v of value) collect(v, scope, out);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, scope, out);
  }
}

/**
 * Runs `fn` and frees every tensor it created that is not part of its result
 * (a tensor, or arrays / plain objects holding tensors) and was not kept.
 * The result's tensors move to the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new Error('tidy: the function returned a Promise; tidy only takes synchronous functions (ops are synchronous; await data() outside tidy)');
  }
  const survivors = new Set<Tensor>();
  collect(result, scope, survivors);
  for (const t of scope) if (!survivors.has(t)) t.dispose();
  const parent = scopes[scopes.length - 1];
  if (parent) for (const t of survivors) parent.add(t);
  return result;
}
