#include "cli/compress_commands.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/data_flags.hpp"
#include "common/error.hpp"
#include "common/sha256.hpp"
#include "compressors/apply.hpp"
#include "compressors/size.hpp"
#include "evaluator/evaluate.hpp"
#include "hwmodels/profile.hpp"
#include "model/onnx_io.hpp"

namespace autocompress::cli {

using nlohmann::json;

struct CompressArgs {
  std::string model, recipe;
  DataFlags calib{"", "", "train", 512};  // no --calib: kDefaultData for the embedded example
  PreprocessFlags pre;
  std::string target, output;
  bool json = false;
};

struct CompressCommands::State {
  CLI::App* apply = nullptr;
  CLI::App* inspect = nullptr;
  CompressArgs a;  // apply's
  CompressArgs i;  // inspect's
};

namespace {

void add_recipe_options(CLI::App& cmd, CompressArgs& a) {
  add_calib_flags(cmd, a.calib, &a.pre);
  cmd.add_option("--target", a.target, "check precision modes against this target profile");
}

// The model, the checked recipe and the compressed model.
struct Compressed {
  Graph original, compressed;
  ApplyReport report;
  std::string calib_kind;  // what --calib was detected as; empty without calibration data
};

Compressed compress(const CompressArgs& a) {
  Graph g = load_onnx(a.model);
  const Recipe r = load_recipe(a.recipe);
  RecipeCheck check;
  check.model_sha256 = sha256_file(a.model);
  if (!a.target.empty()) {
    const Profile p = find_profile(a.target);
    check.legal_precisions.emplace(p.precisions.begin(), p.precisions.end());
  }
  validate_recipe(r, g, check);
  // Without --calib only the embedded example has default data; for another model a recipe
  // that needs calibration is refused by apply, naming --calib.
  DataFlags source = a.calib;
  if (source.source.empty() && is_embedded_example(check.model_sha256))
    source.source = kDefaultData;
  Dataset calib;
  std::string kind;
  if (!source.source.empty()) {
    OpenedDataset od = open_dataset(data_spec(source, a.pre, g), g.value(g.inputs.at(0)).shape);
    calib = std::move(od.data);
    kind = od.kind;
  }
  const ApplyContext ctx(g, std::move(calib));
  Compressed c{std::move(g), {}, {}, kind};
  c.compressed = apply(ctx, r, &c.report);
  return c;
}

std::string si(double v) {
  char buf[32];
  if (v >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
  else if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (v >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

void print_side_by_side(const SizeReport& a, const SizeReport& b) {
  std::printf("%-32s %-14s %17s %19s %17s %19s\n", "layer", "mode (w/a bits)", "params",
              "packed bytes", "MACs", "BOPs");
  auto row = [](const char* name, const std::string& mode, const LayerSize& x, const LayerSize& y) {
    std::printf("%-32s %-14s %8s -> %-6s %9s -> %-7s %8s -> %-6s %9s -> %-7s\n", name, mode.c_str(),
                si(double(x.params)).c_str(), si(double(y.params)).c_str(),
                si(x.packed_bytes).c_str(), si(y.packed_bytes).c_str(), si(double(x.macs)).c_str(),
                si(double(y.macs)).c_str(), si(x.bops).c_str(), si(y.bops).c_str());
  };
  for (const auto& x : a.layers)
    for (const auto& y : b.layers)
      if (y.name == x.name)
        row(x.name.c_str(),
            y.precision + " (" + std::to_string(y.wbits) + "/" + std::to_string(y.abits) + ")", x,
            y);
  row("total", "", a.total, b.total);
  std::printf("other initializers (BN, scales): %s -> %s bytes\n", si(a.other_bytes).c_str(),
              si(b.other_bytes).c_str());
  std::printf("compression: %.2fx packed bytes, %.2fx MACs, %.2fx BOPs\n",
              a.total.packed_bytes / std::max(1.0, b.total.packed_bytes),
              double(a.total.macs) / std::max(1.0, double(b.total.macs)),
              a.total.bops / std::max(1.0, b.total.bops));
}

int run_inspect(const CompressArgs& a) {
  const Compressed c = compress(a);
  const SizeReport before = size_report(c.original), after = size_report(c.compressed);
  if (a.json) {
    std::cout << json{{"model", a.model},
                      {"recipe", a.recipe},
                      {"original", size_json(before)},
                      {"compressed", size_json(after)},
                      {"notes", c.report.notes}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::printf("%s with recipe %s\n\n", a.model.c_str(), a.recipe.c_str());
  print_side_by_side(before, after);
  return 0;
}

int run_apply(const CompressArgs& a) {
  const Compressed c = compress(a);
  save_onnx(c.compressed, a.output);
  SizeReport before = size_report(c.original), after = size_report(c.compressed);
  before.file_bytes = int64_t(std::filesystem::file_size(a.model));
  after.file_bytes = int64_t(std::filesystem::file_size(a.output));
  if (!c.calib_kind.empty()) std::printf("calibration data: %s\n", c.calib_kind.c_str());
  for (const auto& n : c.report.notes) std::printf("  %s\n", n.c_str());
  std::printf("wrote %s: %s bytes (original %s), packed weights %s -> %s bytes, MACs %s -> %s\n",
              a.output.c_str(), si(double(*after.file_bytes)).c_str(),
              si(double(*before.file_bytes)).c_str(), si(before.total.packed_bytes).c_str(),
              si(after.total.packed_bytes).c_str(), si(double(before.total.macs)).c_str(),
              si(double(after.total.macs)).c_str());
  return 0;
}

}  // namespace

CompressCommands::CompressCommands(CLI::App& app) : s_(std::make_unique<State>()) {
  s_->apply = app.add_subcommand("apply", "Apply a recipe to a model, write the compressed ONNX");
  s_->apply->add_option("--model,-m", s_->a.model, "ONNX model")->required();
  s_->apply->add_option("--recipe,-r", s_->a.recipe, "recipe JSON (docs/recipe.md)")->required();
  s_->apply->add_option("--output,-o", s_->a.output, "compressed ONNX model")->required();
  add_recipe_options(*s_->apply, s_->a);
  s_->inspect = app.get_subcommand("inspect");
  s_->inspect->add_option("--recipe,-r", s_->i.recipe,
                          "show original vs compressed sizes for this recipe");
  add_recipe_options(*s_->inspect, s_->i);
}

CompressCommands::~CompressCommands() = default;

std::optional<int> CompressCommands::run() const {
  if (*s_->apply) return run_apply(s_->a);
  if (*s_->inspect && !s_->i.recipe.empty()) {
    CompressArgs i = s_->i;
    i.model = s_->inspect->get_option("--model")->as<std::string>();
    i.json = s_->inspect->get_option("--json")->as<bool>();
    return run_inspect(i);
  }
  return std::nullopt;
}

}  // namespace autocompress::cli
