#pragma once
// Verification of known VMs' code against their specs, by symbolic execution
// with separation-logic frames (docs/verification.md).
#include <functional>
#include <string>
#include <vector>

#include "logic/abi.h"
#include "logic/machine.h"
#include "smt/solver.h"
#include "vcgen/result.h"

namespace hvsl {

struct VerifyOptions {
  smt::Options smt;
  bool keep_vcs = false;              // record every query in BlockResult::vcs
  std::size_t max_path_steps = 200'000;  // a longer path is reported (a loop without an invariant?)
  bool replay = true;                 // replay counterexamples on the interpreter
  std::vector<std::string> only;      // verify only these VMs (empty: every VM with a spec)
};

// What `hvc` does comes from a hypercall spec file (logic/abi.h); an empty
// table makes every `hvc` an error (hvc.no_spec).
using HvcSpecTable = Abi;

// Verifies one VM's code block (it must have an `ensures`).
BlockResult verify_vm(const Machine& m, VmId vm, const HvcSpecTable& hvc, const VerifyOptions& opts,
                      smt::Solver& solver);

// Verifies every known VM that has an `ensures` clause.
std::vector<BlockResult> verify_machine(const Machine& m, const HvcSpecTable& hvc, const VerifyOptions& opts,
                                        smt::Stats* stats = nullptr);

}  // namespace hvsl
