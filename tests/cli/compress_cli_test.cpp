// `autocompress apply` and `inspect --recipe` through the binary: bad recipes give exit code 2
// with a message naming the field; a good recipe writes a model that loads back with its QDQ.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/sha256.hpp"
#include "model/onnx_io.hpp"
#include "tests/common/temp_dir.hpp"

namespace autocompress {
namespace {

const std::string kSrc = AC_SOURCE_DIR;
const std::string kModel = kSrc + "/examples/fashion_cnn.onnx";

// A directory of this process: CTest runs the cases of this binary as parallel processes, which
// must not share recipe, log or model files.
std::string scratch() {
  static const testing::TempDir dir("ac_compress_cli");
  return dir.str();
}

struct Result {
  int code = 0;
  std::string output;
};

Result run(const std::string& args) {
  const std::string log = scratch() + "/compress_cli.log";
  const int st = std::system((std::string(AC_CLI) + " " + args + " > " + log + " 2>&1").c_str());
  std::ifstream f(log);
  return {WEXITSTATUS(st), std::string(std::istreambuf_iterator<char>(f), {})};
}

std::string write_recipe(const std::string& body, const std::string& hash = "") {
  static int count = 0;  // one file per recipe: the cases are written before they run
  const std::string path = scratch() + "/recipe" + std::to_string(count++) + ".json";
  std::ofstream(path) << R"({"format":"autocompress-recipe","version":1,"model_sha256":")" +
                             (hash.empty() ? sha256_file(kModel) : hash) + "\"," + body + "}";
  return path;
}

Result apply(const std::string& recipe, const std::string& extra = "") {
  return run("apply -m " + kModel + " -r " + recipe + " --calib-images 32 -o " + scratch() +
             "/out.onnx " + extra);
}

TEST(CompressCli, BadRecipesExitWithUsageCode) {
  struct Case {
    std::string recipe, extra, says;
  } cases[] = {
      {write_recipe(R"("layers":{"/nope/Conv":{"prune":0.5}})"), "", "unknown layer"},
      {write_recipe(R"("defaults":{"prune":1.0})"), "", "prune"},
      {write_recipe(R"("defaults":{"wbits":1})"), "", "wbits"},
      {write_recipe(R"("defaults":{"precision":"bf16"})"), "--target cortex_a76", "bf16"},
      {write_recipe(R"("defaults":{})", std::string(64, 'a')), "", "model_sha256"},
  };
  for (const auto& c : cases) {
    const std::string text =
        std::string(std::istreambuf_iterator<char>(*std::make_unique<std::ifstream>(c.recipe)), {});
    const Result r = apply(c.recipe, c.extra);
    EXPECT_EQ(r.code, 2) << text << "\n" << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << r.output;
  }
  const std::string bad = scratch() + "/bad.json";
  std::ofstream(bad) << "{\"format\": ";
  const Result r = apply(bad);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("malformed JSON"), std::string::npos) << r.output;
}

TEST(CompressCli, ApplyWritesAQuantizedModelAndInspectComparesSizes) {
  const std::string recipe = write_recipe(R"("defaults":{"precision":"int8"})");
  const Result r = apply(recipe);
  ASSERT_EQ(r.code, 0) << r.output;
  const Graph q = load_onnx(scratch() + "/out.onnx");
  int dq = 0;
  for (const auto& n : q.nodes) dq += n.op == "DequantizeLinear";
  EXPECT_GT(dq, 9);
  const Result i = run("inspect -m " + kModel + " -r " + recipe + " --calib-images 32 --json");
  ASSERT_EQ(i.code, 0) << i.output;
  EXPECT_NE(i.output.find("packed_bytes"), std::string::npos);
  EXPECT_NE(i.output.find("\"bops\""), std::string::npos);
}

}  // namespace
}  // namespace autocompress
