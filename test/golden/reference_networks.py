"""The reference CycleGAN, declared as junyanz/pytorch-CycleGAN-and-pix2pix builds it: the
networks of models/networks.py (so parameter names, model.<i>..., model.<i>.conv_block.<j>...,
match the reference's state dicts), the LSGAN loss, util/image_pool.py and the training step of
models/cycle_gan_model.py. The one copy used by the golden fixtures (generate.py), the .pth
fixtures (pth_fixtures.py, pth_parity.py), the reference runs of the demo (reference_demo.py)
and the PyTorch peer of the training bench (bench/cyclegan_peer.py, which the bundle ships
beside this file)."""

import functools
import itertools
import random

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


def init_normal(net, gain=0.02):
    """init_weights('normal'): conv weights N(0, gain), biases zero."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0.0)
    return net


class ImagePool:
    """util/image_pool.py: until full, returns what it stores; then, with p 0.5, a stored image that the new one replaces."""

    def __init__(self, size):
        self.size, self.images = size, []

    def query(self, images):
        if self.size == 0:
            return images
        out = []
        for image in images:
            image = image.detach().unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                i = random.randint(0, self.size - 1)
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        return torch.cat(out, 0)


class CycleGANModel:
    """models/cycle_gan_model.py with --norm instance, --no_dropout, gan_mode lsgan: two ResNet
    generators, two PatchGANs, one Adam over both generators and one over both discriminators,
    discriminators fed from image pools."""

    def __init__(self, ngf=64, ndf=64, n_blocks=9, lr=2e-4, beta1=0.5, lambda_A=10.0, lambda_B=10.0, lambda_identity=0.5, pool_size=50, device="cpu"):
        self.G_A, self.G_B = (init_normal(ResnetGenerator(3, 3, ngf, INSTANCE_NORM, n_blocks)).to(device) for _ in range(2))
        self.D_A, self.D_B = (init_normal(NLayerDiscriminator(3, ndf, INSTANCE_NORM)).to(device) for _ in range(2))
        self.opt_G = torch.optim.Adam(itertools.chain(self.G_A.parameters(), self.G_B.parameters()), lr=lr, betas=(beta1, 0.999))
        self.opt_D = torch.optim.Adam(itertools.chain(self.D_A.parameters(), self.D_B.parameters()), lr=lr, betas=(beta1, 0.999))
        self.pool_A, self.pool_B = ImagePool(pool_size), ImagePool(pool_size)
        self.lambda_A, self.lambda_B, self.lambda_identity = lambda_A, lambda_B, lambda_identity

    def networks(self):
        return {"G_A": self.G_A, "G_B": self.G_B, "D_A": self.D_A, "D_B": self.D_B}

    def _backward_D(self, net, real, fake):
        loss = (gan_loss(net(real), True) + gan_loss(net(fake.detach()), False)) * 0.5
        loss.backward()

    def optimize_parameters(self, real_A, real_B):
        """optimize_parameters(), in the reference order."""
        l1 = nn.functional.l1_loss
        fake_B = self.G_A(real_A)
        rec_A = self.G_B(fake_B)
        fake_A = self.G_B(real_B)
        rec_B = self.G_A(fake_A)
        set_requires_grad([self.D_A, self.D_B], False)
        self.opt_G.zero_grad()
        # backward_G: identity terms first, as the reference computes them.
        loss_G = 0
        if self.lambda_identity > 0:
            loss_G = l1(self.G_A(real_B), real_B) * self.lambda_B * self.lambda_identity
            loss_G = loss_G + l1(self.G_B(real_A), real_A) * self.lambda_A * self.lambda_identity
        loss_G = loss_G + gan_loss(self.D_A(fake_B), True) + gan_loss(self.D_B(fake_A), True)
        loss_G = loss_G + l1(rec_A, real_A) * self.lambda_A + l1(rec_B, real_B) * self.lambda_B
        loss_G.backward()
        self.opt_G.step()
        set_requires_grad([self.D_A, self.D_B], True)
        self.opt_D.zero_grad()
        self._backward_D(self.D_A, real_B, self.pool_B.query(fake_B))
        self._backward_D(self.D_B, real_A, self.pool_A.query(fake_A))
        self.opt_D.step()
