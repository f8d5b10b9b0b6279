"""The reference CycleGAN networks, declared as junyanz/pytorch-CycleGAN-and-pix2pix's
models/networks.py builds them, so parameter names (model.<i>..., model.<i>.conv_block.<j>...)
match the reference's state dicts. The one copy used by the golden fixtures (generate.py), the
.pth fixtures (pth_fixtures.py, pth_parity.py) and the PyTorch peer of the training bench
(bench/cyclegan_peer.py, which the bundle ships beside this file), and the LSGAN loss they share."""

import functools

import torch
import torch.nn as nn

# The reference's `--norm instance`: no affine parameters, no running statistics.
INSTANCE_NORM = functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)


def gan_loss(pred, is_real):
    """GANLoss('lsgan'): MSE against a target of 1 (real) or 0 (fake)."""
    return nn.functional.mse_loss(pred, torch.full_like(pred, 1.0 if is_real else 0.0))


def set_requires_grad(nets, flag):
    """BaseModel.set_requires_grad: freezes the discriminators during the generators' step."""
    for net in nets:
        for p in net.parameters():
            p.requires_grad = flag


def _use_bias(norm_layer):
    # As the reference: convs feeding an InstanceNorm keep their bias (a BatchNorm would absorb it).
    return getattr(norm_layer, "func", norm_layer) == nn.InstanceNorm2d


class ResnetBlock(nn.Module):
    def __init__(self, dim, norm_layer, use_bias, use_dropout=False):
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=use_bias), norm_layer(dim), nn.ReLU(True)]
        if use_dropout:
            layers += [nn.Dropout(0.5)]
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=use_bias), norm_layer(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, ngf, norm_layer=INSTANCE_NORM, n_blocks=9, use_dropout=False):
        super().__init__()
        use_bias = _use_bias(norm_layer)
        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=use_bias), norm_layer(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2**i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=use_bias), norm_layer(ngf * mult * 2), nn.ReLU(True)]
        model += [ResnetBlock(ngf * 4, norm_layer, use_bias, use_dropout) for _ in range(n_blocks)]
        for i in range(2):
            mult = 2 ** (2 - i)
            model += [
                nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, kernel_size=3, stride=2, padding=1, output_padding=1, bias=use_bias),
                norm_layer(ngf * mult // 2),
                nn.ReLU(True),
            ]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """The 70x70 PatchGAN."""

    def __init__(self, input_nc, ndf, norm_layer=INSTANCE_NORM, n_layers=3):
        super().__init__()
        use_bias = _use_bias(norm_layer)
        kw, padw = 4, 1
        seq = [nn.Conv2d(input_nc, ndf, kernel_size=kw, stride=2, padding=padw), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2**n, 8)
            seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=kw, stride=2, padding=padw, bias=use_bias), norm_layer(ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2**n_layers, 8)
        seq += [
            nn.Conv2d(ndf * prev, ndf * mult, kernel_size=kw, stride=1, padding=padw, bias=use_bias),
            norm_layer(ndf * mult),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * mult, 1, kernel_size=kw, stride=1, padding=padw),
        ]
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x)
