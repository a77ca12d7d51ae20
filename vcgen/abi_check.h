#pragma once
// Checks a hypercall spec file with the solver: within each call, no two
// outcomes may hold in the same state, and some outcome must hold in every
// state the call's requires clause allows. The executor relies on both: it
// explores exactly the outcomes whose guards may hold.
#include <string>
#include <vector>

#include "logic/abi.h"
#include "smt/solver.h"

namespace hvsl {

struct AbiProblem {
  SourceLoc loc;
  std::string message;
  std::vector<std::pair<SourceLoc, std::string>> notes;
  bool inconclusive = false;  // the solver could not decide
};

std::vector<AbiProblem> check_abi(const Abi& abi, const Profile& profile, std::size_t vm_count, smt::Solver& solver);

}  // namespace hvsl
