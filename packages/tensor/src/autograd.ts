/**
 * Reverse-mode autograd. Each op that has an input requiring grad records a
 * `GraphNode` holding its backward closure and the tensors it saved. Nodes are
 * reference-counted by the tensors they produced and by downstream nodes, so a
 * graph lives exactly as long as something can still backpropagate through it.
 * `backward()` topologically sorts the nodes reachable from the root and runs
 * them in reverse, summing gradients where a tensor was used more than once.
 */
import { keep, tidy } from './scope.ts';
import type { Tensor } from './tensor.ts';
import { fmt } from './shape.ts';

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

export type BackwardFn<S extends readonly Tensor[]> = (grad: Tensor, saved: S) => ReadonlyArray<Tensor | null>;

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

  apply(grad: Tensor): ReadonlyArray<Tensor | null> {
    if (this.freed) {
      throw new Error(
        `backward: the graph through '${this.op}' was already freed by an earlier backward(); pass { retainGraph: true } to the first call to backpropagate twice`,
      );
    }
    return this.backwardFn(grad, this.saved);
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

/** Post-order of the nodes reachable from `root` (inputs before users). */
function topologicalOrder(root: GraphNode): GraphNode[] {
  const order: GraphNode[] = [];
  const visited = new Set<GraphNode>([root]);
  const stack: Array<{ node: GraphNode; next: number }> = [{ node: root, next: 0 }];
  while (stack.length) {
    const frame = stack[stack.length - 1];
    if (frame.next < frame.node.edges.length) {
      const up = frame.node.edges[frame.next++]?.node;
      if (up && !visited.has(up)) {
        visited.add(up);
        stack.push({ node: up, next: 0 });
      }
    } else {
      stack.pop();
      order.push(frame.node);
    }
  }
  return order;
}

export interface BackwardOptions {
  /** Keep saved tensors so backward can run through the graph again. */
  retainGraph?: boolean;
}

export function runBackward(
  root: Tensor,
  seed: Tensor | undefined,
  options: BackwardOptions,
  ops: { ones: (shape: readonly number[]) => Tensor; add: (a: Tensor, b: Tensor) => Tensor },
): void {
  root.assertAlive('backward');
  if (!root.requiresGrad) {
    throw new Error(`backward: the tensor of shape ${fmt(root.shape)} does not require grad and has no graph (did every input have requiresGrad false, or was it made under noGrad?)`);
  }
  if (!seed && root.size !== 1) {
    throw new Error(
      `backward: called without a gradient on a non-scalar tensor of shape ${fmt(root.shape)}; reduce it to a scalar (e.g. .sum() or .mean()) or pass a gradient of the same shape`,
    );
  }
  if (seed && (seed.size !== root.size || seed.shape.length !== root.shape.length || seed.shape.some((d, i) => d !== root.shape[i]))) {
    throw new Error(`backward: gradient of shape ${fmt(seed.shape)} does not match the tensor's shape ${fmt(root.shape)}`);
  }
  noGrad(() =>
    tidy(() => {
      const accumulateLeaf = (leaf: Tensor, g: Tensor): void => {
        if (leaf.isDisposed) return;
        const prev = leaf.grad;
        leaf.grad = keep(prev ? ops.add(prev, g) : g.alias(true));
        prev?.dispose();
      };
      const start = seed ? seed.alias(true) : ops.ones(root.shape);
      if (!root.gradFn) {
        accumulateLeaf(root, start);
        return;
      }
      const order = topologicalOrder(root.gradFn);
      const grads = new Map<GraphNode, Tensor>([[root.gradFn, start]]);
      for (let i = order.length - 1; i >= 0; i--) {
        const node = order[i];
        const g = grads.get(node);
        if (!g) continue;
        grads.delete(node);
        const inputGrads = node.apply(g);
        node.edges.forEach((edge, k) => {
          const gi = inputGrads[k];
          if (!edge || !gi) return;
          if (edge.leaf) accumulateLeaf(edge.leaf, gi);
          else {
            const prev = grads.get(edge.node);
            // A backward may hand the same tensor to several inputs (add does):
            // an alias gives each consumer its own handle to dispose.
            grads.set(edge.node, prev ? ops.add(prev, gi) : gi.alias(true));
            prev?.dispose();
          }
        });
        g.dispose();
      }
      if (!options.retainGraph) for (const node of order) node.freeSaved();
    }),
  );
}
