#pragma once
// "Equivalent by the interpreter": a surviving code mutant that ends in the
// same state as the original on every run tried is set aside, not counted
// as a survivor (docs/testing.md, "Mutation testing").
#include <cstdint>
#include <optional>

#include "logic/machine.h"

namespace hvsl::mutation {

// Runs both machines on the reference interpreter from the declared initial
// state, then `random_runs` more times with the same random register values
// (r0..r30 of every VM; the seed fixes them) in both. True if every pair of
// runs stops the same way with the same known VMs (mode, registers, RX
// state), page table, transactions and memory, code words excepted (a
// mutant's instructions are numbered differently).
// `deleted` (VM, index): the mutant lacks that instruction of the original, so
// that VM's pc at or after it is one word lower in the mutant.
struct Deletion {
  VmId vm = 0;
  std::size_t index = 0;
};
bool equivalent_by_interpreter(const Machine& original, const Machine& mutant, std::uint64_t seed,
                               int random_runs, std::optional<Deletion> deleted = std::nullopt);

}  // namespace hvsl::mutation
