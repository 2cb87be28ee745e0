// TensorBoard event files: CRC32C, file naming, errors, and the real
// `tensorboard` Python package (in the project's venv) reading back exactly
// what was written — and rejecting a corrupted byte.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include "ember/ember.h"
#include "support/temp_dir.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

std::span<const uint8_t> as_bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

using ember::testing::TempDir;

fs::path venv_python() {
  const char* env_root = std::getenv("EMBER_SOURCE_DIR");
  return fs::path(env_root ? env_root : EMBER_SOURCE_DIR_DEFAULT) / ".venv/bin/python";
}

}  // namespace

TEST(Crc32c, MatchesTheCheckValueAndKnownVectors) {
  EXPECT_EQ(io::crc32c(as_bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(io::crc32c(as_bytes("")), 0u);
  // RFC 3720 B.4: 32 bytes of zeros, 32 bytes of 0xFF.
  EXPECT_EQ(io::crc32c(as_bytes(std::string(32, '\0'))), 0x8A9136AAu);
  EXPECT_EQ(io::crc32c(as_bytes(std::string(32, '\xff'))), 0x62A8AB43u);
  const uint32_t crc = 0xE3069283u;
  EXPECT_EQ(io::masked_crc32c(as_bytes("123456789")), ((crc >> 15) | (crc << 17)) + 0xA282EAD8u);
}

TEST(SummaryWriter, NamesTheFileAsTensorFlowDoes) {
  TempDir dir;
  io::SummaryWriter a((dir.path / "run").string());
  io::SummaryWriter b((dir.path / "run").string(), {.filename_suffix = ".v2"});
  EXPECT_NE(a.path(), b.path());
  const std::regex pattern(R"(events\.out\.tfevents\.\d{10}\..+\.)" + std::to_string(::getpid()) + R"(\.\d+)");
  EXPECT_TRUE(std::regex_match(fs::path(a.path()).filename().string(), pattern)) << a.path();
  EXPECT_TRUE(fs::path(b.path()).filename().string().ends_with(".v2"));
  EXPECT_EQ(fs::path(a.path()).parent_path(), dir.path / "run");
}

TEST(SummaryWriter, BadInputIsAnError) {
  TempDir dir;
  io::SummaryWriter w(dir.path.string());
  EXPECT_THROW(w.add_histogram("h", zeros({0}), 0), ValueError);
  EXPECT_THROW(w.add_histogram("h", tensor({1.f, NAN}), 0), ValueError);
  EXPECT_THROW(w.add_histogram("h", tensor({1.f, INFINITY}), 0), ValueError);
  EXPECT_THROW(w.add_histogram("h", ones({3}), 0, {.bins = -1}), ValueError);
  w.close();
  w.close();  // idempotent
  EXPECT_THROW(w.add_scalar("x", 1, 0), ValueError);
  EXPECT_THROW(w.flush(), ValueError);
  std::ofstream(dir.path / "file") << "x";
  EXPECT_THROW(io::SummaryWriter((dir.path / "file" / "run").string()), FormatError);
}

// Writes scalars, histograms (both bucketings, several dtypes) and text, then
// has tensorboard's own readers check every value against the raw data,
// which Python gets as a safetensors file and buckets itself.
TEST(SummaryWriter, TheRealTensorBoardReaderReadsItBack) {
  const fs::path python = venv_python();
  if (!fs::exists(python)) GTEST_SKIP() << "no venv; run scripts/setup.sh";
  TempDir dir;
  const fs::path logdir = dir.path / "run";
  manual_seed(3);
  io::TensorMap raw;
  std::string path;
  {
    io::SummaryWriter w(logdir.string());
    path = w.path();
    for (int64_t step = 0; step < 5; ++step) w.add_scalar("train/loss", 1.0 / 3.0 + 0.1 * double(step), step * 100);
    w.add_scalar("test/accuracy", 0.9137, 1);
    raw["weights"] = randn({40, 25}) * 0.05;
    raw["weights_ep2"] = randn({1000}) * 3.0 + 1.0;
    raw["ints"] = randint(-5, 6, {300}, DType::i32);
    const Tensor constant = full({7}, 2.5, DType::bf16);  // safetensors.numpy cannot read bf16
    w.add_histogram("weights", raw["weights"], 1);
    w.add_histogram("weights", raw["weights_ep2"], 2);
    w.add_histogram("ints", raw["ints"], 1);
    w.add_histogram("equal_width", raw["weights"], 1, {.bins = 10});
    w.add_histogram("const", constant, 1, {.bins = 4});
    w.add_text("config", "lr=0.01 **batch**=64", 0);
  }
  io::save_safetensors((dir.path / "raw.safetensors").string(), raw);
  const std::string script = R"PY(
import sys, shutil, numpy as np
from safetensors.numpy import load_file
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub import pywrap_tensorflow, errors
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.backend.event_processing import event_accumulator, plugin_event_accumulator

path, rawfile = sys.argv[1], sys.argv[2]
raw = {k: v.astype(np.float64) for k, v in load_file(rawfile).items()}

def strict_events(p):
    reader = pywrap_tensorflow.PyRecordReader_New(p)
    out = []
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            return out
        out.append(event_pb2.Event.FromString(reader.record()))

events = strict_events(path)
assert len(events) == 1 + 6 + 5 + 1, len(events)
assert events[0].file_version == "brain.Event:2", events[0]
assert all(e.wall_time > 1.6e9 for e in events)

scalars = [(e.summary.value[0].tag, e.step, e.summary.value[0].simple_value) for e in events[1:7]]
want = [("train/loss", s * 100, np.float32(1 / 3 + 0.1 * s)) for s in range(5)] + [("test/accuracy", 1, np.float32(0.9137))]
for (tag, step, v), (wtag, wstep, wv) in zip(scalars, want):
    assert (tag, step) == (wtag, wstep) and np.float32(v) == wv, (tag, step, v, wtag, wstep, wv)

# TensorFlow's default edges, built here independently of Ember.
pos = []
v = 1e-12
while v < 1e20:
    pos.append(v)
    v *= 1.1
pos.append(np.finfo(np.float64).max)
tf_edges = np.array([-x for x in reversed(pos)] + [0.0] + pos)

def tf_encode(values):  # bucket i = [edge[i-1], edge[i]); empty runs collapse
    counts = np.bincount(np.searchsorted(tf_edges, values, side="right"), minlength=len(tf_edges)).astype(float)
    limits, buckets, i = [], [], 0
    while i < len(counts):
        end, c = tf_edges[i], counts[i]
        i += 1
        if c <= 0:
            while i < len(counts) and counts[i] <= 0:
                end, c = tf_edges[i], counts[i]
                i += 1
        limits.append(end)
        buckets.append(c)
    return limits, buckets

def equal_width(values, n):
    lo, hi = values.min(), values.max()
    counts, edges = np.histogram(values, bins=n, range=(lo, hi))
    return list(edges[1:]), list(counts.astype(float))

checks = [("weights", 1, raw["weights"], tf_encode), ("weights", 2, raw["weights_ep2"], tf_encode),
          ("ints", 1, raw["ints"], tf_encode),
          ("equal_width", 1, raw["weights"], lambda x: equal_width(x, 10)),
          ("const", 1, np.full(7, 2.5), lambda x: ([2.5] * 4, [7.0, 0, 0, 0]))]
for e, (tag, step, values, encode) in zip(events[7:12], checks):
    val = e.summary.value[0]
    h = val.histo
    values = values.ravel()
    assert (val.tag, e.step) == (tag, step), (val.tag, e.step)
    assert h.num == values.size and h.min == values.min() and h.max == values.max(), (tag, h.num, h.min, h.max)
    assert np.isclose(h.sum, values.sum(), rtol=1e-12, atol=1e-12), (tag, h.sum, values.sum())
    assert np.isclose(h.sum_squares, (values ** 2).sum(), rtol=1e-12), tag
    limits, buckets = encode(values)
    assert list(h.bucket) == buckets, (tag, list(h.bucket), buckets)
    assert np.allclose(list(h.bucket_limit), limits, rtol=1e-12, atol=0), (tag, list(h.bucket_limit), limits)

text = events[12].summary.value[0]
assert text.tag == "config" and text.metadata.plugin_data.plugin_name == "text", text
assert text.tensor.string_val == [b"lr=0.01 **batch**=64"], text

# The loaders TensorBoard itself uses see the same.
assert sum(1 for _ in EventFileLoader(path).Load()) == len(events)
acc = event_accumulator.EventAccumulator(path, size_guidance={event_accumulator.HISTOGRAMS: 0}).Reload()  # 0: keep all
loss = acc.Scalars("train/loss")
assert [s.step for s in loss] == [0, 100, 200, 300, 400], loss
assert [np.float32(s.value) for s in loss] == [np.float32(1 / 3 + 0.1 * s) for s in range(5)], loss
hist = acc.Histograms("weights")
assert [h.step for h in hist] == [1, 2] and hist[1].histogram_value.num == 1000, hist
tensors = plugin_event_accumulator.EventAccumulator(path).Reload()
assert tensors.PluginTagToContent("histograms").keys() >= {"weights", "ints", "equal_width", "const"}
w1 = tensors.Tensors("weights")[0].tensor_proto
rows = np.frombuffer(w1.tensor_content, np.float32).reshape(-1, 3)
assert rows[:, 2].sum() == 1000 and rows[0, 0] == np.float32(raw["weights"].min()), rows[:3]
assert tensors.Tensors("config")[0].tensor_proto.string_val == [b"lr=0.01 **batch**=64"]

# A flipped byte is a CRC failure for the strict reader: in an event's data...
with open(path, "rb") as f:
    data = bytearray(f.read())
def corrupted(offset, expect):
    bad = bytearray(data)
    bad[offset] ^= 0x40
    p = path + ".bad"
    with open(p, "wb") as f:
        f.write(bad)
    try:
        strict_events(p)
    except errors.DataLossError as e:
        assert expect in str(e), str(e)
        return
    raise AssertionError("corruption at byte %d not detected" % offset)
first_len = int.from_bytes(data[:8], "little")
second = 8 + 4 + first_len + 4
corrupted(second + 12 + 3, "failed event crc32 check")
# ...and in a record's length.
corrupted(second + 1, "failed header crc32 check")
print("tensorboard reader: ok")
)PY";
  std::ofstream(dir.path / "check.py") << script;
  const std::string cmd = python.string() + " " + (dir.path / "check.py").string() + " " + path + " " +
                          (dir.path / "raw.safetensors").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "tensorboard's reader disagrees with what Ember wrote";
}
