"""The bundled model suite, adapted to 1x28x28 Fashion-MNIST input.

Every network takes N x 1 x 28 x 28 (normalized, see fmnist.py) and returns
N x 10 logits (no softmax). Widths are reduced from the originals so that each
trains in about ten minutes on one CPU core and stays well under 8 MiB of fp32
weights.

Only operators that the libsieve engine implements appear in the exported
ONNX graph: Conv, MaxPool, AveragePool, GlobalAveragePool, Relu, LRN,
BatchNormalization, Gemm, Concat, Add, Flatten, Dropout. Flattening uses
torch.flatten(x, 1), which exports as a single Flatten node (no
Shape/Gather/Reshape chain). LocalResponseNorm is exported as one ONNX LRN
node through a symbolic function (PyTorch would otherwise decompose it into
Pad/AveragePool/Pow/Div).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


# --------------------------------------------------------------------------
# LRN that exports as a single ONNX LRN node

class _LRNExport(torch.autograd.Function):
    """Used only while exporting; forward matches F.local_response_norm."""

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        return F.local_response_norm(x, size, alpha=alpha, beta=beta, k=k)

    @staticmethod
    def symbolic(g, x, size, alpha, beta, k):
        # ONNX LRN: y = x / (bias + alpha / size * sum_{window} x^2) ^ beta,
        # the same definition as PyTorch's (which averages over the window).
        # For odd sizes the padding of the window agrees too.
        return g.op("LRN", x, size_i=size, alpha_f=alpha, beta_f=beta, bias_f=k)


_BANDS = {}


def _band(c, size, like):
    """c x c x 1 x 1 matrix summing the channel window of LRN."""
    key = (c, size, like.dtype, like.device)
    if key not in _BANDS:
        i = torch.arange(c)
        d = i[None, :] - i[:, None]          # input channel - output channel
        m = ((d >= -(size // 2)) & (d <= (size - 1) // 2)).to(like.dtype)
        _BANDS[key] = m[:, :, None, None].to(like.device)
    return _BANDS[key]


def lrn(x, size, alpha, beta, k):
    """Same function as F.local_response_norm (agrees to ~1 ulp) but several
    times faster to train on CPU: the channel-window sum of squares is a 1x1
    convolution with a fixed band matrix (fast in either memory format), and
    the fractional power is exp/log, whose backward is cheaper than pow's."""
    s = F.conv2d(x * x, _band(x.shape[1], size, x))
    return x * torch.exp(torch.log(s * (alpha / size) + k) * (-beta))


class LRN(nn.Module):
    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        if size % 2 != 1:
            raise ValueError("LRN size must be odd so that ONNX and PyTorch agree")
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        if torch.onnx.is_in_onnx_export():
            return _LRNExport.apply(x, self.size, self.alpha, self.beta, self.k)
        return lrn(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return "size=%d, alpha=%g, beta=%g, k=%g" % (self.size, self.alpha,
                                                     self.beta, self.k)


def conv_relu(cin, cout, k, stride=1, padding=0, groups=1):
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=padding,
                      groups=groups), nn.ReLU(inplace=True)]


# --------------------------------------------------------------------------
# LeNet-5, Caffe variant (examples/mnist/lenet.prototxt): no activation after
# the convolutions, max pooling, fc500 + ReLU, fc10. Original widths.

class LeNet5(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 20, 5),          # 28 -> 24
            nn.MaxPool2d(2, 2),           # -> 12
            nn.Conv2d(20, 50, 5),         # -> 8
            nn.MaxPool2d(2, 2),           # -> 4
        )
        self.classifier = nn.Sequential(
            nn.Linear(50 * 4 * 4, 500),
            nn.ReLU(inplace=True),
            nn.Linear(500, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


# --------------------------------------------------------------------------
# Caffe CIFAR-10 "quick" (examples/cifar10/cifar10_quick_train_test.prototxt),
# original widths. Caffe pools with ceil mode; we use floor mode
# (28 -> 13 -> 6 -> 2), so ip1 sees 64 x 2 x 2. ip1 has no ReLU, as in Caffe.

class Cifar10Quick(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2),        # 28
            nn.MaxPool2d(3, 2),                    # 13
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 5, padding=2),       # 13
            nn.ReLU(inplace=True),
            nn.AvgPool2d(3, 2, count_include_pad=False),                    # 6
            nn.Conv2d(32, 64, 5, padding=2),       # 6
            nn.ReLU(inplace=True),
            nn.AvgPool2d(3, 2, count_include_pad=False),                    # 2
        )
        self.classifier = nn.Sequential(
            nn.Linear(64 * 2 * 2, 64),
            nn.Linear(64, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


# --------------------------------------------------------------------------
# Network in Network (Lin et al. 2014, CIFAR-10 model): three mlpconv blocks
# (a spatial conv followed by two 1x1 convs), max/avg pooling with dropout in
# between, the last 1x1 conv emits one map per class, global average pooling.
# Widths 192 -> 64/48 (about a third).

class NIN(nn.Module):
    def __init__(self, num_classes=10, w=(64, 48, 32, 64, 64)):
        super().__init__()
        a, b, c, d, e = w
        self.features = nn.Sequential(
            *conv_relu(1, a, 5, padding=2),        # 28
            *conv_relu(a, b, 1),
            *conv_relu(b, c, 1),
            nn.MaxPool2d(3, 2),                    # 13
            nn.Dropout(0.5),
            *conv_relu(c, d, 5, padding=2),        # 13
            *conv_relu(d, d, 1),
            *conv_relu(d, d, 1),
            nn.AvgPool2d(3, 2, count_include_pad=False),                    # 6
            nn.Dropout(0.5),
            *conv_relu(d, e, 3, padding=1),        # 6
            *conv_relu(e, e, 1),
            nn.Conv2d(e, num_classes, 1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),               # GlobalAveragePool
        )

    def forward(self, x):
        return torch.flatten(self.features(x), 1)


# --------------------------------------------------------------------------
# AlexNet (Krizhevsky et al. 2012): 5 convs, LRN after conv1 and conv2
# (in the CaffeNet order, after the pooling, which makes LRN 4x cheaper),
# overlapping 3x3/2 max pools, two-tower grouping (groups=2) on conv2, conv4
# and conv5 as in the original, 3 fc layers with dropout. 28x28 input: 3x3
# stride-1 first conv instead of 11x11/4, widths ~1/3 of the original.

class AlexNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            *conv_relu(1, 32, 3, padding=1),               # 28
            nn.MaxPool2d(3, 2),                            # 13
            LRN(5, 1e-4, 0.75, 2.0),
            *conv_relu(32, 96, 3, padding=1, groups=2),    # 13
            nn.MaxPool2d(3, 2),                            # 6
            LRN(5, 1e-4, 0.75, 2.0),
            *conv_relu(96, 128, 3, padding=1),             # 6
            *conv_relu(128, 128, 3, padding=1, groups=2),  # 6
            *conv_relu(128, 96, 3, padding=1, groups=2),   # 6
            nn.MaxPool2d(3, 2),                            # 2
        )
        self.classifier = nn.Sequential(
            nn.Dropout(0.5),
            nn.Linear(96 * 2 * 2, 512),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(512, 512),
            nn.ReLU(inplace=True),
            nn.Linear(512, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


# --------------------------------------------------------------------------
# SqueezeNet 1.1 (Iandola et al. 2016): fire modules (squeeze 1x1, then
# expand 1x1 and expand 3x3 concatenated on channels), final 1x1 conv to the
# classes + ReLU + global average pooling. 28x28 input: 3x3 stride-1 first
# conv, two max pools (28 -> 13 -> 6), widths halved.

class Fire(nn.Module):
    def __init__(self, cin, squeeze, e1, e3):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.expand1 = nn.Conv2d(squeeze, e1, 1)
        self.expand3 = nn.Conv2d(squeeze, e3, 3, padding=1)

    def forward(self, x):
        s = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.expand1(s)), F.relu(self.expand3(s))], 1)


class SqueezeNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            *conv_relu(1, 32, 3, padding=1),      # 28
            nn.MaxPool2d(3, 2),                   # 13
            Fire(32, 8, 32, 32),
            Fire(64, 8, 32, 32),
            nn.MaxPool2d(3, 2),                   # 6
            Fire(64, 16, 64, 64),
            Fire(128, 16, 64, 64),
            Fire(128, 24, 96, 96),
            Fire(192, 24, 96, 96),
            Fire(192, 32, 128, 128),
            Fire(256, 32, 128, 128),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(0.5),
            nn.Conv2d(256, num_classes, 1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )
        # With PyTorch's default init the signal fades through the 17 convs
        # and the final ReLU outputs zeros: the loss sits at ln(10). He init
        # keeps it alive; the classifier conv starts small as in torchvision.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.classifier[1].weight, 0.0, 0.01)

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


# --------------------------------------------------------------------------
# GoogLeNet (Szegedy et al. 2015): stem with LRN, inception modules with four
# branches (1x1; 1x1 -> 3x3; 1x1 -> 5x5; 3x3/1 max pool -> 1x1) concatenated
# on channels, max pools between stages, global average pooling, dropout, fc.
# 28x28 input: 3x3 stride-1 stem, widths 1/4 of the original, the 4c/4d/4e
# modules and the auxiliary classifiers dropped.

class Inception(nn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, cp):
        super().__init__()
        self.b1 = nn.Sequential(*conv_relu(cin, c1, 1))
        self.b2 = nn.Sequential(*conv_relu(cin, c3r, 1),
                                *conv_relu(c3r, c3, 3, padding=1))
        self.b3 = nn.Sequential(*conv_relu(cin, c5r, 1),
                                *conv_relu(c5r, c5, 5, padding=2))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, padding=1),
                                *conv_relu(cin, cp, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(
            *conv_relu(1, 32, 3, padding=1),      # 28
            nn.MaxPool2d(3, 2),                   # 13
            LRN(5, 1e-4, 0.75, 1.0),
            *conv_relu(32, 32, 1),
            *conv_relu(32, 96, 3, padding=1),
            LRN(5, 1e-4, 0.75, 1.0),
        )
        self.stage3 = nn.Sequential(              # 13x13
            Inception(96, 16, 24, 32, 4, 8, 8),        # 64
            Inception(64, 32, 32, 48, 8, 24, 16),      # 120
            nn.MaxPool2d(3, 2),                        # 6
        )
        self.stage4 = nn.Sequential(              # 6x6
            Inception(120, 48, 24, 52, 4, 12, 16),     # 128
            Inception(128, 40, 28, 56, 6, 16, 16),     # 128
            nn.MaxPool2d(3, 2),                        # 2
        )
        self.stage5 = nn.Sequential(              # 2x2
            Inception(128, 64, 40, 80, 8, 32, 32),     # 208
            Inception(208, 96, 48, 96, 12, 32, 32),    # 256
        )
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(1),
            nn.Dropout(0.4),
            nn.Linear(256, num_classes),
        )

    def forward(self, x):
        return self.head(self.stage5(self.stage4(self.stage3(self.stem(x)))))


# --------------------------------------------------------------------------
# ResNet-18 (He et al. 2016): basic blocks (two 3x3 convs with BatchNorm) and
# identity / 1x1-projection shortcuts added before the ReLU, stages [2,2,2,2].
# 28x28 input: 3x3 stride-1 stem without max pool (the CIFAR variant), widths
# 1/4 of the original (16, 32, 64, 128).

class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False),
                nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.shortcut is None else self.shortcut(x)
        return F.relu(y + s)


class ResNet18(nn.Module):
    def __init__(self, num_classes=10, widths=(16, 32, 64, 128)):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, widths[0], 3, 1, 1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True))
        layers, cin = [], widths[0]
        for i, w in enumerate(widths):       # 28 -> 28 -> 14 -> 7 -> 4
            for j in range(2):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(BasicBlock(cin, w, stride))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out",
                                        nonlinearity="relu")

    def forward(self, x):
        x = self.pool(self.layers(self.stem(x)))
        return self.fc(torch.flatten(x, 1))


# --------------------------------------------------------------------------
# VGG-16 (Simonyan & Zisserman 2015, configuration D): 13 3x3 convs in five
# blocks [2,2,3,3,3] with 2x2 max pools, then 3 fc layers with dropout. No
# BatchNorm, as in the original. The first conv pads by 3 instead of 1 so the
# 28x28 input becomes 32x32 inside the net (32 -> 16 -> 8 -> 4 -> 2 -> 1)
# without a separate Pad node. Widths 1/4 (16..128), fc 256.

class VGG16(nn.Module):
    CFG = [(16, 2), (32, 2), (64, 3), (128, 3), (128, 3)]

    def __init__(self, num_classes=10, fc=256):
        super().__init__()
        layers, cin, first = [], 1, True
        for w, n in self.CFG:
            for _ in range(n):
                layers += conv_relu(cin, w, 3, padding=3 if first else 1)
                cin, first = w, False
            layers.append(nn.MaxPool2d(2, 2))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(cin, fc),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(fc, fc),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(fc, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out",
                                        nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


MODELS = {
    "lenet5": LeNet5,
    "cifar10_quick": Cifar10Quick,
    "nin": NIN,
    "alexnet": AlexNet,
    "squeezenet": SqueezeNet,
    "googlenet": GoogLeNet,
    "resnet18": ResNet18,
    "vgg16": VGG16,
}

# Order in which the suite is trained (lenet5 first: the main demo uses it).
ORDER = ["lenet5", "cifar10_quick", "resnet18", "squeezenet", "nin",
         "alexnet", "googlenet", "vgg16"]


def build(name, num_classes=10):
    if name not in MODELS:
        raise KeyError("unknown model %r (choose from %s)"
                       % (name, ", ".join(sorted(MODELS))))
    return MODELS[name](num_classes)


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def count_macs(model, input_shape=(1, 1, 28, 28)):
    """Multiply-accumulates of one forward pass for Conv2d and Linear layers
    (the layers that dominate; pooling, LRN, BN and adds are not counted)."""
    macs = [0]

    def conv_hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        macs[0] += out.numel() // out.shape[0] * k

    def fc_hook(m, inp, out):
        macs[0] += m.in_features * m.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(fc_hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(*input_shape))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return macs[0]


if __name__ == "__main__":
    total = 0
    for name in ORDER:
        m = build(name)
        p = count_params(m)
        total += p
        print("%-14s params %9d (%6.2f MiB fp32)  MACs %11d"
              % (name, p, p * 4 / 2**20, count_macs(m)))
    print("total params %d (%.2f MiB fp32)" % (total, total * 4 / 2**20))
