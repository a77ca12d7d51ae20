#pragma once
// A position in an input file. Produced by the frontend, carried by every
// layer so that messages produced long after parsing still point at source.
#include <cstdint>
#include <string>

namespace hvsl {

struct SourceLoc {
  std::string file;       // as given on the command line
  std::uint32_t line = 0; // 1-based; 0 means "no location"
  std::uint32_t col = 0;  // 1-based, in bytes
  std::uint32_t length = 1;

  bool valid() const { return line != 0; }
};

}  // namespace hvsl
