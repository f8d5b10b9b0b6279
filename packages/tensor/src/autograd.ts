/**
 * Reverse-mode autograd's recording half. Each op that has an input requiring
 * grad records a `GraphNode` holding its backward closure and the tensors it
 * saved. Nodes are reference-counted by the tensors they produced and by
 * downstream nodes, so a graph lives exactly as long as something can still
 * backpropagate through it. `backward.ts` runs a graph.
 */
import type { Tensor } from './tensor.ts';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording a graph, as `torch.no_grad()`. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Where a node's input gradient goes: an upstream node, or a leaf's `.grad`. */
type Edge = { node: GraphNode; leaf?: undefined } | { leaf: Tensor; node?: undefined };

/**
 * An op's backward: the gradients of its inputs, given `grad` (its output's)
 * and what it saved. `into[k]`, when not null, is the gradient the engine
 * already holds for input k (a leaf's `.grad`, or an upstream node's sum so
 * far), of input k's shape and shared with no other tensor: the backward may
 * add its gradient to it in place and return it, which saves the separate
 * add (torch's AccumulateGrad also adds into `.grad` in place).
 */
export type BackwardFn<S extends readonly Tensor[]> = (grad: Tensor, saved: S, into: ReadonlyArray<Tensor | null>) => ReadonlyArray<Tensor | null>;

export class GraphNode {
  /** Tensors produced by this node plus downstream nodes that point here. */
  refs = 1;
  private freed = false;

  constructor(
    readonly op: string,
    readonly edges: ReadonlyArray<Edge | null>,
    private readonly saved: Tensor[],
    private readonly backwardFn: BackwardFn<readonly Tensor[]>,
  ) {}

  apply(grad: Tensor, into: ReadonlyArray<Tensor | null>): ReadonlyArray<Tensor | null> {
    if (this.freed) {
      throw new Error(
        `backward: the graph through '${this.op}' was already freed by an earlier backward(); pass { retainGraph: true } to the first call to backpropagate twice`,
      );
    }
    return this.backwardFn(grad, this.saved, into);
  }

  /** Whether `t` is one of the tensors this node saved. */
  holds(t: Tensor): boolean {
    return this.saved.includes(t);
  }

  /** Frees the saved tensors; the node can no longer backpropagate. */
  freeSaved(): void {
    for (const t of this.saved) t.dispose();
    this.saved.length = 0;
    this.freed = true;
  }

  release(): void {
    if (--this.refs > 0) return;
    this.freeSaved();
    for (const e of this.edges) e?.node?.release();
  }
}

/**
 * `grad()` for a backward's `input`, or null without computing it when the
 * input needs no gradient (a constant, or an absent optional operand).
 */
export function gradIfNeeded(input: Tensor | null | undefined, grad: () => Tensor): Tensor | null {
  return input?.requiresGrad ? grad() : null;
}

/**
 * Records `op` producing `out` from `inputs` when any input requires grad.
 * `saved` tensors are held (as aliases of their storage, so `tidy` or
 * `dispose` of the originals does not free them) until the graph is freed.
 */
export function record<S extends Tensor[]>(op: string, out: Tensor, inputs: readonly Tensor[], saved: S, backward: BackwardFn<S>): void {
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return;
  const edges = inputs.map((t): Edge | null => {
    if (!t.requiresGrad) return null;
    if (t.gradFn) {
      t.gradFn.refs++;
      return { node: t.gradFn };
    }
    return { leaf: t };
  });
  const aliases = saved.map((t) => t.alias(false));
  out.attachGradFn(new GraphNode(op, edges, aliases, backward as BackwardFn<readonly Tensor[]>));
}
