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
      const accumulateLeaf = (leaf: Tensor, g: Tensor): void => {
        if (leaf.isDisposed) return;
        const prev = leaf.grad;
        leaf.grad = keep(prev ? add(prev, g) : g.alias(true));
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
        const inputGrads = node.apply(g);
        // Each node runs once: what it saved can go now, not at the end, so a
        // long graph's activations are freed as the backward pass passes them.
        if (!options.retainGraph) node.freeSaved();
        node.edges.forEach((edge, k) => {
          const gi = inputGrads[k];
          if (!edge || !gi) return;
          if (edge.leaf) accumulateLeaf(edge.leaf, gi);
          else {
            const prev = grads.get(edge.node);
            // A backward may hand the same tensor to several inputs (add does):
            // an alias gives each consumer its own handle to dispose.
            grads.set(edge.node, prev ? add(prev, gi) : gi.alias(true));
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
