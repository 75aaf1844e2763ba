#include "hwmodels/measure.hpp"

#include <omp.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <sstream>
#include <thread>
#include <tuple>

#include "common/error.hpp"
#include "evaluator/onednn_executor.hpp"

namespace autocompress {

namespace {

std::string clean(std::string s) {
  for (char& c : s)
    if (c == ',' || c == '|' || c == '\n' || c == '\r') c = ' ';
  const auto b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::string read_cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return clean(line.substr(colon + 1));
    }
  return "unknown cpu";
}

std::string fmt_double(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that round-trips
  return std::string(buf, r.ptr);
}

LayerKind parse_kind(const std::string& s, const std::string& where) {
  for (int k = 0; k < 8; ++k)
    if (s == kind_name(LayerKind(k))) return LayerKind(k);
  throw DataError(where, "unknown layer kind '" + s + "'");
}

// "AxB" -> {A, B}
std::pair<int64_t, int64_t> parse_pair(const std::string& v, const std::string& field,
                                       const std::string& where) {
  const auto x = v.find('x');
  try {
    if (x == std::string::npos) throw std::invalid_argument(v);
    size_t n1 = 0, n2 = 0;
    const int64_t a = std::stoll(v.substr(0, x), &n1), b = std::stoll(v.substr(x + 1), &n2);
    if (n1 != x || n2 != v.size() - x - 1) throw std::invalid_argument(v);
    return {a, b};
  } catch (const std::exception&) {
    throw DataError(where, "field '" + field + "': expected AxB, got '" + v + "'");
  }
}

int64_t parse_int(const std::string& v, const std::string& field, const std::string& where) {
  int64_t out = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), out);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size())
    throw DataError(where, "field '" + field + "': expected an integer, got '" + v + "'");
  return out;
}

double parse_real(const std::string& v, const std::string& field, const std::string& where) {
  double out = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), out);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size())
    throw DataError(where, "field '" + field + "': expected a number, got '" + v + "'");
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

const HostInfo& this_host() {
  static const HostInfo info = [] {
    const dnnl_version_t* v = dnnl::version();
    return HostInfo{read_cpu_model(), std::to_string(v->major) + "." + std::to_string(v->minor) +
                                          "." + std::to_string(v->patch)};
  }();
  return info;
}

namespace {

void append_int(std::string& out, const char* field, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out += field;
  out.append(buf, r.ptr);
}

}  // namespace

// Plain appends, no stream: a search builds one key per layer per prediction.
std::string layer_key(const LayerDesc& d) {
  std::string o = kind_name(d.kind);
  o.reserve(128);
  append_int(o, "|b=", d.batch);
  append_int(o, "|c=", d.c_in);
  append_int(o, "x", d.c_out);
  append_int(o, "|in=", d.h_in);
  append_int(o, "x", d.w_in);
  append_int(o, "|out=", d.h_out);
  append_int(o, "x", d.w_out);
  append_int(o, "|k=", d.kh);
  append_int(o, "x", d.kw);
  append_int(o, "|s=", d.stride);
  append_int(o, "|g=", d.groups);
  o += "|taps=" + fmt_double(d.taps);
  append_int(o, "|n=", d.inputs);
  append_int(o, "|res=", d.residual ? 1 : 0);
  o += "|";
  o += precision_name(d.precision);
  append_int(o, "|w=", d.wbits);
  append_int(o, "|a=", d.abits);
  append_int(o, "|o=", d.obits);
  if (d.s8_in || d.s8_out) {  // only where an 8-bit side is signed: older keys stay valid
    o += "|s8=";
    o += d.s8_in ? '1' : '0';
    o += d.s8_out ? '1' : '0';
  }
  if (d.llc >= 0) append_int(o, "|llc=", d.llc);
  return o;
}

double host_llc_bytes() {
  static const double bytes = [] {
    std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index3/size");
    double kib = 0;
    return in >> kib && kib > 0 ? kib * 1024 : 0.0;
  }();
  return bytes;
}

int weights_context(const std::vector<LayerDesc>& schedule, double llc_bytes) {
  if (llc_bytes <= 0) return -1;
  double bytes = 0;
  for (const auto& d : schedule)
    if (d.wbits > 0)
      bytes += double(d.kh * d.kw * d.c_out * (d.c_in / std::max<int64_t>(d.groups, 1))) *
               precision_bits(d.precision) / 8;
  return bytes <= llc_bytes ? 1 : 0;
}

LayerDesc as_run_here(LayerDesc d) {
  if (d.wbits > 0) d.wbits = precision_bits(d.precision);
  return d;
}

std::string layer_signature(const SignedLayer& s) {
  return layer_key(s.layer) + '|' + host_fields(s.threads, s.host);
}

std::string host_fields(int threads, const HostInfo& host) {
  std::string out = "t=";
  out += std::to_string(threads);
  out += "|cpu=";
  out += clean(host.cpu);
  out += "|dnnl=";
  out += clean(host.onednn);
  return out;
}

int measured_threads(int threads) {
  return threads > 0 ? threads : int(std::thread::hardware_concurrency());
}

SignedLayer parse_signature(const std::string& sig, const std::string& where) {
  std::vector<std::string> parts;
  std::stringstream ss(sig);
  for (std::string p; std::getline(ss, p, '|');) parts.push_back(p);
  if (parts.size() < 2) throw DataError(where, "not a layer signature: '" + sig + "'");
  SignedLayer s;
  LayerDesc& d = s.layer;
  d.kind = parse_kind(parts[0], where);
  std::map<std::string, std::string> kv;
  bool have_precision = false;
  for (size_t k = 1; k < parts.size(); ++k) {
    const auto eq = parts[k].find('=');
    if (eq == std::string::npos) {
      const auto p = parse_precision(parts[k]);
      if (!p) throw DataError(where, "unknown precision '" + parts[k] + "' in '" + sig + "'");
      d.precision = *p;
      have_precision = true;
    } else {
      kv[parts[k].substr(0, eq)] = parts[k].substr(eq + 1);
    }
  }
  if (!have_precision) throw DataError(where, "field 'precision': missing in '" + sig + "'");
  auto get = [&](const char* f) -> const std::string& {
    auto it = kv.find(f);
    if (it == kv.end())
      throw DataError(where, std::string("field '") + f + "': missing in '" + sig + "'");
    return it->second;
  };
  d.batch = parse_int(get("b"), "b", where);
  std::tie(d.c_in, d.c_out) = parse_pair(get("c"), "c", where);
  std::tie(d.h_in, d.w_in) = parse_pair(get("in"), "in", where);
  std::tie(d.h_out, d.w_out) = parse_pair(get("out"), "out", where);
  std::tie(d.kh, d.kw) = parse_pair(get("k"), "k", where);
  d.stride = parse_int(get("s"), "s", where);
  d.groups = parse_int(get("g"), "g", where);
  d.taps = parse_real(get("taps"), "taps", where);
  d.inputs = parse_int(get("n"), "n", where);
  d.residual = parse_int(get("res"), "res", where) != 0;
  d.wbits = int(parse_int(get("w"), "w", where));
  d.abits = int(parse_int(get("a"), "a", where));
  d.obits = int(parse_int(get("o"), "o", where));
  if (auto it = kv.find("s8"); it != kv.end()) {
    if (it->second.size() != 2 || it->second.find_first_not_of("01") != std::string::npos)
      throw DataError(where, "field 's8': expected two of 0/1, got '" + it->second + "'");
    d.s8_in = it->second[0] == '1', d.s8_out = it->second[1] == '1';
  }
  if (kv.count("llc")) d.llc = parse_int(kv["llc"], "llc", where) != 0;
  s.threads = int(parse_int(get("t"), "t", where));
  s.host = {get("cpu"), get("dnnl")};
  return s;
}

namespace {

std::vector<HostTensor> pattern_inputs(const Graph& g, int64_t batch) {
  std::vector<HostTensor> inputs;
  for (const auto& in : g.inputs) {
    HostTensor t{with_batch(g.value(in).shape, batch), {}};
    t.data.resize(size_t(numel(t.shape)));
    for (size_t k = 0; k < t.data.size(); ++k) t.data[k] = float(k % 17) / 17.0f - 0.5f;
    inputs.push_back(std::move(t));
  }
  return inputs;
}

// Median and minimum of whole-model runs.
std::pair<double, double> model_seconds(Executor& ex, const std::vector<HostTensor>& inputs,
                                        int repeats) {
  ex.run(inputs);  // warm-up
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    ex.run(inputs);
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const double fastest = *std::min_element(t.begin(), t.end());
  return {median(std::move(t)), fastest};
}

}  // namespace

TimedModel::TimedModel(const Graph& g, int64_t batch, int threads)
    : ex_(compile(g, {batch, measured_threads(threads)})),
      inputs_(pattern_inputs(g, batch)),
      threads_(measured_threads(threads)) {}

TimedModel::~TimedModel() = default;

double TimedModel::run_once() {
  const int caller = omp_get_max_threads();  // the executor sets its own count on this thread
  const auto t0 = std::chrono::steady_clock::now();
  ex_->run(inputs_);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (caller != threads_) omp_set_num_threads(caller);
  return s;
}

Measurement measure(const Graph& g, const std::vector<LayerDesc>& schedule,
                    const MeasureOptions& options) {
  if (options.batch < 1 || options.repeats < 1)
    throw UsageError("measure: batch and repeats must be >= 1, got batch " +
                     std::to_string(options.batch) + ", repeats " +
                     std::to_string(options.repeats));
  auto ex = compile(g, {options.batch, options.threads});
  const auto inputs = pattern_inputs(g, options.batch);
  Measurement m;
  m.layer_s.assign(schedule.size(), 0.0);
  std::map<std::string, size_t> index;
  for (size_t k = 0; k < schedule.size(); ++k) index.emplace(schedule[k].name, k);
  for (const auto& step : profile_steps(*ex, inputs, options.repeats)) {
    m.steps_s += step.seconds;
    // A residual copy (the sum post-op's operand converted or moved into the destination) depends
    // on the context, not on the layer (its producer's mode, whether it is read again): it
    // belongs to the mode boundary, as oneDNN's other reorders, not to the layer's signature.
    const bool reorder = step.kind == "reorder" || step.kind == "residual copy";
    auto it = index.find(reorder ? "reorder:" + step.node : step.node);
    if (it != index.end() && (!reorder || schedule[it->second].kind == LayerKind::kReorder))
      m.layer_s[it->second] += step.seconds;
    else if (reorder)
      m.reorder_s += step.seconds;
    else
      m.other_s += step.seconds;
  }
  std::tie(m.model_s, m.model_min_s) = model_seconds(*ex, inputs, options.repeats);
  const int threads = measured_threads(options.threads);  // what really ran
  for (auto d : schedule) {
    d.batch = options.batch;  // what really ran
    m.signatures.push_back(layer_signature({as_run_here(d), threads, this_host()}));
  }
  return m;
}

std::vector<double> measure_cached(const Graph& g, const std::vector<LayerDesc>& schedule,
                                   const MeasureOptions& options, MeasureCache& cache) {
  const int threads = measured_threads(options.threads);
  std::vector<double> out(schedule.size(), 0.0);
  bool missing = false;
  for (size_t k = 0; k < schedule.size(); ++k) {
    auto d = schedule[k];
    d.batch = options.batch;
    const auto hit = cache.get(layer_signature({as_run_here(d), threads, this_host()}));
    if (hit) out[k] = hit->seconds;
    // oneDNN's reorders are attributed to the layers' overhead (Measurement::reorder_s), so a
    // kReorder entry is never stored: it must not force a measurement every time.
    missing = missing || (!hit && (d.kind != LayerKind::kReorder || d.graph_op));
  }
  if (!missing) return out;
  const Measurement m = measure(g, schedule, options);
  record(cache, schedule, m, threads, options.repeats);
  for (size_t k = 0; k < schedule.size(); ++k)
    if (m.layer_s[k] > 0) out[k] = m.layer_s[k];
  return out;
}

double reorder_bytes(const std::vector<LayerDesc>& schedule) {
  double bytes = 0;
  for (const auto& d : schedule)
    if (d.kind == LayerKind::kReorder && !d.graph_op)
      bytes += double(d.batch * d.c_out * d.h_out * d.w_out) * (d.abits + d.obits) / 8;
  return bytes;
}

std::string model_signature(const std::vector<std::string>& layer_signatures, double layers_s,
                            double reorder_bytes, int threads, const HostInfo& host) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the layer signatures: which model it was
  for (const auto& s : layer_signatures)
    for (const char c : s + "\n") h = (h ^ uint8_t(c)) * 1099511628211ull;
  char id[17];
  std::snprintf(id, sizeof id, "%016llx", (unsigned long long)h);
  return "model|layers=" + fmt_double(layers_s) + "|reorder_bytes=" + fmt_double(reorder_bytes) +
         "|id=" + id + '|' + host_fields(threads, host);
}

std::optional<ModelSample> parse_model_signature(const std::string& sig, double seconds,
                                                 int threads, const HostInfo& host) {
  const std::string head = "model|layers=";
  const std::string tail = '|' + host_fields(threads, host);
  if (sig.rfind(head, 0) != 0 || sig.size() < tail.size() ||
      sig.compare(sig.size() - tail.size(), tail.size(), tail) != 0)
    return std::nullopt;
  const auto rb = sig.find("|reorder_bytes="), id = sig.find("|id=");
  if (rb == std::string::npos || id == std::string::npos || id < rb) return std::nullopt;
  try {
    const std::string where = "model signature";
    return ModelSample{parse_real(sig.substr(head.size(), rb - head.size()), "layers", where),
                       parse_real(sig.substr(rb + 15, id - rb - 15), "reorder_bytes", where),
                       seconds};
  } catch (const DataError&) {
    return std::nullopt;
  }
}

void record(MeasureCache& cache, const std::vector<LayerDesc>& schedule, const Measurement& m,
            int threads, int repeats) {
  double layers = 0;
  const int context = weights_context(schedule, host_llc_bytes());
  for (size_t k = 0; k < schedule.size(); ++k)
    if (m.layer_s[k] > 0) {
      cache.put(m.signatures[k], m.layer_s[k], repeats);
      if (context >= 0) {
        SignedLayer s = parse_signature(m.signatures[k]);
        s.layer.llc = context;
        cache.put(layer_signature(s), m.layer_s[k], repeats);
      }
      layers += m.layer_s[k];
    }
  cache.put(model_signature(m.signatures, layers, reorder_bytes(schedule), threads, this_host()),
            m.model_s, repeats);
}

}  // namespace autocompress
