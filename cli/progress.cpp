#include "cli/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "cli/format.hpp"
#include "common/error.hpp"

namespace autocompress::cli {

namespace {

constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();
constexpr int kBarWidth = 20;

std::string counts(const StudyProgress& p) {
  return std::to_string(p.study.complete) + " complete, " + std::to_string(p.study.pruned) +
         " pruned, " + std::to_string(p.study.failed) + " failed";
}

std::string front(const StudyProgress& p) {
  return "front " + std::to_string(p.study.front_size) + ", HV " + fmt("%.4g", p.study.hypervolume);
}

std::string rate(const StudyProgress& p) { return fmt("%.1f", p.rate_per_min) + " trials/min"; }

// The columns of the terminal `f` (80 when it does not say), less one: a line as wide as the
// terminal wraps on some, and a wrapped line is no longer redrawn in place.
int columns_of(std::FILE* f) {
  winsize ws{};
  const int cols = ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
  return std::max(20, cols - 1);
}

}  // namespace

std::string format_eta(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "";
  if (seconds < 60) return "<1m";
  const long long minutes = std::llround(seconds / 60);
  if (minutes < 60) return std::to_string(minutes) + "m";
  return std::to_string(minutes / 60) + "h " + std::to_string(minutes % 60) + "m";
}

double eta_seconds(const StudyProgress& p) {
  double eta = kUnknown;
  if (p.trials_budget > 0 && p.rate_per_min > 0)
    eta = 60 * double(std::max<int64_t>(0, p.trials_budget - p.finished())) / p.rate_per_min;
  if (p.timeout_s > 0) {
    const double left = std::max(0.0, p.timeout_s - p.elapsed_s);
    eta = std::isnan(eta) ? left : std::min(eta, left);
  }
  return eta;
}

double budget_fraction(const StudyProgress& p) {
  double f = kUnknown;
  if (p.trials_budget > 0) f = double(p.finished()) / double(p.trials_budget);
  if (p.timeout_s > 0) f = std::max(std::isnan(f) ? 0.0 : f, p.elapsed_s / p.timeout_s);
  return std::isnan(f) ? f : std::clamp(f, 0.0, 1.0);
}

std::string render_bar(double fraction, int width) {
  const double f = std::isnan(fraction) ? 0 : std::clamp(fraction, 0.0, 1.0);
  const int filled = int(std::lround(f * width));
  std::string bar(size_t(width) + 2, '-');
  bar.front() = '[', bar.back() = ']';
  std::fill_n(bar.begin() + 1, filled, '#');
  return bar;
}

std::string render_status(const StudyProgress& p, int columns) {
  // Most important first: what does not fit is left off from the end, the bar before anything.
  std::vector<std::string> parts{std::to_string(p.finished())};
  if (p.trials_budget > 0)
    parts[0].append("/").append(std::to_string(p.trials_budget));
  else
    parts[0].append(" trials");
  if (const std::string eta = format_eta(eta_seconds(p)); !eta.empty())
    parts.push_back("ETA " + eta);
  parts.insert(parts.end(), {counts(p), front(p), rate(p)});
  const double f = budget_fraction(p);
  const std::string bar = std::isnan(f) ? "" : render_bar(f, kBarWidth) + " ";
  const auto join = [&](size_t n) {
    std::string s = parts[0];
    for (size_t i = 1; i < n; ++i) s.append(" | ").append(parts[i]);
    return s;
  };
  if (bar.size() + join(parts.size()).size() <= size_t(std::max(0, columns)))
    return bar + join(parts.size());
  size_t n = parts.size();
  while (n > 1 && join(n).size() > size_t(std::max(0, columns))) --n;
  std::string s = join(n);
  if (int(s.size()) > columns) s.resize(std::max(0, columns));
  return s;
}

std::string render_line(const StudyProgress& p, const std::vector<std::string>& objectives) {
  std::string line = p.final ? "done: " : "";
  line.append(counts(p)).append(" | ").append(front(p)).append(" | best");
  for (size_t j = 0; j < p.study.best.size(); ++j)
    line.append(" ")
        .append(j < objectives.size() ? objectives[j] : std::to_string(j))
        .append(" ")
        .append(fmt("%.4g", p.study.best[j]));
  line += " | " + rate(p);
  if (p.final)
    line += ", " + format_eta(p.elapsed_s) + " elapsed";
  else if (const std::string eta = format_eta(eta_seconds(p)); !eta.empty())
    line += ", ETA " + eta;
  return line;
}

bool LineThrottle::due(double elapsed_s, int64_t finished_in_run) {
  if (any_ && elapsed_s - last_s_ < every_s_ && finished_in_run - last_n_ < every_n_) return false;
  any_ = true;
  last_s_ = elapsed_s;
  last_n_ = finished_in_run;
  return true;
}

ProgressPrinter::ProgressPrinter(std::vector<std::string> objectives, ProgressOptions options,
                                 std::FILE* out)
    : objectives_(std::move(objectives)),
      o_(std::move(options)),
      out_(out),
      throttle_(o_.every_s, o_.every_trials) {
  if (!o_.log_path.empty()) {
    log_ = std::fopen(o_.log_path.c_str(), "a");
    if (!log_) throw IoError(o_.log_path, "cannot open the log file");
  }
}

ProgressPrinter::~ProgressPrinter() {
  if (live_) std::fputc('\n', out_);  // e.g. the run threw: its message starts on a new line
  if (log_) std::fclose(log_);
}

void ProgressPrinter::permanent(const std::string& line) {
  std::fprintf(out_, "%s%s\n", live_ ? "\r\x1b[K" : "", line.c_str());
  std::fflush(out_);
  live_ = false;
}

void ProgressPrinter::to_log(const std::string& line) {
  if (!log_) return;
  std::fprintf(log_, "%s\n", line.c_str());
  std::fflush(log_);
}

void ProgressPrinter::operator()(const StudyProgress& p) {
  if (!p.event.empty()) {  // a trial lost: said even when quiet
    permanent(p.event);
    to_log(p.event);
  }
  const bool due = p.final || throttle_.due(p.elapsed_s, p.finished_in_run);
  const std::string line = due || p.front_improved ? render_line(p, objectives_) : "";
  if (due) to_log(line);
  if (o_.quiet) return;
  if (!o_.terminal || p.final) {
    if (due) permanent(line);
    return;
  }
  if (p.front_improved) permanent(line);
  std::fprintf(out_, "\r%s\x1b[K", render_status(p, columns_of(out_)).c_str());
  std::fflush(out_);
  live_ = true;
}

}  // namespace autocompress::cli
