#include "cli/compress_commands.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/data_flags.hpp"
#include "cli/output_path.hpp"
#include "common/error.hpp"
#include "common/sha256.hpp"
#include "compressors/apply.hpp"
#include "compressors/size.hpp"
#include "data/data_spec_json.hpp"
#include "data/fingerprint.hpp"
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

// The calibration apply runs with: the data, what it was detected as (empty without data), the
// options, and what to warn about.
struct Calibration {
  Dataset data;
  std::string kind;
  ApplyOptions options;
  std::vector<std::string> warnings;
};

std::string describe(const DataSpec& s) {
  std::string d = "'" + s.source + "'";
  if (s.split) d += " (split " + split_name(*s.split) + ")";
  if (s.limit > 0) d += " (first " + std::to_string(s.limit) + " images)";
  return d;
}

// The same images with the same preprocessing (the cache bound aside).
bool same_data(const DataSpec& a, const DataSpec& b) {
  const auto key = [](const DataSpec& s) {
    json j = data_spec_to_json(s);
    std::error_code ec;
    const auto canonical = std::filesystem::weakly_canonical(s.source, ec);
    j["source"] = ec ? s.source : canonical.string();
    j.erase("cache_bytes");
    return j;
  };
  return key(a) == key(b);
}

// The record's data must still be there; a changed fingerprint is worth a warning.
void check_record_data(const CalibrationRecord& rec, std::vector<std::string>& warnings) {
  std::error_code ec;
  if (!std::filesystem::exists(rec.data.source, ec))
    throw DataError(rec.data.source,
                    "not found: the recipe's calibration record (the study's calibration data) "
                    "names it; give --calib with the images the study calibrated on");
  if (!rec.fingerprint) return;
  const Fingerprint now = fingerprint_source(rec.data.source);
  if (now != *rec.fingerprint)
    warnings.push_back(rec.data.source + ": calibration data changed since the study (recorded " +
                       fingerprint_text(*rec.fingerprint) + "; now " + fingerprint_text(now) +
                       "): the model may differ from the trial's");
}

// The recipe's record unless --calib is given (a warning when it is other data than the
// record's); without either only the embedded example has default data: for another model a
// recipe that needs calibration is refused by apply, naming --calib.
Calibration calibration_for(const CompressArgs& a, const Recipe& r, const Graph& g,
                            const std::string& model_sha256) {
  Calibration c;
  if (r.calibration) c.options = apply_options(*r.calibration);
  std::optional<DataSpec> spec;
  if (!a.calib.source.empty()) {
    spec = data_spec(a.calib, a.pre, g);
    if (r.calibration && !same_data(*spec, r.calibration->data))
      c.warnings.push_back("calibrating on " + describe(*spec) +
                           " (--calib), not on the study's calibration data " +
                           describe(r.calibration->data) +
                           " (the recipe's record): the model may differ from the trial's");
  } else if (r.calibration) {
    check_record_data(*r.calibration, c.warnings);
    spec = r.calibration->data;
  } else if (is_embedded_example(model_sha256)) {
    DataFlags d = a.calib;
    d.source = kDefaultData;
    spec = data_spec(d, a.pre, g);
  }
  if (spec) {
    OpenedDataset od = open_dataset(*spec, g.value(g.inputs.at(0)).shape);
    c.data = std::move(od.data);
    c.kind = od.kind;
  }
  return c;
}

// The model, the checked recipe and the compressed model.
struct Compressed {
  Graph original, compressed;
  ApplyReport report;
  std::string calib_kind;  // what the calibration data was detected as; empty without it
};

Compressed compress(const CompressArgs& a, const Recipe& r) {
  Graph g = load_onnx(a.model);
  RecipeCheck check;
  check.model_sha256 = sha256_file(a.model);
  if (!a.target.empty()) {
    const Profile p = find_profile(a.target);
    check.legal_precisions.emplace(p.precisions.begin(), p.precisions.end());
  }
  validate_recipe(r, g, check);
  Calibration calib = calibration_for(a, r, g, check.model_sha256);
  for (const auto& w : calib.warnings)
    std::fprintf(stderr, "autocompress: warning: %s\n", w.c_str());
  const ApplyContext ctx(g, std::move(calib.data), calib.options);
  Compressed c{std::move(g), {}, {}, calib.kind};
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
  const Compressed c = compress(a, load_recipe(a.recipe));
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

// Writes `r` applied to a.model to a.output (atomically) and says what it did.
int write_compressed(const CompressArgs& a, const Recipe& r) {
  refuse_input_as_output("--output", a.output,
                         {{"input model", a.model},
                          {"recipe", a.recipe},
                          {"calibration data", a.calib.source},
                          {"calibration labels", a.calib.labels},
                          {"preprocessing file", a.pre.file}});
  const Compressed c = compress(a, r);
  save_onnx(c.compressed, a.output);  // atomically
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

int write_trial_model(const std::string& model, const Recipe& recipe, const std::string& output) {
  CompressArgs a;
  a.model = model;
  a.output = output;
  return write_compressed(a, recipe);
}

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
  if (*s_->apply) return write_compressed(s_->a, load_recipe(s_->a.recipe));
  if (*s_->inspect && !s_->i.recipe.empty()) {
    CompressArgs i = s_->i;
    i.model = s_->inspect->get_option("--model")->as<std::string>();
    i.json = s_->inspect->get_option("--json")->as<bool>();
    return run_inspect(i);
  }
  return std::nullopt;
}

}  // namespace autocompress::cli
