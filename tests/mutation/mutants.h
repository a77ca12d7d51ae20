#pragma once
// Source-level mutants of a verified .hvsl file (docs/testing.md, "Mutation
// testing"). The parsed Machine says where every instruction and spec clause
// is; a mutant is the file's text with one span replaced. Line breaks inside
// a replaced span are kept, so every line keeps its number.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "frontend/source.h"
#include "logic/machine.h"

namespace hvsl::mutation {

// The operators, in the order of the report.
enum class Operator { Imm, Reg, Nop, Delete, Branch, Requires, Ensures, Receives };
inline constexpr std::size_t kOperatorCount = 8;
const char* name(Operator op);

struct Mutant {
  Operator op;
  std::size_t line = 0;     // where the change is (1-based)
  std::string vm;           // the VM whose code or spec changed
  std::string description;  // "cmp r1, 42 -> cmp r1, 43"
  std::string text;         // the whole mutated file
  // For Delete: the VM and index of the instruction removed (the code after
  // it moves up one word, which the equivalence check allows for).
  std::optional<std::pair<VmId, std::size_t>> deleted;

  // Instruction mutants can be compared with the original on the interpreter.
  bool is_instruction() const { return op <= Operator::Branch; }
  // "FILE:LINE: OPERATOR: DESCRIPTION", the key of survivors.txt.
  std::string id(const std::string& file) const;
};

// Every mutant of the file, in a fixed order: VM by VM, code then specs.
// Code mutants are made for the VMs hvsl verifies (known, with code and an
// 'ensures'); 'receives' mutants for every known VM.
std::vector<Mutant> make_mutants(const SourceFile& src, const Machine& m);

}  // namespace hvsl::mutation
