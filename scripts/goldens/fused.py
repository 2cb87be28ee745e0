"""Goldens for graph mode's fused ops (src/ops/fused.cpp): each is the
unfused PyTorch composition it stands for. No gradients: the fused ops are
made by graph passes and have none."""
import torch
import torch.nn.functional as F

from common import Case, T


def cases():
    f64 = torch.float64
    return [
        Case("fused_linear/relu", [T((4, 7)), T((5, 7)), T((5,))],
             lambda x, w, b: F.relu(F.linear(x, w, b)), grad=False),
        Case("fused_linear/gelu_no_bias_f64", [T((3, 6), f64), T((4, 6), f64)],
             lambda x, w: F.gelu(F.linear(x, w)), grad=False),
        Case("fused_conv2d/silu", [T((2, 3, 6, 5)), T((4, 3, 3, 3)), T((4,))],
             lambda x, w, b: F.silu(F.conv2d(x, w, b, padding=1)), grad=False),
        Case("fused_conv2d/tanh_stride_f64", [T((1, 2, 7, 7), f64), T((3, 2, 3, 3), f64), T((3,), f64)],
             lambda x, w, b: torch.tanh(F.conv2d(x, w, b, stride=2)), grad=False),
        Case("fused_conv2d_max_pool2d/relu_2x2", [T((5, 3, 8, 6)), T((4, 3, 3, 3)), T((4,))],
             lambda x, w, b: F.max_pool2d(F.relu(F.conv2d(x, w, b, padding=1)), 2), grad=False),
        Case("fused_conv2d_max_pool2d/no_bias_3x3_ceil_f64", [T((2, 2, 9, 7), f64), T((3, 2, 3, 3), f64)],
             lambda x, w: F.max_pool2d(F.conv2d(x, w, padding=1), 3, stride=2, padding=1, ceil_mode=True),
             grad=False),
        Case("fused_elementwise/mul_add_relu", [T((3, 4)), T((4,)), T((3, 1))],
             lambda x, y, z: torch.relu(x * y + z), grad=False),
        Case("fused_elementwise/where_sigmoid_f64", [T((5, 6), f64), T((6,), f64)],
             lambda x, y: torch.where(x > y, torch.sigmoid(x), y), grad=False),
    ]
