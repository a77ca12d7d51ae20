#pragma once
// Turns the syntax tree into a Machine, evaluating constant expressions and
// checking everything the grammar cannot: names, ranges, operand rules,
// page layout, mailboxes and the page table's agreement with transactions.
#include <optional>

#include "frontend/ast.h"
#include "frontend/diagnostics.h"
#include "logic/machine.h"

namespace hvsl {

std::optional<Machine> lower(const ast::File& file, const SourceFile& src, Diagnostics& diags);

}  // namespace hvsl
