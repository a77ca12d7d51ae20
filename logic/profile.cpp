#include "logic/profile.h"

#include <limits>

namespace hvsl {

const Profile& Profile::vmsl() {
  static const Profile p{ProfileKind::Vmsl, "vmsl", 1'999'999, 999'999, 1000, true};
  return p;
}

const Profile& Profile::arm64() {
  static const Profile p{ProfileKind::Arm64, "arm64", std::numeric_limits<Word>::max(),
                         std::numeric_limits<Word>::max(), 4096, false};
  return p;
}

const Profile* Profile::by_name(std::string_view name) {
  if (name == "vmsl") return &vmsl();
  if (name == "arm64") return &arm64();
  return nullptr;
}

}  // namespace hvsl
