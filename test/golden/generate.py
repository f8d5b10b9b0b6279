"""Writes the PyTorch golden fixtures under test/golden/fixtures/.

Run by hand (not in CI) from the repository root, with Debian's python3-torch
(PyTorch 1.13 CPU: `apt-get install -y --no-install-recommends python3-torch`):

    /usr/bin/python3 test/golden/generate.py

Every file is written with the plain-Python writer in safetensors_io.py. All
inputs and initial parameters are drawn as float32 from fixed seeds; the math
is then done in float64 and stored as float32, so the fixtures hold the exact
answer rounded once rather than PyTorch's own float32 rounding noise.

Naming, per file (the metadata key of a case is its tensor-name prefix, and its
value is a JSON string with at least "op" or "module"):
  ops:      <op>_<i>.x / .w / .b / .y / .gy / .gx / .gw / .gb, where gy is a random
            upstream gradient and g<name> = d sum(y * gy) / d <name>;
            loss cases: <op>_<i>.x / .target / .loss (shape []) / .gx (= d loss / d x).
  optim:    <case>.<param>.init, .grad.<t>, .step.<t> (t = 1..steps), .exp_avg /
            .exp_avg_sq (Adam) or .momentum_buffer (SGD) after the last step.
  layers:   <case>.<state-dict name> (PyTorch's own names), <case>.x, <case>.y.
  cyclegan: G_A. / G_B. / D_A. / D_B.<reference state-dict name> initial weights; realA, realB;
            fakeB, recA, fakeA, recB, idtA, idtB (the step's forward) and D_A_realB (before the
            step); grad.<net>.<name> (gradients the step used); after.<net>.<name> (weights after
            one optimize_parameters()). Metadata: config, losses, param_counts, and
            zero_grad_biases (conv biases feeding InstanceNorm: see biases_before_instance_norm).
Metadata key "_generator" (no "op") records the torch version.
"""
import itertools
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

# Keep test/golden free of __pycache__ folders that git would otherwise see.
sys.dont_write_bytecode = True
from safetensors_io import write  # noqa: E402
from reference_networks import INSTANCE_NORM, NLayerDiscriminator, ResnetGenerator, gan_loss, set_requires_grad  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
F64 = torch.float64


class Fixture:
    def __init__(self, seed):
        torch.manual_seed(seed)
        self.tensors = {}
        self.metadata = {"_generator": json.dumps({"script": "test/golden/generate.py", "torch": torch.__version__, "seed": seed})}

    def add(self, name, t):
        if name in self.tensors:
            raise KeyError("duplicate tensor " + name)
        t = t.detach().to(torch.float32).contiguous()
        self.tensors[name] = (list(t.shape), t.reshape(-1).tolist())

    def case(self, name, **opts):
        if name in self.metadata:
            raise KeyError("duplicate case " + name)
        self.metadata[name] = json.dumps(opts)

    def save(self, filename):
        write(os.path.join(OUT, filename), self.tensors, self.metadata)


def randn(*shape, scale=1.0):
    """float32 draw, returned as float64 so later math runs in double precision."""
    return (torch.randn(*shape) * scale).to(F64)


def grad_case(fx, name, fn, inputs, **opts):
    """Stores inputs, y = fn(**inputs), a random gy, and d sum(y*gy) / d each input."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y = fn(**leaves)
    gy = randn(*y.shape)
    grads = torch.autograd.grad((y * gy).sum(), list(leaves.values()))
    for k, v in inputs.items():
        fx.add("%s.%s" % (name, k), v)
    fx.add(name + ".y", y)
    fx.add(name + ".gy", gy)
    for k, g in zip(leaves, grads):
        fx.add("%s.g%s" % (name, k), g)
    fx.case(name, **opts)


def ops_fixture():
    fx = Fixture(seed=1)
    # (N, Cin, Cout, H, W, k, stride, padding, bias)
    convs = [
        (1, 3, 5, 7, 9, 1, 1, 0, True),
        (1, 3, 6, 9, 9, 3, 1, 1, True),
        (3, 5, 6, 11, 10, 3, 2, 1, False),
        (1, 6, 5, 13, 13, 4, 2, 1, True),
        (1, 3, 4, 15, 15, 7, 1, 0, True),
        (3, 4, 3, 9, 11, 7, 1, 3, False),
        (1, 5, 3, 8, 8, 4, 1, 2, True),
        (3, 6, 6, 7, 7, 3, 2, 0, True),
        (1, 8, 8, 12, 12, 3, 1, 1, True),
        (1, 3, 5, 10, 7, 3, 1, 3, True),
        (1, 1, 1, 5, 5, 3, 2, 2, False),
        (3, 5, 6, 9, 9, 1, 2, 0, False),
        (1, 6, 3, 14, 12, 4, 2, 1, True),
    ]
    for i, (n, cin, cout, h, w, k, s, p, bias) in enumerate(convs):
        inputs = {"x": randn(n, cin, h, w), "w": randn(cout, cin, k, k, scale=0.3)}
        if bias:
            inputs["b"] = randn(cout, scale=0.5)
        grad_case(
            fx, "conv2d_%d" % i,
            lambda x, w, b=None, s=s, p=p: F.conv2d(x, w, b, stride=s, padding=p),
            inputs, op="conv2d", kernel=k, stride=s, padding=p, bias=bias,
        )

    # (N, Cin, Cout, H, W, k, stride, padding, output_padding, bias); weight is (Cin, Cout, k, k).
    convts = [
        (1, 6, 3, 5, 5, 3, 2, 1, 1, True),
        (3, 8, 4, 4, 6, 3, 2, 1, 1, True),
        (1, 5, 6, 5, 7, 4, 2, 1, 0, True),
        (1, 3, 5, 7, 7, 3, 1, 1, 0, False),
        (3, 4, 3, 3, 5, 3, 2, 1, 1, False),
        (1, 16, 8, 8, 8, 3, 2, 1, 1, True),
    ]
    for i, (n, cin, cout, h, w, k, s, p, op, bias) in enumerate(convts):
        inputs = {"x": randn(n, cin, h, w), "w": randn(cin, cout, k, k, scale=0.3)}
        if bias:
            inputs["b"] = randn(cout, scale=0.5)
        grad_case(
            fx, "conv_transpose2d_%d" % i,
            lambda x, w, b=None, s=s, p=p, op=op: F.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=op),
            inputs, op="conv_transpose2d", kernel=k, stride=s, padding=p, output_padding=op, bias=bias,
        )

    # (N, C, H, W, affine, input scale, input offset): the offset case checks the variance is
    # computed stably around a large mean.
    norms = [
        (1, 3, 7, 9, False, 1.0, 0.0),
        (3, 5, 5, 5, False, 2.0, 0.0),
        (3, 6, 4, 7, True, 1.0, 0.0),
        (2, 4, 16, 16, False, 3.0, 5.0),
        (1, 5, 3, 3, True, 0.5, -1.0),
    ]
    for i, (n, c, h, w, affine, scale, offset) in enumerate(norms):
        inputs = {"x": randn(n, c, h, w, scale=scale) + offset}
        if affine:
            inputs["w"] = 1 + randn(c, scale=0.3)
            inputs["b"] = randn(c, scale=0.3)
        grad_case(
            fx, "instance_norm_%d" % i,
            lambda x, w=None, b=None: F.instance_norm(x, weight=w, bias=b, eps=1e-5),
            inputs, op="instance_norm", affine=affine, eps=1e-5,
        )

    # F.pad order for the last two dims: [left, right, top, bottom].
    pads = [
        ("reflect", [3, 3, 3, 3], (1, 3, 7, 9), 0.0),
        ("reflect", [1, 1, 1, 1], (3, 2, 4, 4), 0.0),
        ("reflect", [2, 0, 1, 3], (1, 2, 5, 6), 0.0),
        ("replicate", [1, 2, 3, 0], (1, 3, 4, 5), 0.0),
        ("replicate", [2, 2, 2, 2], (2, 2, 3, 3), 0.0),
        ("constant", [1, 1, 1, 1], (1, 3, 5, 5), 0.0),
        ("constant", [0, 2, 3, 1], (2, 2, 4, 3), 0.0),
        ("constant", [2, 1, 0, 1], (1, 1, 3, 4), 0.5),
    ]
    for i, (mode, pad, shape, value) in enumerate(pads):
        opts = {"value": value} if mode == "constant" else {}
        grad_case(
            fx, "pad_%d" % i,
            lambda x, mode=mode, pad=pad, opts=opts: F.pad(x, pad, mode=mode, **opts),
            {"x": randn(*shape)}, op="pad", mode=mode, pad=pad, **opts,
        )

    activations = [
        ("relu", lambda x: F.relu(x), {}),
        ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), {"negative_slope": 0.2}),
        ("tanh", lambda x: torch.tanh(x), {}),
        ("sigmoid", lambda x: torch.sigmoid(x), {}),
    ]
    for op, fn, opts in activations:
        grad_case(fx, op + "_0", fn, {"x": randn(2, 3, 5, 7, scale=2.0)}, op=op, **opts)

    # Loss cases: gx = d loss / d x with no upstream gradient (the loss is the end of the graph).
    losses = [
        ("l1_loss", F.l1_loss, (1, 3, 8, 8), None),
        ("l1_loss", F.l1_loss, (2, 3, 5, 7), None),
        ("mse_loss", F.mse_loss, (1, 1, 6, 6), 1.0),
        ("mse_loss", F.mse_loss, (1, 1, 6, 6), 0.0),
        ("mse_loss", F.mse_loss, (2, 3, 5, 7), None),
    ]
    counters = {}
    for op, fn, shape, const in losses:
        i = counters[op] = counters.get(op, -1) + 1
        name = "%s_%d" % (op, i)
        x = randn(*shape).requires_grad_(True)
        target = torch.full(shape, const, dtype=F64) if const is not None else randn(*shape)
        loss = fn(x, target, reduction="mean")
        (gx,) = torch.autograd.grad(loss, [x])
        fx.add(name + ".x", x)
        fx.add(name + ".target", target)
        fx.add(name + ".loss", loss)
        fx.add(name + ".gx", gx)
        fx.case(name, op=op, reduction="mean")
    fx.save("ops.safetensors")


def optim_fixture():
    fx = Fixture(seed=2)
    steps = 5
    # p2's gradients are tiny, so eps matters next to sqrt(exp_avg_sq).
    shapes = {"p0": (3, 4), "p1": (5,), "p2": (2, 3)}
    grad_scale = {"p0": 1.0, "p1": 0.1, "p2": 1e-7}

    def run(name, make_opt, state_keys, **opts):
        params = {k: randn(*s) for k, s in shapes.items()}
        leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
        opt = make_opt(list(leaves.values()))
        for k, v in params.items():
            fx.add("%s.%s.init" % (name, k), v)
        for t in range(1, steps + 1):
            for k, leaf in leaves.items():
                g = randn(*shapes[k], scale=grad_scale[k])
                leaf.grad = g
                fx.add("%s.%s.grad.%d" % (name, k, t), g)
            opt.step()
            for k, leaf in leaves.items():
                fx.add("%s.%s.step.%d" % (name, k, t), leaf)
        for k, leaf in leaves.items():
            for s in state_keys:
                fx.add("%s.%s.%s" % (name, k, s), opt.state[leaf][s])
        fx.case(name, steps=steps, params=list(shapes), **opts)

    adam_cases = [
        ("adam", 2e-4, (0.5, 0.999), 1e-8, 0.0),
        ("adam_wd", 2e-4, (0.5, 0.999), 1e-8, 0.01),
        ("adam_default", 1e-3, (0.9, 0.999), 1e-8, 0.0),
    ]
    for name, lr, betas, eps, wd in adam_cases:
        run(
            name,
            lambda ps, lr=lr, betas=betas, eps=eps, wd=wd: torch.optim.Adam(ps, lr=lr, betas=betas, eps=eps, weight_decay=wd),
            ["exp_avg", "exp_avg_sq"],
            op="adam", lr=lr, betas=list(betas), eps=eps, weight_decay=wd, amsgrad=False,
        )
    run(
        "sgd_momentum",
        lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, dampening=0, nesterov=False),
        ["momentum_buffer"],
        op="sgd", lr=0.01, momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0,
    )
    fx.save("optim.safetensors")


def layers_fixture():
    fx = Fixture(seed=3)

    def module_case(name, module, x_shape, **args):
        module = module.to(F64)
        with torch.no_grad():
            for p in module.parameters():
                p.copy_(randn(*p.shape, scale=0.3))
            for m in module.modules():
                # Norm scales near 1, as in a trained network.
                if isinstance(m, nn.InstanceNorm2d) and m.affine:
                    m.weight.add_(1.0)
        state = module.state_dict()
        for k, v in state.items():
            fx.add("%s.%s" % (name, k), v)
        x = randn(*x_shape)
        with torch.no_grad():
            y = module(x)
        fx.add(name + ".x", x)
        fx.add(name + ".y", y)
        fx.case(name, module=type(module).__name__, state=list(state), **args)

    module_case("conv", nn.Conv2d(3, 5, 3, stride=2, padding=1), (2, 3, 9, 8),
                args=dict(in_channels=3, out_channels=5, kernel_size=3, stride=2, padding=1))
    module_case("conv_nobias", nn.Conv2d(4, 6, 7, bias=False), (1, 4, 10, 10),
                args=dict(in_channels=4, out_channels=6, kernel_size=7, bias=False))
    module_case("convT", nn.ConvTranspose2d(6, 3, 3, stride=2, padding=1, output_padding=1), (1, 6, 5, 6),
                args=dict(in_channels=6, out_channels=3, kernel_size=3, stride=2, padding=1, output_padding=1))
    module_case("in_plain", nn.InstanceNorm2d(4), (2, 4, 6, 5),
                args=dict(num_features=4, affine=False, eps=1e-5))
    module_case("in_affine", nn.InstanceNorm2d(4, affine=True), (2, 4, 6, 5),
                args=dict(num_features=4, affine=True, eps=1e-5))
    module_case("reflect", nn.ReflectionPad2d(3), (1, 2, 5, 6), args=dict(padding=3))
    module_case("reflect_asym", nn.ReflectionPad2d((1, 2, 0, 3)), (1, 2, 5, 6), args=dict(padding=[1, 2, 0, 3]))
    module_case("zeropad", nn.ZeroPad2d((1, 0, 2, 1)), (1, 2, 4, 5), args=dict(padding=[1, 0, 2, 1]))
    module_case("lrelu", nn.LeakyReLU(0.2), (1, 3, 4, 4), args=dict(negative_slope=0.2))
    module_case("tanh", nn.Tanh(), (1, 3, 4, 4))
    module_case("sigmoid", nn.Sigmoid(), (1, 3, 4, 4))
    seq = nn.Sequential(
        nn.ReflectionPad2d(1),
        nn.Conv2d(3, 4, 3),
        nn.InstanceNorm2d(4),
        nn.ReLU(True),
        nn.Conv2d(4, 2, 4, stride=2, padding=1),
        nn.LeakyReLU(0.2),
        nn.Tanh(),
    )
    module_case("seq", seq, (1, 3, 8, 8), layers=[repr(m) for m in seq])
    fx.save("layers.safetensors")


# --- CycleGAN: the reference networks (reference_networks.py).

NORM = INSTANCE_NORM


def init_normal(net, gain=0.02):
    """The reference init_weights('normal', 0.02): conv weights N(0, gain), biases 0."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape) * gain)
                if m.bias is not None:
                    m.bias.zero_()
    return net.to(F64)


def biases_before_instance_norm(net):
    """Conv biases that InstanceNorm cancels: their true gradient is 0, so the computed one is
    rounding noise, and Adam's first step (about lr * sign(g) when |g| >> eps) amplifies it."""
    names = []
    for seq_name, seq in net.named_modules():
        if isinstance(seq, nn.Sequential):
            for i in range(len(seq) - 1):
                if isinstance(seq[i], (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(seq[i + 1], nn.InstanceNorm2d):
                    names.append("%s.%d.bias" % (seq_name, i))
    return names


def count(net):
    return sum(p.numel() for p in net.parameters())


def cyclegan_fixture():
    assert count(ResnetGenerator(3, 3, 64, NORM, 9)) == 11_378_179
    assert count(NLayerDiscriminator(3, 64, NORM)) == 2_764_737

    cfg = dict(ngf=4, ndf=4, n_blocks=6, n_layers_D=3, image=32, batch=1, input_nc=3, output_nc=3,
               lr=2e-4, betas=[0.5, 0.999], eps=1e-8, lambda_A=10.0, lambda_B=10.0, lambda_identity=0.5,
               gan_mode="lsgan", pool_size=0, init="normal(0, 0.02) weights, zero biases",
               order="init G_A, G_B, D_A, D_B from seed 4, then realA, realB")
    fx = Fixture(seed=4)
    nets = {
        "G_A": init_normal(ResnetGenerator(3, 3, cfg["ngf"], NORM, cfg["n_blocks"])),
        "G_B": init_normal(ResnetGenerator(3, 3, cfg["ngf"], NORM, cfg["n_blocks"])),
        "D_A": init_normal(NLayerDiscriminator(3, cfg["ndf"], NORM)),
        "D_B": init_normal(NLayerDiscriminator(3, cfg["ndf"], NORM)),
    }
    G_A, G_B, D_A, D_B = nets["G_A"], nets["G_B"], nets["D_A"], nets["D_B"]
    for prefix, net in nets.items():
        for k, v in net.state_dict().items():
            fx.add("%s.%s" % (prefix, k), v)
    shape = (cfg["batch"], 3, cfg["image"], cfg["image"])
    real_A = (torch.rand(shape) * 2 - 1).to(F64)
    real_B = (torch.rand(shape) * 2 - 1).to(F64)

    opt_G = torch.optim.Adam(itertools.chain(G_A.parameters(), G_B.parameters()), lr=cfg["lr"], betas=tuple(cfg["betas"]))
    opt_D = torch.optim.Adam(itertools.chain(D_A.parameters(), D_B.parameters()), lr=cfg["lr"], betas=tuple(cfg["betas"]))
    l1 = nn.L1Loss()

    with torch.no_grad():
        D_A_real_B = D_A(real_B)

    # optimize_parameters(), in the reference order.
    fake_B = G_A(real_A)
    rec_A = G_B(fake_B)
    fake_A = G_B(real_B)
    rec_B = G_A(fake_A)

    set_requires_grad([D_A, D_B], False)
    opt_G.zero_grad()
    lam_idt, lam_A, lam_B = cfg["lambda_identity"], cfg["lambda_A"], cfg["lambda_B"]
    idt_A = G_A(real_B)
    loss_idt_A = l1(idt_A, real_B) * lam_B * lam_idt
    idt_B = G_B(real_A)
    loss_idt_B = l1(idt_B, real_A) * lam_A * lam_idt
    loss_G_A = gan_loss(D_A(fake_B), True)
    loss_G_B = gan_loss(D_B(fake_A), True)
    loss_cycle_A = l1(rec_A, real_A) * lam_A
    loss_cycle_B = l1(rec_B, real_B) * lam_B
    loss_G = loss_G_A + loss_G_B + loss_cycle_A + loss_cycle_B + loss_idt_A + loss_idt_B
    loss_G.backward()
    for prefix in ("G_A", "G_B"):
        for k, p in nets[prefix].named_parameters():
            fx.add("grad.%s.%s" % (prefix, k), p.grad)
    opt_G.step()

    set_requires_grad([D_A, D_B], True)
    opt_D.zero_grad()
    losses_D = {}
    # pool_size 0: the pool returns the images it is given.
    for name, net, real, fake in (("D_A", D_A, real_B, fake_B), ("D_B", D_B, real_A, fake_A)):
        loss_real = gan_loss(net(real), True)
        loss_fake = gan_loss(net(fake.detach()), False)
        loss_D = (loss_real + loss_fake) * 0.5
        loss_D.backward()
        losses_D[name] = loss_D.item()
    for prefix in ("D_A", "D_B"):
        for k, p in nets[prefix].named_parameters():
            fx.add("grad.%s.%s" % (prefix, k), p.grad)
    opt_D.step()

    for name, t in (("realA", real_A), ("realB", real_B), ("fakeB", fake_B), ("recA", rec_A), ("fakeA", fake_A),
                    ("recB", rec_B), ("idtA", idt_A), ("idtB", idt_B), ("D_A_realB", D_A_real_B)):
        fx.add(name, t)
    for prefix, net in nets.items():
        for k, v in net.state_dict().items():
            fx.add("after.%s.%s" % (prefix, k), v)

    noisy = {p: ["%s.%s" % (p, b) for b in biases_before_instance_norm(net)] for p, net in nets.items()}
    for p, names in noisy.items():
        grads = [fx.tensors["grad." + n][1] for n in names]
        biggest = max(abs(v) for k, (_, vals) in fx.tensors.items() if k.startswith("grad.%s." % p) for v in vals)
        assert all(abs(v) < 1e-9 * biggest for g in grads for v in g), p
    fx.metadata["config"] = json.dumps(cfg)
    fx.metadata["losses"] = json.dumps({
        "G_A": loss_G_A.item(), "G_B": loss_G_B.item(), "cycle_A": loss_cycle_A.item(), "cycle_B": loss_cycle_B.item(),
        "idt_A": loss_idt_A.item(), "idt_B": loss_idt_B.item(), "G": loss_G.item(), "D_A": losses_D["D_A"], "D_B": losses_D["D_B"],
    })
    fx.metadata["zero_grad_biases"] = json.dumps([n for names in noisy.values() for n in names])
    fx.metadata["param_counts"] = json.dumps({k: count(v) for k, v in nets.items()})
    fx.save("cyclegan.safetensors")


if __name__ == "__main__":
    torch.set_num_threads(1)
    ops_fixture()
    optim_fixture()
    layers_fixture()
    cyclegan_fixture()
