#pragma once
// The frontend's one entry point: text in, a checked Machine out, or
// diagnostics saying what is wrong and where.
#include <memory>
#include <optional>
#include <string>

#include "frontend/diagnostics.h"
#include "frontend/source.h"
#include "logic/machine.h"

namespace hvsl {

// Parses and checks a whole .hvsl file. Returns nullopt if there is any
// error; warnings may be reported either way.
std::optional<Machine> parse_machine(const SourceFile& src, Diagnostics& diags);

}  // namespace hvsl
