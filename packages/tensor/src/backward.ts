/**
 * Reverse-mode autograd's running half: `t.backward()` topologically sorts the
 * nodes reachable from `t` and runs them in reverse, summing gradients where a
 * tensor was used more than once. Apart from autograd.ts (which every op
 * imports to record) so that it can use the ops themselves.
 */
import { noGrad, type GraphNode } from './autograd.ts';
import { add } from './ops/binary.ts';
import { ones } from './ops/creation.ts';
import { keep, tidy } from './scope.ts';
import { fmt } from './shape.ts';
import { addMethods, Tensor } from './tensor.ts';

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

/**
 * For each input of `node`, the gradient already held for it that its
 * backward may add into in place (see `BackwardFn`): a leaf's `.grad` or the
 * pending sum for an upstream node, when no other tensor shares its storage.
 * An input reached through two edges (x * x) is offered at its first only.
 */
function accumulationTargets(node: GraphNode, grads: ReadonlyMap<GraphNode, Tensor>): Array<Tensor | null> {
  return node.edges.map((edge, k) => {
    if (!edge) return null;
    const held = edge.leaf ? (edge.leaf.isDisposed ? null : edge.leaf.grad) : grads.get(edge.node);
    if (!held?.ownsStorage) return null;
    const first = node.edges.findIndex((e) => (edge.leaf ? e?.leaf === edge.leaf : e?.node === edge.node));
    return first === k ? held : null;
  });
}

export interface BackwardOptions {
  /** Keep saved tensors so backward can run through the graph again. */
  retainGraph?: boolean;
}

function runBackward(root: Tensor, seed: Tensor | undefined, options: BackwardOptions): void {
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
      // `owned`: g is the backward's own new tensor, so it can become the gradient itself rather than an alias of it.
      const accumulateLeaf = (leaf: Tensor, g: Tensor, owned = false): void => {
        if (leaf.isDisposed) return;
        const prev = leaf.grad;
        leaf.grad = keep(prev ? add(prev, g) : owned ? g : g.alias(true));
        prev?.dispose();
      };
      const start = seed ? seed.alias(true) : ones(root.shape);
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
        const into = accumulationTargets(node, grads);
        const inputGrads = node.apply(g, into);
        // A backward may hand the same tensor to several inputs (add does), or
        // pass g itself on: those get an alias each, so every consumer has its
        // own handle to dispose. A new tensor of its own moves in as it is, so
        // a later gradient can be added into it in place.
        const owned = (gi: Tensor, k: number): boolean =>
          gi !== g && gi.ownsStorage && inputGrads.indexOf(gi) === k && inputGrads.lastIndexOf(gi) === k && !node.holds(gi);
        // Each node runs once: what it saved can go now, not at the end, so a
        // long graph's activations are freed as the backward pass passes them.
        if (!options.retainGraph) node.freeSaved();
        node.edges.forEach((edge, k) => {
          const gi = inputGrads[k];
          // Returning its target means the backward added into it in place.
          if (!edge || !gi || gi === into[k]) return;
          if (edge.leaf) accumulateLeaf(edge.leaf, gi, owned(gi, k));
          else {
            const prev = grads.get(edge.node);
            grads.set(edge.node, prev ? add(prev, gi) : owned(gi, k) ? gi : gi.alias(true));
            prev?.dispose();
          }
        });
        g.dispose();
      }
      // Nodes the gradient never reached still hold what they saved.
      if (!options.retainGraph) for (const node of order) node.freeSaved();
    }),
  );
}

declare module './tensor.ts' {
  interface Tensor {
    /** Backpropagates from this tensor; a scalar needs no `grad`. */
    backward(grad?: Tensor, options?: BackwardOptions): void;
  }
}

addMethods({
  backward(grad, options = {}) {
    runBackward(this, grad, options);
  },
});
