"""FashionCNN: the default example model of autocompress (Fashion-MNIST, 1x28x28 -> 10 logits).

Every convolution is followed by BatchNorm2d (convs have bias=False). The graph deliberately
contains the building blocks the C++ evaluator must handle: plain 3x3 convs, a residual add,
a depthwise-separable block (grouped conv + 1x1 conv), max pooling, flatten, Linear layers.

Importable: `from fashion_cnn import FashionCNN, MEAN, STD, CLASSES, preprocess`.
"""
import numpy as np
import torch
import torch.nn as nn

MEAN = 0.2860
STD = 0.3530
CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]


def preprocess(u8):
    """uint8 array/tensor [N,28,28] or [N,1,28,28] -> float32 tensor [N,1,28,28].

    Exactly: x = u8.float().div(255.0); x = (x - MEAN) / STD  (float32 scalars).
    """
    if isinstance(u8, np.ndarray):
        u8 = torch.from_numpy(np.ascontiguousarray(u8))
    x = u8.float().div(255.0)
    x = (x - torch.tensor(MEAN, dtype=torch.float32)) / torch.tensor(STD, dtype=torch.float32)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    return x


def conv_bn(cin, cout, k=3, groups=1, relu=True):
    layers = [
        nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv1 = conv_bn(ch, ch, 3, relu=True)
        self.conv2 = conv_bn(ch, ch, 3, relu=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.conv2(self.conv1(x))
        return self.relu(out + x)


class DepthwiseSeparable(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.dw = conv_bn(ch, ch, 3, groups=ch, relu=True)
        self.pw = conv_bn(ch, ch, 1, relu=True)

    def forward(self, x):
        return self.pw(self.dw(x))


class FashionCNN(nn.Module):
    def __init__(self, num_classes=10, dropout=0.2):
        super().__init__()
        self.stem = conv_bn(1, 32, 3)            # 28x28
        self.pool1 = nn.MaxPool2d(2)             # -> 14x14
        self.res = ResidualBlock(32)             # 14x14
        self.expand = conv_bn(32, 64, 3)         # 14x14
        self.dsep = DepthwiseSeparable(64)       # 14x14
        self.pool2 = nn.MaxPool2d(2)             # -> 7x7
        self.conv5 = conv_bn(64, 128, 3)         # 7x7
        self.pool3 = nn.MaxPool2d(2)             # -> 3x3
        self.fc1 = nn.Linear(128 * 3 * 3, 128)
        self.relu = nn.ReLU(inplace=True)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(128, num_classes)

    def forward(self, x):
        x = self.pool1(self.stem(x))
        x = self.res(x)
        x = self.expand(x)
        x = self.pool2(self.dsep(x))
        x = self.pool3(self.conv5(x))
        x = torch.flatten(x, 1)
        x = self.drop(self.relu(self.fc1(x)))
        return self.fc2(x)
