#pragma once
// The known VMs' preconditions describe what each holds at the start; when
// control passes between them, each keeps what it holds only if no two
// claim the same resource. This checks that, for claims with constant keys,
// and says so when a claim's key is not a constant (docs/verification.md,
// "Several VMs").
#include <vector>

#include "logic/machine.h"
#include "vcgen/result.h"

namespace hvsl {

struct ClaimProblem {
  VmId vm = 0;      // the VM whose block reports it
  Failure failure;
};

// `vms`: the known VMs whose code is verified.
std::vector<ClaimProblem> check_claims(const Machine& m, const std::vector<VmId>& vms);

}  // namespace hvsl
