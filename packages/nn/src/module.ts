/**
 * `Module`: the base of every layer and model, as torch.nn.Module. A module
 * registers its parameters and submodules by name, so the dotted names of
 * `namedParameters()` / `stateDict()` are PyTorch's (`model.1.weight`) and a
 * state dict moves between the two frameworks unchanged.
 */
import { fmt, keep, noGrad, sameShape, Tensor, tidy } from '@stripes/tensor';
import { assign } from './assign.ts';
import type { TensorEntry } from './safetensors.ts';

/** Any module, whatever its forward signature. */
export type AnyModule = Module<any[], unknown>;

/** What `loadStateDict` accepts: GPU tensors, or host values as `loadStateDict(path)` reads them. */
export type StateDictSource = Record<string, Tensor | TensorEntry> | Map<string, Tensor | TensorEntry>;

export interface LoadStateDictOptions {
  /** Require the names to match exactly (default true); shapes must always match. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  /** Model tensors the source did not have (left unchanged). */
  missingKeys: string[];
  /** Source tensors the model has no place for (ignored). */
  unexpectedKeys: string[];
}

export abstract class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  /** Training mode: Dropout is active only while true. Set with `train()` / `eval()`. */
  training = true;
  private readonly ownParameters = new Map<string, Tensor>();
  private readonly submodules = new Map<string, AnyModule>();
  private disposed = false;

  /** The computation; call it through `call()`. */
  abstract forward(...args: In): Out;

  /** Runs `forward` (as calling a torch module does). */
  call(...args: In): Out {
    if (this.disposed) throw new Error(`${this.constructor.name}: the module was disposed and cannot be called`);
    return this.forward(...args);
  }

  /**
   * Makes `value` a parameter called `name`: a leaf that requires grad and is
   * kept out of every `tidy` scope (it lives until `dispose()`).
   */
  protected registerParameter(name: string, value: Tensor): Tensor {
    this.checkName(name);
    if (value.gradFn) throw new Error(`${this.constructor.name}: parameter '${name}' must be a leaf tensor (detach() it first)`);
    value.requiresGrad = true;
    this.ownParameters.set(name, keep(value));
    return value;
  }

  /** Makes `module` a child called `name`; its parameters appear as `name.<its names>`. */
  protected registerModule<M extends AnyModule>(name: string, module: M): M {
    this.checkName(name);
    this.submodules.set(name, module);
    return module;
  }

  private checkName(name: string): void {
    if (name === '' || name.includes('.')) throw new Error(`${this.constructor.name}: invalid name '${name}' (non-empty, no dots)`);
    if (this.ownParameters.has(name) || this.submodules.has(name)) {
      throw new Error(`${this.constructor.name}: '${name}' is already registered`);
    }
  }

  /** Direct children with their names, in registration order. */
  namedChildren(): Array<[string, AnyModule]> {
    return [...this.submodules];
  }

  /** This module (named '') and every descendant, depth first, with dotted names. */
  namedModules(prefix = ''): Array<[string, AnyModule]> {
    const out: Array<[string, AnyModule]> = [[prefix, this]];
    for (const [name, child] of this.submodules) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  modules(): AnyModule[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Every parameter under its dotted name, shared ones repeated (the order of PyTorch's state_dict). */
  private allNamedParameters(): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m.ownParameters) out.push([prefix ? `${prefix}.${name}` : name, p]);
    }
    return out;
  }

  /** Parameters with dotted names (`model.1.weight`); a parameter shared by two layers appears once. */
  namedParameters(): Array<[string, Tensor]> {
    const seen = new Set<Tensor>();
    return this.allNamedParameters().filter(([, p]) => {
      if (seen.has(p)) return false;
      seen.add(p);
      return true;
    });
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Number of scalar parameters (shared ones counted once). */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Sets training mode on this module and all descendants; returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (`train(false)`); returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Turns gradients of every parameter on or off (e.g. to freeze a discriminator); returns this. */
  requireGrad(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /**
   * The parameters by dotted name, in PyTorch's order. The values are the
   * live parameters themselves, not copies: read them, do not dispose them.
   */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.allNamedParameters());
  }

  /**
   * Copies values into the parameters in place. Every problem (missing or
   * unexpected names when `strict`, wrong shapes always) is reported in one
   * error, and then nothing is written.
   */
  loadStateDict(source: StateDictSource, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const entries = source instanceof Map ? [...source] : Object.entries(source);
    const given = new Set(entries.map(([name]) => name));
    const missingKeys = Object.keys(own).filter((name) => !given.has(name));
    const unexpectedKeys = entries.map(([name]) => name).filter((name) => !(name in own));
    const mismatched = entries
      .filter(([name, value]) => name in own && !sameShape(own[name].shape, value.shape))
      .map(([name, value]) => `${name}: source ${fmt(value.shape)}, model ${fmt(own[name].shape)}`);
    const disposed = entries.filter(([, value]) => value instanceof Tensor && value.isDisposed).map(([name]) => `disposed: ${name}`);
    const problems = [
      ...(strict ? missingKeys.map((k) => `missing: ${k}`) : []),
      ...(strict ? unexpectedKeys.map((k) => `unexpected: ${k}`) : []),
      ...mismatched.map((m) => `shape mismatch: ${m}`),
      ...disposed,
    ];
    if (problems.length) {
      throw new Error(`loadStateDict: ${problems.length} problem(s) loading into ${this.constructor.name}:\n  ${problems.join('\n  ')}`);
    }
    for (const [name, value] of entries) if (name in own) assign(own[name], value);
    return { missingKeys, unexpectedKeys };
  }

  /** Frees every parameter of this module and its descendants; the module cannot be called afterwards. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const p of m.ownParameters.values()) p.dispose();
      m.disposed = true;
    }
  }

  /** `dispose()`, so `using net = ...` frees the parameters at the end of its block. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Runs `fn` for inference: `modules` in eval mode (restored afterwards, per
 * module), no graph recorded, and every tensor `fn` makes but does not
 * return freed.
 */
export function evaluate<T>(modules: AnyModule | readonly AnyModule[], fn: () => T): T {
  const roots: readonly AnyModule[] = Array.isArray(modules) ? modules : [modules as AnyModule];
  const modes = roots.flatMap((r) => r.modules()).map((m) => [m, m.training] as const);
  for (const r of roots) r.eval();
  try {
    return noGrad(() => tidy(fn));
  } finally {
    for (const [m, mode] of modes) m.training = mode;
  }
}
