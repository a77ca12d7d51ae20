#include "tests/fuzz/parse_check.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "frontend/parser.h"
#include "logic/profile.h"

namespace hvsl::fuzz {
namespace {

constexpr const char* kFileName = "fuzz.hvsl";

[[noreturn]] void fail(const char* entry, const std::string& what, const Diagnostic* d, const SourceFile& src) {
  std::fprintf(stderr, "%s: property violated: %s\n", entry, what.c_str());
  if (d)
    std::fprintf(stderr, "  diagnostic: %s at %u:%u (length %u)\n", d->message.c_str(), d->loc.line, d->loc.col,
                 d->loc.length);
  std::fprintf(stderr, "  input: %zu bytes\n", src.text().size());
  std::abort();
}

// Byte length of each 1-based line (without its '\n'); lines[0] is unused.
std::vector<std::size_t> line_lengths(std::string_view text) {
  std::vector<std::size_t> lines{0};
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i)
    if (i == text.size() || text[i] == '\n') {
      lines.push_back(i - start);
      start = i + 1;
    }
  return lines;
}

void check_loc(const char* entry, const Diagnostic& d, const std::vector<std::size_t>& lines,
               const SourceFile& src, bool is_note) {
  const SourceLoc& l = d.loc;
  if (!l.valid()) {
    // Only notes may lack a location; an error or warning must say where.
    if (!is_note) fail(entry, "diagnostic without a location", &d, src);
    return;
  }
  if (l.file != kFileName) fail(entry, "diagnostic names another file", &d, src);
  if (l.col < 1) fail(entry, "column 0", &d, src);
  if (l.line >= lines.size()) fail(entry, "line past the end of the input", &d, src);
  if (l.col > lines[l.line] + 1) fail(entry, "column past the end of its line", &d, src);
  if (l.length < 1) fail(entry, "length 0", &d, src);
}

// The diagnostics' part of the property, given whether a result came back.
void check_outcome(const char* entry, const SourceFile& src, const Diagnostics& diags, bool has_result) {
  bool any_error = false;
  const auto lines = line_lengths(src.text());
  for (const Diagnostic& d : diags.all()) {
    if (d.severity == Severity::Error) any_error = true;
    if (d.severity == Severity::Note) fail(entry, "a top-level diagnostic is a note", &d, src);
    check_loc(entry, d, lines, src, false);
    for (const Diagnostic& n : d.notes) check_loc(entry, n, lines, src, true);
    // What the user would see; must not crash on any location.
    if (render(d, &src).empty()) fail(entry, "a diagnostic renders as nothing", &d, src);
  }
  if (has_result && any_error) fail(entry, "a result was returned together with an error", nullptr, src);
  if (!has_result && !any_error) fail(entry, "no result and no error", nullptr, src);
}

std::string as_text(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace

void check_parse_machine(const std::uint8_t* data, std::size_t size) {
  SourceFile src(kFileName, as_text(data, size));
  Diagnostics diags;
  bool ok = parse_machine(src, diags).has_value();
  check_outcome("parse_machine", src, diags, ok);
}

void check_parse_abi(const std::uint8_t* data, std::size_t size) {
  SourceFile src(kFileName, as_text(data, size));
  for (auto [profile, vms] : {std::pair{&Profile::vmsl(), std::size_t(2)}, std::pair{&Profile::arm64(), std::size_t(5)}}) {
    Diagnostics diags;
    bool ok = parse_abi(src, *profile, vms, diags).has_value();
    check_outcome("parse_abi", src, diags, ok);
  }
}

Check check_by_name(std::string_view name) {
  if (name == "parse_machine") return &check_parse_machine;
  if (name == "parse_abi") return &check_parse_abi;
  return nullptr;
}

}  // namespace hvsl::fuzz
