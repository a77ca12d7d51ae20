#include "frontend/diagnostics.h"

#include <algorithm>

#include <fmt/format.h>

namespace hvsl {

Diagnostic& Diagnostics::error(SourceLoc loc, std::string message) {
  return list_.emplace_back(Diagnostic{Severity::Error, std::move(loc), std::move(message), {}});
}

Diagnostic& Diagnostics::warning(SourceLoc loc, std::string message) {
  return list_.emplace_back(Diagnostic{Severity::Warning, std::move(loc), std::move(message), {}});
}

bool Diagnostics::has_errors() const {
  return std::any_of(list_.begin(), list_.end(), [](const Diagnostic& d) { return d.severity == Severity::Error; });
}

Diagnostic& add_note(Diagnostic& d, SourceLoc loc, std::string message) {
  d.notes.push_back(Diagnostic{Severity::Note, std::move(loc), std::move(message), {}});
  return d;
}

namespace {

const char* label(Severity s) {
  switch (s) {
    case Severity::Error: return "error";
    case Severity::Warning: return "warning";
    case Severity::Note: return "note";
  }
  return "error";
}

// Very long lines (generated or binary input) are cut around the column.
constexpr std::size_t kMaxExcerpt = 160;

void excerpt(std::string& out, const SourceLoc& loc, const SourceFile& src) {
  std::string_view line = src.line(loc.line);
  std::size_t col = loc.col - 1;
  std::size_t start = 0;
  if (line.size() > kMaxExcerpt && col > kMaxExcerpt / 2) start = std::min(col - kMaxExcerpt / 2, line.size());
  std::string_view shown = line.substr(start, kMaxExcerpt);
  std::string text, marker;
  for (std::size_t i = 0; i < shown.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(shown[i]);
    bool printable = c == '\t' || c >= 0x20;  // keep UTF-8 bytes, hide control bytes
    text += printable ? char(c) : '?';
    if (start + i < col) marker += c == '\t' ? '\t' : ' ';
  }
  if (start + shown.size() < col) marker.append(col - start - shown.size(), ' ');
  std::size_t len = std::max<std::size_t>(1, std::min<std::size_t>(loc.length, line.size() > col ? line.size() - col : 1));
  marker += '^';
  if (len > 1) marker.append(std::min<std::size_t>(len - 1, kMaxExcerpt), '~');
  out += fmt::format("{}{}\n{}\n", start ? "..." : "", text, (start ? "   " : "") + marker);
}

void render_one(std::string& out, const Diagnostic& d, const std::vector<const SourceFile*>& sources) {
  if (d.loc.valid())
    out += fmt::format("{}:{}:{}: {}: {}\n", d.loc.file, d.loc.line, d.loc.col, label(d.severity), d.message);
  else if (!d.loc.file.empty())
    out += fmt::format("{}: {}: {}\n", d.loc.file, label(d.severity), d.message);
  else
    out += fmt::format("hvsl: {}: {}\n", label(d.severity), d.message);
  for (const SourceFile* source : sources)
    if (source && d.loc.valid() && d.loc.file == source->name()) {
      excerpt(out, d.loc, *source);
      break;
    }
}

}  // namespace

std::string render(const Diagnostic& d, const std::vector<const SourceFile*>& sources) {
  std::string out;
  render_one(out, d, sources);
  for (const auto& n : d.notes) render_one(out, n, sources);
  return out;
}

std::string render(const Diagnostic& d, const SourceFile* source) {
  return render(d, std::vector<const SourceFile*>{source});
}

}  // namespace hvsl
