#pragma once
// Verification of known VMs' code against their specs, by symbolic execution
// with separation-logic frames (docs/verification.md).
#include <functional>
#include <string>
#include <vector>

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

// A hypercall spec: what `hvc` does when r0 holds `id`. The table is filled
// from spec files (issue 4); each outcome is a guarded pre/postcondition pair.
struct HvcOutcome {
  std::string name;
  AssertionPtr requires_;  // consumed (its pure parts are the outcome's guard)
  AssertionPtr ensures;    // produced; names old.rN for the caller's registers before the call
  std::vector<Reg> writes; // registers the call may change
};
struct HvcSpec {
  std::string name;
  Word id = 0;
  std::vector<HvcOutcome> outcomes;
};
using HvcSpecTable = std::vector<HvcSpec>;

// Verifies one VM's code block (it must have an `ensures`).
BlockResult verify_vm(const Machine& m, VmId vm, const HvcSpecTable& hvc, const VerifyOptions& opts,
                      smt::Solver& solver);

// Verifies every known VM that has an `ensures` clause.
std::vector<BlockResult> verify_machine(const Machine& m, const HvcSpecTable& hvc, const VerifyOptions& opts,
                                        smt::Stats* stats = nullptr);

}  // namespace hvsl
