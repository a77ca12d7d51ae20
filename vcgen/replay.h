#pragma once
// Counterexamples: a concrete start state from a solver model, replayed on
// the reference interpreter to confirm that it reaches the failure.
#include "vcgen/symexec.h"

namespace hvsl {

// Builds the concrete state the model describes at the run's start and, if
// `replay`, runs the interpreter along the failing path and checks that it
// follows the same instructions, agrees with the symbolic registers, and
// ends in the same failure. `goal` is the failed condition (may be invalid).
Counterexample make_counterexample(const Machine& m, VmId vm, const RunStart& start, const SymState& at,
                                   const Env& model, const Term& goal, const std::string& id, bool replay);

}  // namespace hvsl
