#pragma once
// The eleven FF-A hypercalls of VMSL (vmsl.md §3), on concrete states.
#include "logic/state.h"

namespace hvsl {

// Executes `hvc` for the current VM: dispatches on its r0, updates registers,
// page table, transactions, mailboxes and the current VM, and advances the
// caller's pc. An r0 that names no hypercall returns the INV_PARAM error.
void exec_hypercall(State& s, const PageIndex& pages);

}  // namespace hvsl
