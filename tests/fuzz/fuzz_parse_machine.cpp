// libFuzzer target for parse_machine (frontend/parser.h). Built only with
// -DHVSL_FUZZ=ON under clang; see docs/testing.md ("Fuzzing the parsers").
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/parse_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  hvsl::fuzz::check_parse_machine(data, size);
  return 0;
}
