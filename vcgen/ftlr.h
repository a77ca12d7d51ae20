#pragma once
// The automated fundamental theorem (VMSL's ftlr / ftlr_p, vmsl.md §5),
// checked per configuration: from any state that satisfies the hypercall
// spec file's invariants and keeps the unknown VMs' reach closed, one step
// of an unknown VM (a store to any address, or any outcome of any hypercall
// of the spec file, with any register values) changes only what the
// adversary model says it may (the executor's adversary_reaches, which is
// what verification of the known VMs assumes) and keeps the reach closed.
// docs/robust_safety.md.
#include "vcgen/verifier.h"

namespace hvsl {

// One block per unknown VM: verified when every step is proved, failed with
// the step and a counterexample otherwise.
BlockResult check_unknown_steps(const Machine& m, VmId unknown, const HvcSpecTable& hvc, const VerifyOptions& opts,
                                smt::Solver& solver);

}  // namespace hvsl
