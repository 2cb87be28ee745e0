// Reference cases for src/ops/nn_conv.cpp; goldens: scripts/goldens/nn_conv.py.
#include "reference.h"

namespace ember::testing {
namespace {

TensorList one(const Tensor& t) { return {t}; }
TensorList both(const ValuesIndices& r) { return {r.values, r.indices}; }
Pool2dOptions pool(Int2 kernel, std::optional<Int2> stride = {}, Int2 padding = 0) {
  Pool2dOptions o;
  o.kernel_size = kernel;
  o.stride = stride;
  o.padding = padding;
  return o;
}
Pool2dOptions ceil_mode(Pool2dOptions o) {
  o.ceil_mode = true;
  return o;
}
Pool2dOptions exclude_pad(Pool2dOptions o) {
  o.count_include_pad = false;
  return o;
}
Tensor nearest_size(const Tensor& x, Int2 size) { return interpolate(x, {.size = size}); }
Tensor bilinear_size(const Tensor& x, Int2 size, bool align_corners = false) {
  return interpolate(x, {.size = size, .mode = "bilinear", .align_corners = align_corners});
}
// Second order for every op's f64 case: convolutions and resampling are
// (bi)linear; max pooling is piecewise linear, smooth at tie-free random inputs.
const CaseOptions kSecondOrder{.gradgradcheck = true};

const RegisterCases nn_conv_cases(
    "nn_conv",
    {
        {"conv2d/basic", [](const TensorList& in) { return one(conv2d(in[0], in[1], in[2])); }},
        {"conv2d/stride_padding",
         [](const TensorList& in) { return one(conv2d(in[0], in[1], in[2], {.stride = 2, .padding = 1})); }},
        {"conv2d/stride_floor",
         [](const TensorList& in) {
           return one(conv2d(in[0], in[1], {}, {.stride = {2, 3}, .padding = {1, 0}}));
         }},
        {"conv2d/dilation",
         [](const TensorList& in) { return one(conv2d(in[0], in[1], in[2], {.padding = 2, .dilation = 2})); }},
        {"conv2d/groups",
         [](const TensorList& in) { return one(conv2d(in[0], in[1], in[2], {.padding = 1, .groups = 2})); }},
        {"conv2d/depthwise", [](const TensorList& in) { return one(conv2d(in[0], in[1], {}, {.groups = 4})); }},
        {"conv2d/pointwise", [](const TensorList& in) { return one(conv2d(in[0], in[1], in[2])); }},
        {"conv2d/noncontig",
         [](const TensorList& in) {
           return one(conv2d(in[0].permute({0, 3, 1, 2}), in[1], {}, {.padding = 1}));
         }},
        {"conv2d/unbatched", [](const TensorList& in) { return one(conv2d(in[0], in[1], in[2])); }},
        {"conv2d/empty", [](const TensorList& in) { return one(conv2d(in[0], in[1], in[2])); }},
        {"conv2d/f64",
         [](const TensorList& in) { return one(conv2d(in[0], in[1], in[2], {.stride = 2, .padding = 1})); },
         kSecondOrder},
        {"conv2d/f64_groups_dilation",
         [](const TensorList& in) {
           return one(conv2d(in[0], in[1], {}, {.stride = {1, 2}, .padding = {1, 2}, .dilation = {2, 1}, .groups = 2}));
         },
         kSecondOrder},
        {"conv2d/bf16", [](const TensorList& in) { return one(conv2d(in[0], in[1], in[2], {.padding = 1})); }},
        {"conv2d/f16", [](const TensorList& in) { return one(conv2d(in[0], in[1], {}, {.stride = 2})); }},
        {"conv2d/channels_16", [](const TensorList& in) { return one(conv2d(in[0], in[1], in[2], {.padding = 1})); }},

        {"conv1d/basic", [](const TensorList& in) { return one(conv1d(in[0], in[1], in[2])); }},
        {"conv1d/stride_groups",
         [](const TensorList& in) {
           return one(conv1d(in[0], in[1], {}, {.stride = 2, .padding = 1, .dilation = 2, .groups = 2}));
         }},
        {"conv1d/unbatched", [](const TensorList& in) { return one(conv1d(in[0], in[1])); }},

        {"conv_transpose2d/basic", [](const TensorList& in) { return one(conv_transpose2d(in[0], in[1], in[2])); }},
        {"conv_transpose2d/stride_output_padding",
         [](const TensorList& in) {
           return one(conv_transpose2d(in[0], in[1], in[2], {.stride = 2, .padding = 1, .output_padding = 1}));
         }},
        {"conv_transpose2d/groups_dilation",
         [](const TensorList& in) {
           return one(conv_transpose2d(in[0], in[1], {},
                                       {.stride = {2, 1}, .padding = {0, 1}, .groups = 2, .dilation = {1, 2}}));
         }},
        {"conv_transpose2d/output_padding_past_stride",
         [](const TensorList& in) {
           return one(conv_transpose2d(in[0], in[1], in[2], {.stride = 1, .output_padding = 1, .dilation = 2}));
         }},
        {"conv_transpose2d/unbatched", [](const TensorList& in) { return one(conv_transpose2d(in[0], in[1])); }},
        {"conv_transpose2d/f64",
         [](const TensorList& in) {
           return one(conv_transpose2d(in[0], in[1], in[2], {.stride = 2, .padding = 1, .output_padding = {1, 0}}));
         },
         kSecondOrder},
        {"conv_transpose2d/f64_past_stride",
         [](const TensorList& in) {
           return one(conv_transpose2d(in[0], in[1], {}, {.stride = 1, .output_padding = 1, .dilation = 2}));
         },
         kSecondOrder},
        {"conv_transpose2d/bf16",
         [](const TensorList& in) { return one(conv_transpose2d(in[0], in[1], {}, {.stride = 2})); }},

        {"max_pool2d/basic", [](const TensorList& in) { return one(max_pool2d(in[0], 2)); }},
        {"max_pool2d/stride_padding", [](const TensorList& in) { return one(max_pool2d(in[0], pool(3, 2, 1))); }},
        {"max_pool2d/dilation",
         [](const TensorList& in) {
           Pool2dOptions o = pool({3, 2}, Int2{2, 1}, 1);
           o.dilation = {2, 3};
           return one(max_pool2d(in[0], o));
         }},
        {"max_pool2d/ceil_mode", [](const TensorList& in) { return one(max_pool2d(in[0], ceil_mode(pool(3, 2)))); }},
        {"max_pool2d/ceil_mode_padding",
         [](const TensorList& in) { return one(max_pool2d(in[0], ceil_mode(pool(2, 2, 1)))); }},
        {"max_pool2d/with_indices",
         [](const TensorList& in) { return both(max_pool2d_with_indices(in[0], pool(3, 2, 1))); }},
        {"max_pool2d/noncontig",
         [](const TensorList& in) {
           return one(max_pool2d(in[0].permute({0, 3, 1, 2}), 2));
         }},
        {"max_pool2d/unbatched", [](const TensorList& in) { return one(max_pool2d(in[0], pool(2, 1))); }},
        {"max_pool2d/f64", [](const TensorList& in) { return one(max_pool2d(in[0], pool(3, 2, 1))); }, kSecondOrder},
        {"max_pool2d/bf16", [](const TensorList& in) { return one(max_pool2d(in[0], 2)); }},
        {"max_pool2d/int", [](const TensorList& in) { return both(max_pool2d_with_indices(in[0], pool(2))); }},
        {"max_pool2d/nan", [](const TensorList& in) { return both(max_pool2d_with_indices(in[0], pool(2, 1))); }},
        {"max_pool2d/empty_batch", [](const TensorList& in) { return one(max_pool2d(in[0], 2)); }},

        {"avg_pool2d/basic", [](const TensorList& in) { return one(avg_pool2d(in[0], 2)); }},
        {"avg_pool2d/stride_padding", [](const TensorList& in) { return one(avg_pool2d(in[0], pool(3, 2, 1))); }},
        {"avg_pool2d/exclude_pad",
         [](const TensorList& in) { return one(avg_pool2d(in[0], exclude_pad(pool(3, 2, 1)))); }},
        {"avg_pool2d/ceil_mode",
         [](const TensorList& in) {
           return one(avg_pool2d(in[0], ceil_mode(pool({3, 2}, 2, 1))));
         }},
        {"avg_pool2d/ceil_mode_exclude_pad",
         [](const TensorList& in) {
           return one(avg_pool2d(in[0], exclude_pad(ceil_mode(pool({3, 2}, 2, 1)))));
         }},
        {"avg_pool2d/noncontig",
         [](const TensorList& in) {
           return one(avg_pool2d(in[0].permute({0, 3, 1, 2}), pool(3, 1)));
         }},
        {"avg_pool2d/unbatched", [](const TensorList& in) { return one(avg_pool2d(in[0], 2)); }},
        {"avg_pool2d/f64", [](const TensorList& in) { return one(avg_pool2d(in[0], pool(3, 2, 1))); }, kSecondOrder},
        {"avg_pool2d/bf16", [](const TensorList& in) { return one(avg_pool2d(in[0], 2)); }},
        {"avg_pool2d/f16",
         [](const TensorList& in) {
           return one(avg_pool2d(in[0], pool({2, 3}, {}, 1)));
         }},
        {"avg_pool2d/empty_batch", [](const TensorList& in) { return one(avg_pool2d(in[0], 2)); }},

        {"adaptive_avg_pool2d/basic",
         [](const TensorList& in) {
           return one(adaptive_avg_pool2d(in[0], {3, 2}));
         }},
        {"adaptive_avg_pool2d/upsample",
         [](const TensorList& in) {
           return one(adaptive_avg_pool2d(in[0], {5, 4}));
         }},
        {"adaptive_avg_pool2d/global", [](const TensorList& in) { return one(adaptive_avg_pool2d(in[0], 1)); }},
        {"adaptive_avg_pool2d/unbatched", [](const TensorList& in) { return one(adaptive_avg_pool2d(in[0], 4)); }},
        {"adaptive_avg_pool2d/f64",
         [](const TensorList& in) {
           return one(adaptive_avg_pool2d(in[0], {3, 4}));
         },
         kSecondOrder},
        {"adaptive_avg_pool2d/bf16",
         [](const TensorList& in) {
           return one(adaptive_avg_pool2d(in[0], {4, 3}));
         }},

        {"upsample_nearest2d/size",
         [](const TensorList& in) {
           return one(nearest_size(in[0], {5, 7}));
         }},
        {"upsample_nearest2d/scale_2",
         [](const TensorList& in) {
           return one(interpolate(in[0], {.scale_factor = std::pair{2.0, 2.0}}));
         }},
        {"upsample_nearest2d/scale_fraction",
         [](const TensorList& in) {
           return one(interpolate(in[0], {.scale_factor = std::pair{1.7, 2.3}}));
         }},
        {"upsample_nearest2d/downsample",
         [](const TensorList& in) {
           return one(nearest_size(in[0], {4, 3}));
         }},
        {"upsample_nearest2d/noncontig",
         [](const TensorList& in) {
           return one(nearest_size(in[0].permute({0, 3, 1, 2}), {6, 5}));
         }},
        {"upsample_nearest2d/f64",
         [](const TensorList& in) {
           return one(nearest_size(in[0], {7, 5}));
         },
         kSecondOrder},
        {"upsample_nearest2d/bf16",
         [](const TensorList& in) {
           return one(interpolate(in[0], {.scale_factor = std::pair{3.0, 3.0}}));
         }},
        {"upsample_nearest2d/u8",
         [](const TensorList& in) {
           return one(nearest_size(in[0], {5, 4}));
         }},

        {"upsample_bilinear2d/size",
         [](const TensorList& in) {
           return one(bilinear_size(in[0], {5, 7}));
         }},
        {"upsample_bilinear2d/align_corners",
         [](const TensorList& in) {
           return one(bilinear_size(in[0], {6, 5}, true));
         }},
        {"upsample_bilinear2d/scale",
         [](const TensorList& in) {
           return one(interpolate(in[0], {.scale_factor = std::pair{1.5, 2.5}, .mode = "bilinear"}));
         }},
        {"upsample_bilinear2d/downsample",
         [](const TensorList& in) {
           return one(bilinear_size(in[0], {4, 3}));
         }},
        {"upsample_bilinear2d/same_size",
         [](const TensorList& in) {
           return one(bilinear_size(in[0], {3, 4}));
         }},
        {"upsample_bilinear2d/one_row_align_corners",
         [](const TensorList& in) {
           return one(bilinear_size(in[0], {1, 6}, true));
         }},
        {"upsample_bilinear2d/noncontig",
         [](const TensorList& in) {
           return one(bilinear_size(in[0].permute({0, 3, 1, 2}), {5, 6}));
         }},
        {"upsample_bilinear2d/f64",
         [](const TensorList& in) {
           return one(bilinear_size(in[0], {5, 6}));
         },
         kSecondOrder},
        {"upsample_bilinear2d/bf16",
         [](const TensorList& in) {
           return one(interpolate(in[0], {.scale_factor = std::pair{2.0, 2.0}, .mode = "bilinear"}));
         }},
    });

}  // namespace
}  // namespace ember::testing
