#pragma once
// Diagnostics in the form compilers use: "file:line:col: error: message",
// then the source line and a caret under the spot, then related notes.
#include <string>
#include <vector>

#include "frontend/source.h"
#include "logic/source_loc.h"

namespace hvsl {

enum class Severity { Error, Warning, Note };

struct Diagnostic {
  Severity severity = Severity::Error;
  SourceLoc loc;
  std::string message;
  std::vector<Diagnostic> notes;  // related locations ("previous declaration is here")
};

class Diagnostics {
 public:
  Diagnostic& error(SourceLoc loc, std::string message);
  Diagnostic& warning(SourceLoc loc, std::string message);
  bool has_errors() const;
  const std::vector<Diagnostic>& all() const { return list_; }

 private:
  std::vector<Diagnostic> list_;
};

// Adds a note to a diagnostic and returns it, for chaining.
Diagnostic& add_note(Diagnostic& d, SourceLoc loc, std::string message);

// Renders one diagnostic with its source excerpt. `source` may be null
// (then only the first line is printed).
std::string render(const Diagnostic& d, const SourceFile* source);
// The same, taking each excerpt from whichever file its location names.
std::string render(const Diagnostic& d, const std::vector<const SourceFile*>& sources);

}  // namespace hvsl
