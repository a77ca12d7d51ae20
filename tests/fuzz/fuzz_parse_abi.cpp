// libFuzzer target for parse_abi (frontend/parser.h), the hypercall spec
// file reader. Built only with -DHVSL_FUZZ=ON under clang; see
// docs/testing.md ("Fuzzing the parsers").
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/parse_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  hvsl::fuzz::check_parse_abi(data, size);
  return 0;
}
