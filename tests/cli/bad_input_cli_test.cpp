// Bad input through the binary, one table row per command and class: the exit code is the
// README's, the message names the file, and no input or output byte changed. Outputs that name
// one of the command's inputs (cli/output_path.hpp), by another spelling or a symlink too.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/file.hpp"
#include "common/sha256.hpp"
#include "data/dataset.hpp"
#include "model/onnx_io.hpp"
#include "tests/cli/run_cli.hpp"
#include "tests/common/temp_dir.hpp"

namespace autocompress {
namespace {

namespace fs = std::filesystem;

struct BadInput {
  std::string name;
  std::string args;                   // "@" stands for the fixture directory
  int rc;                             // the README's exit code
  std::vector<std::string> mentions;  // what the message must name
};

class BadInputCli : public ::testing::TestWithParam<BadInput> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("bad_input_cli");
    const std::string model = dir_->file("m.onnx");
    fs::copy_file(std::string(AC_SOURCE_DIR) + "/examples/fashion_cnn.onnx", model);
    write_npy(dir_->file("in.npy"), {1, 1, 28, 28}, std::vector<float>(28 * 28, 0.5f));
    write_text(dir_->file("r.json"),
               R"({"format": "autocompress-recipe", "version": 1, "model_sha256": ")" +
                   sha256_file(model) +
                   R"(", "defaults": {"prune": 0, "precision": "fp32"}, "layers": {}})");
    write_text(dir_->file("lat.csv"), "");
    fs::create_symlink("in.npy", dir_->file("link.npy"));
    write_npy(dir_->file("empty.npy"), {0, 1, 28, 28}, {});
    write_npy(dir_->file("four.npy"), {4, 1, 28, 28}, std::vector<float>(4 * 28 * 28, 0.5f));
    std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }";
    header.append(128 - 10 - header.size() - 1, ' ') += '\n';
    write_text(dir_->file("labels.npy"),  // uint8 labels 1, 2, 255, 3: 255 of 10 classes, image 2
               std::string("\x93NUMPY\x01\x00", 8) + char(header.size()) + '\0' + header +
                   "\x01\x02\xff\x03");
    // Models whose normalization metadata is wrong, one way each.
    const std::string mean = "autocompress.normalize.mean", std = "autocompress.normalize.std";
    const std::vector<std::pair<std::string, std::map<std::string, std::string>>> norms = {
        {"nan_std", {{mean, "0.5"}, {std, "nan"}}},
        {"zero_std", {{mean, "0.5"}, {std, "0"}}},
        {"negative_std", {{mean, "0.5"}, {std, "-0.2"}}},
        {"mean_only", {{mean, "0.5"}}},
        {"channels", {{mean, "0.5,0.5,0.5"}, {std, "0.2,0.2"}}},
    };
    for (const auto& [name, meta] : norms) {
      Graph g = load_onnx(model);
      g.metadata.erase(mean);
      g.metadata.erase(std);
      for (const auto& [k, v] : meta) g.metadata[k] = v;
      save_onnx(g, dir_->file(name + ".onnx"));
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static void write_text(const std::string& path, const std::string& text) {
    FILE* f = fopen(path.c_str(), "wb");
    fwrite(text.data(), 1, text.size(), f);
    fclose(f);
  }
  // Every file of the fixture directory and its bytes.
  static std::map<std::string, std::string> snapshot() {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::directory_iterator(dir_->path()))
      files[e.path().filename().string()] = fs::is_symlink(e.symlink_status())
                                                ? "-> " + fs::read_symlink(e.path()).string()
                                                : read_file(e.path().string());
    return files;
  }
  static testing::TempDir* dir_;
};
testing::TempDir* BadInputCli::dir_ = nullptr;

std::string expand(std::string s, const std::string& dir) {
  for (size_t at; (at = s.find('@')) != std::string::npos;) s.replace(at, 1, dir);
  return s;
}

TEST_P(BadInputCli, ExitsWithTheReadmeCodeNamingTheFileAndChangesNothing) {
  const BadInput& c = GetParam();
  const auto before = snapshot();
  int rc = -1;
  const std::string out = run_cli(expand(c.args, dir_->str()), &rc, true);
  EXPECT_EQ(rc, c.rc) << out;
  for (const auto& m : c.mentions)
    EXPECT_NE(out.find(expand(m, dir_->str())), std::string::npos) << m << " not in: " << out;
  EXPECT_EQ(snapshot(), before) << "a file of the fixture changed or appeared";
}

const BadInput kCases[] = {
    {"ApplyOutputIsTheModel",
     "apply -m @/m.onnx -r @/r.json -o @/m.onnx",
     2,
     {"--output @/m.onnx", "input model @/m.onnx"}},
    {"ApplyOutputIsTheModelSpelledOtherwise",
     "apply -m @/m.onnx -r @/r.json -o @/./m.onnx",
     2,
     {"input model @/m.onnx"}},
    {"ApplyOutputIsTheRecipe", "apply -m @/m.onnx -r @/r.json -o @/r.json", 2, {"recipe @/r.json"}},
    {"RunOutputIsTheInput",
     "run -m @/m.onnx -i @/in.npy -o @/in.npy",
     2,
     {"input tensor @/in.npy"}},
    {"RunOutputIsASymlinkToTheInput",
     "run -m @/m.onnx -i @/in.npy -o @/link.npy",
     2,
     {"--output @/link.npy", "input tensor @/in.npy"}},
    {"RunOutputIsTheModel", "run -m @/m.onnx -i @/in.npy -o @/m.onnx", 2, {"input model @/m.onnx"}},
    {"SearchNegativeTrials", "search --db @/s.db --trials -3", 2, {"--trials", "-3"}},
    {"SearchZeroTrials", "search --db @/s.db --trials 0 --timeout 1s", 2, {"--trials", "got 0"}},
    {"NormalizationStdNaN",
     "eval -m @/nan_std.onnx --limit 8",
     3,
     {"@/nan_std.onnx", "autocompress.normalize.std"}},
    {"NormalizationStdZero",
     "eval -m @/zero_std.onnx --limit 8",
     3,
     {"@/zero_std.onnx", "autocompress.normalize.std"}},
    {"NormalizationStdNegative",
     "eval -m @/negative_std.onnx --limit 8",
     3,
     {"@/negative_std.onnx", "autocompress.normalize.std"}},
    {"NormalizationMeanWithoutStd",
     "eval -m @/mean_only.onnx --limit 8",
     3,
     {"@/mean_only.onnx", "autocompress.normalize.std' is missing"}},
    {"NormalizationChannelMismatch",
     "eval -m @/channels.onnx --limit 8",
     3,
     {"@/channels.onnx", "autocompress.normalize.std' has 2 channels"}},
    {"RunZeroBatch", "run -m @/m.onnx -i @/empty.npy -o @/out.npy", 5, {"@/empty.npy", "batch 0"}},
    {"LabelOutsideTheClasses",
     "eval -m @/m.onnx --data @/four.npy --labels @/labels.npy",
     5,
     {"@/four.npy", "label 255 of image 2", "10 classes"}},
    {"CalibrateOutputIsTheCsv",
     "calibrate -T host --from @/lat.csv -o @/lat.csv",
     2,
     {"latency CSV @/lat.csv"}},
};
INSTANTIATE_TEST_SUITE_P(Cases, BadInputCli, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace autocompress
