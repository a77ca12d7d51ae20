#pragma once
// How `hvsl verify` shows results: compiler-style text with source excerpts,
// or JSON (schema in docs/cli.md).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frontend/source.h"
#include "logic/machine.h"
#include "vcgen/result.h"

namespace hvsl {

// Timings are shown only with `stats`, so that output is otherwise the same
// on every run.
// `abi` is the hypercall spec file, for excerpts of its clauses (may be null).
std::string render_text(const std::vector<BlockResult>& blocks, const Machine& m, const SourceFile& src, bool stats,
                        const SourceFile* abi = nullptr);
nlohmann::json render_json(const std::vector<BlockResult>& blocks, const std::string& file, bool stats);

}  // namespace hvsl
