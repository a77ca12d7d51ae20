#pragma once
// Input files and the mapping from byte offsets to line:column.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "logic/source_loc.h"

namespace hvsl {

class SourceFile {
 public:
  SourceFile(std::string name, std::string text);

  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }

  SourceLoc loc(std::size_t offset, std::size_t length = 1) const;
  // The text of a 1-based line, without its line break.
  std::string_view line(std::uint32_t line) const;

 private:
  std::string name_;
  std::string text_;
  std::vector<std::size_t> line_starts_;
};

// Reads a file; on failure returns nullptr and sets `error` to the reason.
std::unique_ptr<SourceFile> read_source_file(const std::string& path, std::string& error);

}  // namespace hvsl
