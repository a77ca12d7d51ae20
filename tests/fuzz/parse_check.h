#pragma once
// The property the parser fuzz targets check, shared by the libFuzzer
// targets (fuzz_*.cpp, built with -DHVSL_FUZZ=ON under clang) and the corpus
// replay test (replay_corpus.cpp, built with any compiler).
//
// For any input bytes, the entry point must return without crashing or
// tripping a sanitizer, and either
//   - return a result, with no error among the diagnostics, or
//   - return nothing, with at least one error;
// and every diagnostic (and note) that has a location must point inside the
// input: line >= 1, column >= 1, the line exists, the column is at most one
// past the end of that line. Rendering each diagnostic must not crash.
// A violation prints what was wrong and aborts.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hvsl::fuzz {

// parse_machine (frontend/parser.h) on the bytes as a .hvsl file.
void check_parse_machine(const std::uint8_t* data, std::size_t size);

// parse_abi (frontend/parser.h) on the bytes as a hypercall spec file, once
// for each profile (vmsl with 2 VMs, arm64 with 5).
void check_parse_abi(const std::uint8_t* data, std::size_t size);

// The check for an entry point by name ("parse_machine", "parse_abi"), or
// nullptr.
using Check = void (*)(const std::uint8_t*, std::size_t);
Check check_by_name(std::string_view name);

}  // namespace hvsl::fuzz
