#pragma once
// The X3 grammar of .hvsl files (docs/language.md). Only grammar.cpp sees X3.
#include "frontend/ast.h"
#include "frontend/diagnostics.h"

namespace hvsl {

// Parses the whole file. On a syntax error, reports it and returns false.
bool parse_ast(const SourceFile& src, ast::File& out, Diagnostics& diags);

// Parses a hypercall spec file (an ABI such as specs/ffa.hvsl).
bool parse_abi_ast(const SourceFile& src, ast::AbiFile& out, Diagnostics& diags);

// The words that cannot be names (mnemonics, declaration keywords and the
// words reserved for specifications).
const std::vector<std::string>& reserved_words();

}  // namespace hvsl
