// Graph mode's fused ops (see fused.h). Each computes exactly what its
// unfused ops compute, by running their own kernels: fused_linear is linear's
// kernel plus the activation over the output while it is still in cache;
// fused_conv2d is one oneDNN primitive with the activation as a post-op;
// fused_elementwise runs a chain of elementwise kernels block by block.
#include "fused.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <variant>

#include "cpu/conv.h"
#include "elementwise.h"
#include "meta_tensor.h"
#include "registry.h"

namespace ember {
using namespace detail;

namespace {

constexpr std::string_view kFusedDerivative = "graph-mode fusion; eager code runs the unfused ops";
constexpr std::string_view kFusedExport =
    "graph-mode fusion made after tracing; export the unfused graph (jit::optimize with fuse = false)";

const OpDef& op_named(std::string_view name) {
  const OpDef* op = find_op(name);
  EMBER_INTERNAL_ASSERT(op != nullptr, "op ", name, " is not registered");
  return *op;
}

// ---- activations (fused_linear, fused_conv2d) ----

// Activation's values are in kActivationNames' order.
Activation activation_of(const OpDef& op, const Attrs& attrs) {
  EMBER_CHECK(attrs.has("activation"), ValueError, op.name, ": missing attribute 'activation'");
  const auto* name = std::get_if<std::string>(&attrs.get("activation"));
  EMBER_CHECK(name != nullptr, ValueError, op.name, ": attribute 'activation' must be a string");
  for (size_t i = 0; i < kActivationNames.size(); ++i)
    if (kActivationNames[i] == *name) return Activation(i);
  EMBER_THROW(ValueError, op.name, ": unknown activation \"", *name,
              "\" (expected none, relu, gelu, gelu_tanh, silu, sigmoid or tanh)");
}

void check_activation_dtype(const OpDef& op, const Attrs& attrs, DType dtype) {
  const Activation a = activation_of(op, attrs);
  EMBER_CHECK(a == Activation::none || is_floating(dtype), DTypeError, op.name, ": activation ",
              kActivationNames[size_t(a)], " needs a floating point result, got ", dtype);
}

// y = activation(y) in place, by the activation op's own kernel.
void apply_activation(Activation a, Tensor& y) {
  if (a == Activation::none) return;
  static const Attrs no_attrs, gelu_erf{{"approximate", std::string("none")}},
      gelu_tanh{{"approximate", std::string("tanh")}};
  const bool gelu = a == Activation::gelu || a == Activation::gelu_tanh;
  const OpDef& op = op_named(gelu ? "gelu" : kActivationNames[size_t(a)]);
  const Tensor in[1] = {y};
  Tensor out[1] = {y};
  op.cpu(std::span<const Tensor>(in), std::span<Tensor>(out), a == Activation::gelu ? gelu_erf : a == Activation::gelu_tanh ? gelu_tanh : no_attrs);
}

// ---- fused_linear ----

// linear takes {input, weight} or {input, weight, bias}; a graph may pass an absent bias.
std::span<const Tensor> linear_inputs(std::span<const Tensor> in) {
  return in.size() == 3 && !in[2].defined() ? in.first(2) : in;
}

std::vector<TensorMeta> infer_fused_linear(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  EMBER_CHECK(in.size() == 2 || in.size() == 3, ValueError, op.name,
              ": expected input, weight and an optional bias, got ", in.size(), " inputs");
  static const OpDef& linear = op_named("linear");
  std::vector<TensorMeta> metas = linear.infer(linear, linear_inputs(in), {});
  check_activation_dtype(op, attrs, metas[0].dtype);
  return metas;
}

// The activation runs right after the GEMM over the output it just wrote
// (still in L2 at the MLP sizes), through the activation's array kernel.
// Measured against one oneDNN matmul primitive with bias and eltwise
// post-ops (float32, one thread, relu): 1x784->256 7 us here vs 29 us,
// 64x784->256 145 vs 148 us, 64x256->10 5.7 vs 4.8 us; batch 1 decides.
void fused_linear_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  static const OpDef& linear = op_named("linear");
  linear.cpu(linear_inputs(in), out, {});
  apply_activation(activation_of(fused_linear_op, attrs), out[0]);
}

// ---- fused_conv2d ----

std::vector<TensorMeta> infer_fused_conv2d(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  EMBER_CHECK(in.size() == 3, ValueError, op.name, ": expected input, weight and bias (may be absent), got ",
              in.size(), " inputs");
  static const OpDef& conv2d = op_named("conv2d");
  std::vector<TensorMeta> metas = conv2d.infer(conv2d, in, attrs);
  check_activation_dtype(op, attrs, metas[0].dtype);
  return metas;
}

void fused_conv2d_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor &x = in[0], &w = in[1], &bias = in[2];
  Tensor& y = out[0];
  const Shape &s = attrs.ints("stride"), &p = attrs.ints("padding"), &d = attrs.ints("dilation");
  const ConvGeometry g{x.size(0), x.size(1), x.size(2), x.size(3), w.size(0), w.size(2), w.size(3), y.size(2),
                       y.size(3), s[0],      s[1],      p[0],      p[1],      d[0],      d[1],      attrs.i("groups")};
  const Activation a = activation_of(fused_conv2d_op, attrs);
  if (a != Activation::none && conv2d_forward_fused(g, x, w, bias, y, a)) return;
  conv2d_forward(g, x, w, bias, y);
  apply_activation(a, y);
}

// ---- fused_conv2d_max_pool2d ----

// Note [Convolution and pooling by batch chunks]
// conv2d -> activation -> max_pool2d over a whole batch writes the
// convolution's full output (and oneDNN a blocked copy of it) only for the
// pooling to read it once and keep a quarter. The fused op runs both on a few
// images at a time: the convolution's output for a chunk is a buffer of about
// kConvChunkBytes that stays in L2 and is reused for the next chunk, so the
// full-size output never exists. Images are independent, and each chunk runs
// the unfused kernels (fused_conv2d's, then max_pool2d's), so the result is
// theirs bit for bit.
constexpr int64_t kConvChunkBytes = int64_t(1) << 20;

// The pooling's attributes are the node's "pool_<name>" ones.
Attrs pool_attrs_of(const Attrs& attrs) {
  Attrs pool;
  for (const char* name : {"kernel_size", "stride", "padding", "dilation", "ceil_mode"}) {
    const std::string key = std::string("pool_") + name;
    EMBER_CHECK(attrs.has(key), ValueError, "fused_conv2d_max_pool2d: missing attribute '", key, "'");
    pool.set(name, attrs.get(key));
  }
  return pool;
}

std::vector<TensorMeta> infer_fused_conv2d_max_pool2d(const OpDef& op, std::span<const Tensor> in,
                                                      const Attrs& attrs) {
  const std::vector<TensorMeta> conv = infer_fused_conv2d(op, in, attrs);
  static const OpDef& pool = op_named("max_pool2d");
  return pool.infer(pool, std::array<Tensor, 1>{meta_tensor(conv[0])}, pool_attrs_of(attrs));
}

// Images [begin, begin + count) of a contiguous [N, ...] tensor.
Tensor batch_slice(const Tensor& t, int64_t begin, int64_t count) {
  Shape sizes = t.sizes();
  sizes[0] = count;
  return Tensor::from_storage(t.impl().storage, sizes, t.strides(), t.storage_offset() + begin * t.stride(0),
                              t.dtype());
}

void fused_conv2d_max_pool2d_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  static const OpDef& pool = op_named("max_pool2d");
  const Attrs pool_attrs = pool_attrs_of(attrs);
  const Tensor x = in[0].contiguous();
  Tensor& y = out[0];
  EMBER_INTERNAL_ASSERT(y.is_contiguous(), "fused_conv2d_max_pool2d: a non-contiguous output");
  const int64_t batch = x.size(0);
  if (batch == 0) return;
  const TensorMeta conv = infer_fused_conv2d(fused_conv2d_max_pool2d_op, in, attrs)[0];
  const int64_t image_bytes = shape_numel(conv.sizes) / batch * int64_t(itemsize(conv.dtype));
  const int64_t chunk = std::clamp<int64_t>(kConvChunkBytes / std::max<int64_t>(image_bytes, 1), 1, batch);
  Shape chunk_sizes = conv.sizes;
  chunk_sizes[0] = chunk;
  const Tensor buffer = Tensor::empty(chunk_sizes, conv.dtype);
  for (int64_t begin = 0; begin < batch; begin += chunk) {
    const int64_t count = std::min(chunk, batch - begin);
    const Tensor conv_in[3] = {batch_slice(x, begin, count), in[1], in[2]};
    Tensor conv_out[1] = {batch_slice(buffer, 0, count)};
    fused_conv2d_kernel(conv_in, conv_out, attrs);
    Tensor pooled[1] = {batch_slice(y, begin, count)};
    pool.cpu(std::span<const Tensor>(conv_out, 1), std::span<Tensor>(pooled, 1), pool_attrs);
  }
}

// ---- fused_elementwise ----

// Note [fused_elementwise programs]
// The "program" attribute lists the steps, separated by ';':
//   t0 = mul(x0, x1); t1 = add(t0, x2); t2 = relu(t1)
// x<k> is the node's input k and t<k> the result of step k. Steps are
// numbered in order and use only earlier steps; the last one is the output.
// Each step applies an elementwise op of the op table (is_fusable_elementwise)
// to as many arguments as that op takes; its attributes are the node's
// attributes named "t<k>.<name>" (t1.alpha=2: step t1's add has alpha 2).
// Every input and every step but the last must be used. Programs come from
// files, so infer checks all of this, then each step with its op's own infer.
//
// The kernel cuts the output into blocks of about kBlockElements elements
// (a range of one dimension times all later ones, so that each operand's part
// of a block is one strided view) and runs every step on a block before
// moving on, each step through its op's own kernel into block-sized
// temporaries that stay in cache: one pass over memory instead of one per op,
// with the unfused ops' results bit for bit (the same kernels on the same
// values; a step whose operands broadcast computes at the block's shape).

// Output elements per block: a float32 temporary is 256 KiB, so a few stay in
// this CPU's 2 MiB L2 while each kernel call's fixed cost is spread over many
// elements. Measured on one thread (AVX-512, medians of 20, 2026-12-06),
// fused vs unfused graph, float32 relu(a * b + c) over 1M elements / relu's
// backward where(y > 0, g, 0) over 1.6M: blocks of 8192: 895 vs 1093 us /
// 990 vs 860 us (slower than unfused); 32768: 780 / 800; 65536: 770 / 750
// (unfused 830); 131072: 918 / 745.
constexpr int64_t kBlockElements = 65536;

struct Step {
  const OpDef* op;
  std::vector<int> args;  // >= 0: input x<k>; < 0: step t<-1 - k>
};
struct Program {
  std::vector<Step> steps;
  size_t num_inputs = 0;
};

bool is_fusable_name(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      // unary
      "neg", "abs", "sign", "exp", "expm1", "log", "log1p", "log2", "sqrt", "rsqrt", "square", "reciprocal", "sin",
      "cos", "tanh", "sigmoid", "relu", "leaky_relu", "elu", "gelu", "silu", "softplus", "erf", "floor", "ceil",
      "round", "clamp", "logical_not", "isnan", "isinf", "to",
      // binary and ternary, broadcasting
      "add", "sub", "mul", "div", "pow", "remainder", "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt",
      "ge", "logical_and", "logical_or", "logical_xor", "where", "lerp", "clamp_tensor"};
  return std::ranges::find(kNames, name) != std::end(kNames);
}

class ProgramParser {
 public:
  explicit ProgramParser(std::string_view text) : text_(text) {}

  Program parse() {
    Program p;
    do {
      skip_space();
      p.steps.push_back(parse_step(p));
      skip_space();
    } while (accept(';'));
    if (pos_ != text_.size()) fail("expected ';' or the end of the program");
    std::vector<bool> input_used(p.num_inputs, false), step_used(p.steps.size(), false);
    for (const Step& s : p.steps)
      for (int a : s.args) {
        if (a >= 0) input_used[size_t(a)] = true;
        else step_used[size_t(-1 - a)] = true;
      }
    for (size_t k = 0; k < p.num_inputs; ++k)
      if (!input_used[k]) fail_at_end("input x" + std::to_string(k) + " is not used");
    for (size_t k = 0; k + 1 < p.steps.size(); ++k)
      if (!step_used[k]) fail_at_end("step t" + std::to_string(k) + " is not used (only the last step is the output)");
    return p;
  }

 private:
  Step parse_step(Program& p) {
    const size_t index = p.steps.size();
    const auto [kind, number] = parse_name();
    if (kind != 't' || number != int64_t(index))
      fail("step " + std::to_string(index) + " must be named t" + std::to_string(index));
    skip_space();
    expect('=');
    skip_space();
    const size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) ++pos_;
    const std::string_view name = text_.substr(start, pos_ - start);
    if (name.empty()) fail("expected an op name");
    const OpDef* op = find_op(name);
    if (op == nullptr) fail("unknown op '" + std::string(name) + "'");
    if (!is_fusable_name(name)) fail("'" + std::string(name) + "' is not an elementwise op it can run");
    Step step{op, {}};
    skip_space();
    expect('(');
    do {
      skip_space();
      const auto [arg_kind, k] = parse_name();
      if (arg_kind == 't') {
        if (k >= int64_t(index)) fail("step t" + std::to_string(index) + " uses t" + std::to_string(k) +
                                      ", which is not an earlier step");
        step.args.push_back(-1 - int(k));
      } else {
        step.args.push_back(int(k));
        p.num_inputs = std::max(p.num_inputs, size_t(k) + 1);
      }
      skip_space();
    } while (accept(','));
    expect(')');
    const size_t declared = op->inputs.size();
    const bool variadic = declared > 0 && op->inputs.back().ends_with("...");
    if (variadic ? step.args.size() < declared : step.args.size() != declared)
      fail(std::string(name) + " takes " + (variadic ? "at least " : "") + std::to_string(declared) +
           " argument(s), got " + std::to_string(step.args.size()));
    return step;
  }

  // "x<k>" or "t<k>": the letter and k.
  std::pair<char, int64_t> parse_name() {
    if (pos_ >= text_.size() || (text_[pos_] != 'x' && text_[pos_] != 't'))
      fail("expected an input x<k> or a step t<k>");
    const char kind = text_[pos_++];
    int64_t k = 0;
    const auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), k);
    // Inputs past a million are not a program but a hostile file.
    if (ec != std::errc() || k < 0 || k >= (int64_t(1) << 20)) fail(std::string("expected a number after '") + kind + "'");
    pos_ = size_t(end - text_.data());
    return {kind, k};
  }

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool accept(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!accept(c)) fail(std::string("expected '") + c + "'");
  }
  [[noreturn]] void fail(const std::string& what) {
    EMBER_THROW(ValueError, "fused_elementwise: program \"", text_, "\": ", what, " at character ", pos_);
  }
  [[noreturn]] void fail_at_end(const std::string& what) {
    EMBER_THROW(ValueError, "fused_elementwise: program \"", text_, "\": ", what);
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// Parsed programs by text: a graph runs the same few programs at every call.
std::shared_ptr<const Program> parsed(const std::string& text) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const Program>, std::less<>> cache;
  constexpr size_t kMaxEntries = 256;  // bounds memory under ever-changing programs
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(text); it != cache.end()) return it->second;
  }
  auto program = std::make_shared<const Program>(ProgramParser(text).parse());  // throws on a bad program
  std::lock_guard lock(mutex);
  if (cache.size() >= kMaxEntries) cache.clear();
  return cache.emplace(text, std::move(program)).first->second;
}

const std::string& program_text(const Attrs& attrs) {
  EMBER_CHECK(attrs.has("program"), ValueError, "fused_elementwise: missing attribute 'program'");
  const auto* text = std::get_if<std::string>(&attrs.get("program"));
  EMBER_CHECK(text != nullptr, ValueError, "fused_elementwise: attribute 'program' must be a string");
  return *text;
}

// Each step's attributes: the node's "t<k>.<name>" entries.
std::vector<Attrs> step_attrs(const Program& p, const Attrs& attrs) {
  std::vector<Attrs> result(p.steps.size());
  for (const auto& [name, value] : attrs.items()) {
    if (name == "program") continue;
    const size_t dot = name.find('.');
    size_t k = 0;
    const bool ok = name.size() > 1 && name[0] == 't' && dot != std::string::npos && dot + 1 < name.size() &&
                    std::from_chars(name.data() + 1, name.data() + dot, k).ptr == name.data() + dot &&
                    k < p.steps.size();
    EMBER_CHECK(ok, ValueError, "fused_elementwise: attribute '", name,
                "' is neither 'program' nor 't<k>.<name>' for a step t<k> of the program (", p.steps.size(),
                " steps)");
    result[k].set(name.substr(dot + 1), value);
  }
  return result;
}

// Runs each step's shape rule on shape-only tensors: the steps' results.
// Errors name the step; wrongly typed or missing attributes (possible in a
// file) are ValueErrors rather than the internal errors of a bad op call.
std::vector<TensorMeta> step_metas(const Program& p, std::span<const Tensor> in, const std::vector<Attrs>& attrs) {
  std::vector<TensorMeta> metas;
  TensorList results, args;
  for (size_t s = 0; s < p.steps.size(); ++s) {
    const OpDef& op = *p.steps[s].op;
    args.clear();
    for (int a : p.steps[s].args) args.push_back(a >= 0 ? in[size_t(a)] : results[size_t(-1 - a)]);
    std::vector<TensorMeta> m;
    try {
      m = op.infer(op, args, attrs[s]);
    } catch (const std::bad_variant_access&) {
      EMBER_THROW(ValueError, "fused_elementwise: step t", s, " (", op.name, "): an attribute has the wrong type");
    } catch (const InternalError& e) {
      EMBER_THROW(ValueError, "fused_elementwise: step t", s, " (", op.name, "): ", e.what());
    }
    EMBER_INTERNAL_ASSERT(m.size() == 1, op.name, " has ", m.size(), " outputs");
    metas.push_back(m[0]);
    results.push_back(meta_tensor(m[0]));
  }
  return metas;
}

std::vector<TensorMeta> infer_fused_elementwise(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  const auto program = parsed(program_text(attrs));
  EMBER_CHECK(in.size() == program->num_inputs, ValueError, op.name, ": the program uses ", program->num_inputs,
              " inputs, got ", in.size());
  check_defined(in, op.name);
  return {step_metas(*program, in, step_attrs(*program, attrs)).back()};
}

// Runs the steps on one block: `in` are the inputs' parts, `temps` one
// buffer per step but the last, which writes `out`.
void run_block(const Program& p, const std::vector<Attrs>& attrs, std::span<const Tensor> in,
               std::span<Tensor> temps, Tensor& out) {
  TensorList args;
  for (size_t s = 0; s < p.steps.size(); ++s) {
    args.clear();
    for (int a : p.steps[s].args) args.push_back(a >= 0 ? in[size_t(a)] : temps[size_t(-1 - a)]);
    Tensor* result = s + 1 == p.steps.size() ? &out : &temps[s];
    p.steps[s].op->cpu(args, std::span<Tensor>(result, 1), attrs[s]);
  }
}

void fused_elementwise_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const auto program = parsed(attrs.s("program"));
  const std::vector<Attrs> sattrs = step_attrs(*program, attrs);
  const std::vector<TensorMeta> metas = step_metas(*program, in, sattrs);
  const size_t num_temps = program->steps.size() - 1;
  Tensor& y = out[0];
  const Shape& sizes = y.sizes();
  const int64_t numel = y.numel();
  if (numel == 0) return;
  if (numel <= kBlockElements) {  // one block: the whole tensors
    TensorList temps;
    for (size_t s = 0; s < num_temps; ++s) temps.push_back(Tensor::empty(sizes, metas[s].dtype));
    run_block(*program, sattrs, in, temps, y);
    return;
  }
  // A block: `per` indices of dim d (the first dim whose later dims hold at
  // most kBlockElements elements) times all later dims.
  size_t d = 0;
  int64_t inner = numel / sizes[0];
  while (inner > kBlockElements) inner /= sizes[++d];
  const int64_t per = std::clamp<int64_t>(kBlockElements / inner, 1, sizes[d]);
  const int64_t chunks = (sizes[d] + per - 1) / per;
  const int64_t outer = numel / (inner * sizes[d]);
  // Element strides of each operand (the inputs, then y) seen at y's shape.
  std::vector<const Tensor*> operands;
  for (const Tensor& t : in) operands.push_back(&t);
  operands.push_back(&y);
  std::vector<Shape> strides;
  for (const Tensor* t : operands) {
    Shape s = broadcast_byte_strides(*t, sizes);
    for (int64_t& v : s) v /= int64_t(t->itemsize());
    strides.push_back(std::move(s));
  }
  const Shape tail(sizes.begin() + std::ptrdiff_t(d) + 1, sizes.end());
  parallel_for(0, outer * chunks, 1, [&](int64_t b0, int64_t b1) {
    Shape box{per};
    box.insert(box.end(), tail.begin(), tail.end());
    TensorList full_temps, temps(num_temps), parts(operands.size());
    for (size_t s = 0; s < num_temps; ++s) full_temps.push_back(Tensor::empty(box, metas[s].dtype));
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t start = (b % chunks) * per, count = std::min(per, sizes[d] - start);
      box[0] = count;
      for (size_t k = 0; k < operands.size(); ++k) {
        const Tensor& t = *operands[k];
        if (t.dim() == 0) {  // numbers stay 0-d: promotion and scalar fast paths see them as such
          parts[k] = t;
          continue;
        }
        int64_t offset = t.storage_offset() + start * strides[k][d];
        for (int64_t o = b / chunks, i = int64_t(d) - 1; i >= 0; --i) {
          offset += (o % sizes[size_t(i)]) * strides[k][size_t(i)];
          o /= sizes[size_t(i)];
        }
        Shape part_strides(strides[k].begin() + std::ptrdiff_t(d), strides[k].end());
        parts[k] = Tensor::from_storage(t.impl().storage, box, std::move(part_strides), offset, t.dtype());
      }
      for (size_t s = 0; s < num_temps; ++s)
        temps[s] = count == per ? full_temps[s]
                                : Tensor::from_storage(full_temps[s].impl().storage, box, contiguous_strides(box), 0,
                                                       metas[s].dtype);
      run_block(*program, sattrs, std::span<const Tensor>(parts).first(in.size()), temps, parts.back());
    }
  });
}

}  // namespace

bool detail::is_fusable_elementwise(const OpDef& op) { return is_fusable_name(op.name) && find_op(op.name) == &op; }

const OpDef fused_linear_op{.name = "fused_linear", .inputs = {"input", "weight", "bias"},
                            .infer = infer_fused_linear, .cpu = fused_linear_kernel,
                            .nondifferentiable = kFusedDerivative, .not_exportable = kFusedExport,
                            .reference = "fused_linear"};
const OpDef fused_conv2d_op{.name = "fused_conv2d", .inputs = {"input", "weight", "bias"},
                            .infer = infer_fused_conv2d, .cpu = fused_conv2d_kernel,
                            .nondifferentiable = kFusedDerivative, .not_exportable = kFusedExport,
                            .reference = "fused_conv2d"};
const OpDef fused_elementwise_op{.name = "fused_elementwise", .inputs = {"inputs..."},
                                 .infer = infer_fused_elementwise, .cpu = fused_elementwise_kernel,
                                 .nondifferentiable = kFusedDerivative, .not_exportable = kFusedExport,
                                 .reference = "fused_elementwise"};

const OpDef fused_conv2d_max_pool2d_op{.name = "fused_conv2d_max_pool2d", .inputs = {"input", "weight", "bias"},
                                       .infer = infer_fused_conv2d_max_pool2d,
                                       .cpu = fused_conv2d_max_pool2d_kernel,
                                       .nondifferentiable = kFusedDerivative, .not_exportable = kFusedExport,
                                       .reference = "fused_conv2d_max_pool2d"};

static const OpDef* const kFusedOps[] = {&fused_linear_op, &fused_conv2d_op, &fused_conv2d_max_pool2d_op,
                                         &fused_elementwise_op};
std::span<const OpDef* const> fused_ops() { return kFusedOps; }

}  // namespace ember
