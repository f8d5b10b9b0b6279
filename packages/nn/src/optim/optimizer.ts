/**
 * The optimizer base, as torch.optim.Optimizer: parameter groups with their
 * own hyperparameters (mutable, e.g. `lr` for schedules), per-parameter state
 * created on the first step, and a state dict that restores a run exactly.
 * Updates run in place in each parameter's own buffer, by fused kernels that
 * each subclass applies to a whole group at once: call `step()` after
 * `backward()`, not while a graph that saved a parameter still has to
 * backpropagate.
 */
import { fmt, keep, repackConvWeights, sameShape, Tensor, zeros } from '@stripes/tensor';
import { assign } from '../assign.ts';
import type { Json } from '../checkpoint.ts';
import type { TensorEntry } from '../safetensors.ts';

/** A parameter group as given to a constructor: its parameters and any hyperparameters that differ from the defaults. */
export type ParamGroupSpec<H> = { params: Iterable<Tensor> } & Partial<H>;

/** What a constructor takes: a flat list of parameters (one group), or groups. */
export type OptimizerParams<H> = Iterable<Tensor> | Iterable<ParamGroupSpec<H>>;

/** A live parameter group: its hyperparameters (mutable) and parameters. */
export type ParamGroup<H> = H & { readonly params: readonly Tensor[] };

/** Per-parameter state: steps taken and named buffers shaped like the parameter. */
export interface ParamState {
  step: number;
  readonly buffers: Map<string, Tensor>;
}

/** One parameter's share of a step: its gradient and its state, whose `step` already counts this step. */
export interface ParamUpdate {
  readonly param: Tensor;
  readonly grad: Tensor;
  readonly state: ParamState;
}

/** The JSON half of an optimizer's state dict; parameters are numbered across groups in order, as PyTorch does. */
export type OptimizerStateJson = {
  /** Steps taken, per parameter index, for parameters that have state. */
  state: { [index: string]: { step: number } };
  /** Each group's hyperparameters and the indices of its parameters. */
  paramGroups: Array<{ params: number[]; [hyperparameter: string]: Json }>;
};

/** An optimizer's state: buffers named `state.<index>.<buffer>` (e.g. `state.0.exp_avg`) plus JSON. */
export interface OptimizerState {
  tensors: Record<string, Tensor>;
  json: OptimizerStateJson;
}

/** What `loadStateDict` accepts: the tensors may be on the GPU or host values read from a checkpoint. */
export interface OptimizerStateSource {
  tensors: Record<string, Tensor | TensorEntry> | Map<string, Tensor | TensorEntry>;
  json: OptimizerStateJson;
}


/** `spec`'s hyperparameters without `params` and without keys set to undefined (which would hide a default). */
function overrides<H>(spec: object): Partial<H> {
  return Object.fromEntries(Object.entries(spec).filter(([k, v]) => k !== 'params' && v !== undefined)) as Partial<H>;
}

export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: Array<ParamGroup<H>>;
  private readonly states = new Map<Tensor, ParamState>();

  /** `options` override `defaults` for every group; a group's own values override both. */
  protected constructor(params: OptimizerParams<H>, defaults: H, options: Partial<H>) {
    const name = this.constructor.name;
    const items: Array<Tensor | ParamGroupSpec<H>> = [...params];
    if (items.length === 0) throw new Error(`${name}: got an empty parameter list`);
    const specs = items.every((i): i is Tensor => i instanceof Tensor) ? [{ params: items }] : (items as Array<Tensor | { params?: Iterable<Tensor> }>);
    const seen = new Set<Tensor>();
    this.paramGroups = specs.map((spec, g) => {
      if (spec instanceof Tensor || !spec.params) throw new Error(`${name}: pass either parameters or parameter groups ({ params, ...options }), not a mix`);
      const list = [...spec.params];
      for (const p of list) {
        if (!(p instanceof Tensor)) throw new Error(`${name}: group ${g} holds something that is not a Tensor`);
        if (p.gradFn) throw new Error(`${name}: cannot optimize a non-leaf tensor (${p})`);
        if (seen.has(p)) throw new Error(`${name}: ${p} appears more than once across the parameter groups`);
        seen.add(p);
      }
      const group = { ...defaults, ...overrides<H>(options), ...overrides<H>(spec), params: list } as ParamGroup<H>;
      this.checkHyperparameters(group);
      return group;
    });
  }

  /** Throws, naming the optimizer, if a hyperparameter is out of range. */
  protected abstract checkHyperparameters(h: H): void;

  /** Names of the buffers a parameter's state holds under hyperparameters `h`. */
  protected abstract stateBufferNames(h: H): readonly string[];

  /** Updates in place the parameters of one group that have a gradient, under the group's hyperparameters `h`. */
  protected abstract updateGroup(updates: readonly ParamUpdate[], h: H): void;

  /** The state buffer `name` of a parameter, created as zeros if this is its first use. */
  protected stateBuffer(state: ParamState, name: string, param: Tensor): Tensor {
    let b = state.buffers.get(name);
    if (!b) state.buffers.set(name, (b = keep(zeros(param.shape))));
    return b;
  }

  /**
   * Updates every parameter that has a gradient (others are skipped, as in
   * PyTorch), a group at a time; the gradients' shapes are all checked first.
   * Then re-packs the updated conv weights (`repackConvWeights`).
   */
  step(): void {
    const withGrads = this.paramGroups.map((group) =>
      group.params.flatMap((param) => {
        const grad = param.grad;
        if (!grad) return [];
        if (!sameShape(grad.shape, param.shape)) {
          throw new Error(`${this.constructor.name}.step: gradient of shape ${fmt(grad.shape)} for a parameter of shape ${fmt(param.shape)}`);
        }
        return [{ param, grad }];
      }),
    );
    this.paramGroups.forEach((group, g) => {
      if (withGrads[g].length === 0) return;
      const updates = withGrads[g].map(({ param, grad }): ParamUpdate => {
        let state = this.states.get(param);
        if (!state) this.states.set(param, (state = { step: 0, buffers: new Map() }));
        state.step++;
        return { param, grad, state };
      });
      this.updateGroup(updates, group);
    });
    // The updated conv weights' packed copies, rebuilt together now rather than one dispatch per layer in the next forward.
    repackConvWeights(withGrads.flat().map(({ param }) => param));
  }

  /** Drops every parameter's gradient (PyTorch's set_to_none behavior). */
  zeroGrad(): void {
    for (const group of this.paramGroups) for (const p of group.params) p.zeroGrad();
  }

  /**
   * Hyperparameters, step counts and state buffers. The tensors are the live
   * state, not copies: save or read them before the next `step()`, and do
   * not dispose them.
   */
  stateDict(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    const state: OptimizerStateJson['state'] = {};
    let index = 0;
    const paramGroups = this.paramGroups.map((group) => {
      const indices: number[] = [];
      for (const p of group.params) {
        const s = this.states.get(p);
        if (s) {
          state[index] = { step: s.step };
          for (const [name, b] of s.buffers) tensors[`state.${index}.${name}`] = b;
        }
        indices.push(index++);
      }
      // Hyperparameters are numbers, booleans and number tuples: JSON as they are.
      return { ...overrides<H>(group), params: indices } as unknown as OptimizerStateJson['paramGroups'][number];
    });
    return { tensors, json: { state, paramGroups } };
  }

  /**
   * Restores hyperparameters, step counts and buffers (copied into this
   * optimizer's own tensors). The groups must hold as many parameters as
   * when the state was saved, each buffer its parameter's shape; every
   * problem is reported in one error, and then nothing changes.
   */
  loadStateDict(source: OptimizerStateSource): void {
    const name = this.constructor.name;
    const { json } = source;
    const params = this.paramGroups.flatMap((g) => g.params);
    const problems: string[] = [];
    const groupIndex = this.paramGroups.flatMap((g, gi) => g.params.map(() => gi));

    const groups = Array.isArray(json?.paramGroups) ? json.paramGroups : [];
    if (groups.length !== this.paramGroups.length) problems.push(`${groups.length} parameter group(s) in the state, ${this.paramGroups.length} in the optimizer`);
    const newHyperparameters = groups.map((g, i) => {
      const target = this.paramGroups[i];
      if (!target) return null;
      if (!Array.isArray(g.params) || g.params.length !== target.params.length) {
        problems.push(`group ${i}: ${Array.isArray(g.params) ? g.params.length : 'no'} parameters in the state, ${target.params.length} in the optimizer`);
      }
      const h = { ...target, ...overrides<H>(g) } as H;
      try {
        this.checkHyperparameters(h);
      } catch (e) {
        problems.push(`group ${i}: ${(e as Error).message}`);
      }
      return h;
    });

    const loaded = new Map<number, { step: number; buffers: Map<string, Tensor | TensorEntry> }>();
    for (const [key, s] of Object.entries(json?.state ?? {})) {
      const i = Number(key);
      if (!Number.isInteger(i) || i < 0 || i >= params.length) problems.push(`state for parameter ${key}, but the optimizer has ${params.length}`);
      else if (!Number.isInteger(s?.step) || s.step < 0) problems.push(`parameter ${key}: step ${JSON.stringify(s?.step)} is not a non-negative integer`);
      else loaded.set(i, { step: s.step, buffers: new Map() });
    }
    const entries = source.tensors instanceof Map ? [...source.tensors] : Object.entries(source.tensors);
    for (const [tensorName, value] of entries) {
      const m = /^state\.(\d+)\.(.+)$/.exec(tensorName);
      const i = m ? Number(m[1]) : -1;
      const entry = loaded.get(i);
      if (!m || !entry) {
        problems.push(`unexpected tensor '${tensorName}'`);
        continue;
      }
      if (!sameShape(value.shape, params[i].shape)) problems.push(`'${tensorName}' has shape ${fmt(value.shape)}, its parameter ${fmt(params[i].shape)}`);
      else if (value instanceof Tensor && value.isDisposed) problems.push(`'${tensorName}' was disposed`);
      entry.buffers.set(m[2], value);
    }
    for (const [i, entry] of loaded) {
      const expected = this.stateBufferNames(newHyperparameters[groupIndex[i]] ?? this.paramGroups[groupIndex[i]]);
      for (const b of expected) if (!entry.buffers.has(b)) problems.push(`parameter ${i}: missing buffer '${b}'`);
      for (const b of entry.buffers.keys()) if (!expected.includes(b)) problems.push(`parameter ${i}: unexpected buffer '${b}'`);
    }
    if (problems.length) throw new Error(`${name}.loadStateDict: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);

    newHyperparameters.forEach((h, i) => Object.assign(this.paramGroups[i], overrides<H>(h ?? {})));
    // Copy before freeing the old state: the source may be this optimizer's own stateDict().
    const restored = [...loaded].map(([i, entry]): [Tensor, ParamState] => {
      const state: ParamState = { step: entry.step, buffers: new Map() };
      for (const [b, value] of entry.buffers) assign(this.stateBuffer(state, b, params[i]), value);
      return [params[i], state];
    });
    this.disposeState();
    for (const [p, state] of restored) this.states.set(p, state);
  }

  private disposeState(): void {
    for (const s of this.states.values()) for (const b of s.buffers.values()) b.dispose();
    this.states.clear();
  }

  /** Frees the state buffers (the parameters belong to their module). */
  dispose(): void {
    this.disposeState();
  }
}
