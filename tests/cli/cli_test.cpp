// The autocompress binary end to end: outputs a user reads, and bad inputs that must end in a
// clear message naming the file / node / shapes and a non-zero exit code (never a crash).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/model/onnx_builder.hpp"

namespace autocompress {
namespace {

namespace fs = std::filesystem;
const std::string kSrc = AC_SOURCE_DIR;
const std::string kFixture = kSrc + "/tests/fixtures/resnet18_32";

struct Result {
  int code;
  std::string out;
};

Result cli(const std::string& args) {
  std::string cmd = std::string(AC_CLI) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

class Cli : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_.file(name); }
  const testing::TempDir dir_{"ac_cli"};
};

TEST_F(Cli, InspectListsLayersAndTotals) {
  auto r = cli("inspect --model " + kFixture + ".onnx");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("21 weighted layers"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Conv"), std::string::npos);
  auto j = cli("inspect --json --model " + kFixture + ".onnx");
  ASSERT_EQ(j.code, 0) << j.out;
  EXPECT_EQ(nlohmann::json::parse(j.out)["weighted_layers"], 21);
}

TEST_F(Cli, RunWritesTorchsOutputs) {
  auto r = cli("run --model " + kFixture + ".onnx --input " + kFixture + "_input.npy -o " +
               path("y.npy"));
  ASSERT_EQ(r.code, 0) << r.out;
  Array got = read_npy(path("y.npy")), want = read_npy(kFixture + "_output.npy");
  ASSERT_EQ(got.shape, want.shape);
  for (size_t k = 0; k < want.f.size(); ++k) EXPECT_NEAR(got.f[k], want.f[k], 1e-3) << k;
}

TEST_F(Cli, MissingModelFile) {
  auto r = cli("inspect --model " + path("nope.onnx"));
  EXPECT_EQ(r.code, 7) << r.out;
  EXPECT_NE(r.out.find("nope.onnx"), std::string::npos) << r.out;
}

TEST_F(Cli, TruncatedModel) {
  std::ifstream in(kFixture + ".onnx", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(path("cut.onnx"), std::ios::binary).write(bytes.data(), bytes.size() / 2);
  auto r = cli("inspect --model " + path("cut.onnx"));
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("cut.onnx"), std::string::npos) << r.out;
}

TEST_F(Cli, UnknownOpNamesNodeAndListsSupported) {
  ac_test::OnnxBuilder b(13);
  b.input("x", {ac_test::kSym, 4}).output("y");
  b.node("Erf", {"x"}, {"y"}, "my_erf");
  b.save(path("erf.onnx"));
  auto r = cli("inspect --model " + path("erf.onnx"));
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("my_erf"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Erf"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Conv"), std::string::npos) << "supported list: " << r.out;
}

TEST_F(Cli, DataShapeNotFittingTheModel) {
  auto r = cli("eval --model " + kFixture + ".onnx --limit 10");  // 1x28x28 into 3x32x32
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_NE(r.out.find("[1,28,28]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[N,3,32,32]"), std::string::npos) << r.out;
}

TEST_F(Cli, CorruptNpyHeader) {
  std::ofstream(path("bad.npy"), std::ios::binary) << "\x93NUMPY\x01\x00\x10\x00{'descr': garbage";
  auto r =
      cli("run --model " + kFixture + ".onnx --input " + path("bad.npy") + " -o " + path("y.npy"));
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_NE(r.out.find("bad.npy"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("y.npy")));
}

TEST_F(Cli, LabelsCountNotMatchingImages) {
  write_npy(path("x.npy"), {3, 3, 32, 32}, std::vector<float>(3 * 3 * 32 * 32, 0.5f));
  // labels: 2 instead of 3 (written as float npy header then patched would be invalid: use IDX)
  std::ofstream l(path("labels.idx"), std::ios::binary);
  const unsigned char hdr[] = {0, 0, 8, 1, 0, 0, 0, 2, 1, 2};
  l.write(reinterpret_cast<const char*>(hdr), sizeof hdr);
  l.close();
  auto r = cli("eval --model " + kFixture + ".onnx --data " + path("x.npy") + " --labels " +
               path("labels.idx"));
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_NE(r.out.find("labels.idx"), std::string::npos) << r.out;
}

TEST_F(Cli, BadOptionValue) {
  auto r = cli("eval --model " + kFixture + ".onnx --batch 0");
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("batch"), std::string::npos) << r.out;
  auto s = cli("eval --model " + kFixture + ".onnx --split dev");
  EXPECT_EQ(s.code, 2) << s.out;
  EXPECT_NE(s.out.find("dev"), std::string::npos) << s.out;
}

TEST_F(Cli, EvalJsonOnNpyImages) {
  write_npy(path("x.npy"), {5, 3, 32, 32}, std::vector<float>(5 * 3 * 32 * 32, 0.25f));
  auto r = cli("eval --json --model " + kFixture + ".onnx --data " + path("x.npy") + " -b 2");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["images"], 5);
  EXPECT_FALSE(j.contains("top1"));  // no labels given
  EXPECT_GT(j["images_per_s"].get<double>(), 0);
}

TEST_F(Cli, EvalInBf16) {
  const std::string m = kSrc + "/examples/fashion_cnn.onnx";
  auto r = cli("eval --json --model " + m + " --limit 512 --precision bf16");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["precision"], "bf16");
  EXPECT_GT(j["top1"].get<double>(), 0.88);
  auto bad = cli("eval --model " + m + " --limit 8 --precision int4");
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("int4"), std::string::npos) << bad.out;
}

// Off a terminal (here a pipe) `search` writes plain progress lines, never redrawn with '\r': the
// first trial, then one a minute or per 25 trials, then "done: "; --log gets the same lines.
TEST_F(Cli, SearchProgressOffATerminalAndInTheLog) {
  auto r =
      cli("search --trials 2 --val-limit 100 --calib-limit 32 --no-warm-start "
          "--latency-model roofline --db " +
          path("s.db") + " --study s --log " + path("s.log"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("trials/min"), std::string::npos) << r.out;
  std::ifstream f(path("s.log"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u) << r.out;  // trial 1 and the final line
  EXPECT_NE(lines[0].find(" pruned, "), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1].rfind("done: ", 0), 0u) << lines[1];
  EXPECT_NE(r.out.find(lines[1]), std::string::npos) << r.out;
}

}  // namespace
}  // namespace autocompress
