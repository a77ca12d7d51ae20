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

// One chunk an assertion holds, with constant keys: resource, keys,
// permission and where it is written.
struct HeldClaim {
  std::string name;
  std::vector<Word> keys;
  Perm perm;
  SourceLoc loc;
  std::string text() const;  // "mem[3000]", "owner(4000)"
};
struct HeldClaims {
  std::vector<HeldClaim> claims;
  AssertionPtr unchecked;  // the first chunk or predicate whose keys are not constants
};
// The chunks `a` may hold (both branches of an 'if'; 'forall' expanded).
HeldClaims collect_claims(const Machine& m, const AssertionPtr& a);

}  // namespace hvsl
