// Target profiles: what the hardware models know about a device, read from JSON
// (hwmodels/profiles/*.json and the user's profile directory; the format is in docs/hardware.md).
// A Profile is plain data; parse/load validate every field and throw ProfileError naming it.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "hwmodels/layer_desc.hpp"

namespace autocompress {

// An invalid profile: "<file>: field '<field>': <what>". A profile is data the user supplies.
struct ProfileError : Error {
  ProfileError(const std::string& file, const std::string& field, const std::string& what)
      : Error(ErrorKind::kData, located(file, "", "field '" + field + "': " + what)) {}
};

inline constexpr int kNumPrecisions = 3;
inline constexpr int kNumKinds = 8;

struct EnergyModel {
  std::string label;                            // "modeled" (from tables) or "measured"
  std::array<double, kNumPrecisions> mac_pj{};  // per MAC, by mode (fixed-width targets)
  double mult_8x8_pj = 0;  // bit-flexible: 8x8 multiplier, scaled by (wb * ab) / 64
  double add_8_pj = 0;     // bit-flexible: 8-bit adder, scaled by (wb + ab) / 16
  double dram_pj_per_byte = 0;
  double onchip_pj_per_byte = 0;
};

struct Profile {
  std::string name, description;
  std::string file;  // where it was read from, for messages
  bool verified = false;
  std::map<std::string, std::string> sources;  // field -> where its value comes from
  std::vector<Precision> precisions;           // legal modes; the first is the default
  bool bit_flexible = false;                   // int8 operands of 2..8 bits run faster (BitFusion)
  int min_bits = 8;  // bit-flexible: narrowest operand width (BitBrick: 2)
  std::array<double, kNumPrecisions> mac_per_s{};  // by mode; bit-flexible int8: the 8x8 rate
  std::array<double, kNumKinds> efficiency{};      // by LayerKind, in (0, 1] before calibration
  int64_t channel_multiple = 1;
  double onchip_bytes = 0;
  double dram_bytes_per_s = 0;
  double onchip_bytes_per_s = 0;
  double overhead_s = 0;  // fixed per layer (kernel launch, thread fork/join)
  EnergyModel energy;

  bool supports(Precision p) const;
  double rate(Precision p) const { return mac_per_s[int(p)]; }
  double eff(LayerKind k) const { return efficiency[int(k)]; }
};

// Parses and validates a profile (JSON text). `file` names the source in messages.
// Throws ProfileError naming the field: missing, wrong type, negative or zero rate, unknown
// precision or layer kind, a legal precision without a rate or MAC energy.
Profile parse_profile(const std::string& json_text, const std::string& file);
// Reads a profile file: IoError when unreadable, ProfileError when invalid.
Profile load_profile(const std::string& path);

// Directories searched, in order of precedence: the user's ($AC_PROFILE_DIR, else
// ~/.config/autocompress/profiles), then the bundled hwmodels/profiles of the source tree.
struct ProfileDir {
  std::string path;
  std::string origin;  // "user" | "bundled"
};
std::vector<ProfileDir> profile_dirs();

struct ProfileEntry {
  std::string name, path, origin;
  std::string summary;  // one line; "invalid: ..." for a profile that does not load
};
// Every *.json in profile_dirs(), a user profile hiding a bundled one of the same name.
std::vector<ProfileEntry> list_profiles();
// A profile by name (see profile_dirs) or by path to a .json file. UsageError listing the known
// names when not found.
Profile find_profile(const std::string& name_or_path);

}  // namespace autocompress
