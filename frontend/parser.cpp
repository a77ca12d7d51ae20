#include "frontend/parser.h"

#include "frontend/grammar.h"
#include "frontend/lower.h"

namespace hvsl {

std::optional<Machine> parse_machine(const SourceFile& src, Diagnostics& diags) {
  ast::File file;
  if (!parse_ast(src, file, diags)) return std::nullopt;
  return lower(file, src, diags);
}

}  // namespace hvsl
