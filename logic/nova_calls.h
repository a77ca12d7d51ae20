#pragma once
// The NOVA-style hypercalls of a machine with 'abi nova' (logic/nova.h,
// ../shared/reference/nova_ffa.md part A), on concrete states. One CPU:
// ECs run one at a time, and control passes from one to another only by
// ipc_call, ipc_reply, a blocking ctrl_sm down or a halt.
#include "logic/state.h"

namespace hvsl {

// Executes `hvc` for s.current: decodes r0 (number = r0 % 16, flags =
// r0 / 16 % 16, selector = r0 / 256), takes NOVA's p1..p4 from r1..r4,
// writes the status to r0 (the whole register) and advances the caller's pc,
// except for an ipc_call that waits for a busy callee (the hvc is retried).
void exec_nova_call(State& s, const PageIndex& pages);

// Whether EC `v` can run: its VM is in Exec mode and it waits for nothing,
// or it waits for a callee that is now idle or dead (it then retries its call).
bool nova_ready(const State& s, VmId v);

// Control passes on: s.current becomes the next ready EC after it in id
// order (cyclically, itself last). An EC chosen while waiting for a callee
// stops waiting and retries its ipc_call. With no EC ready, s.current stays
// and the machine has stopped.
void nova_schedule(State& s);

// For replaying one EC's path from a state of its own: on a nova machine,
// EC `v`, if it waits for a call, is made to run as if `caller` had just
// called it (the caller then waits for the reply). No effect otherwise.
void nova_enter_as_called(State& s, VmId v, VmId caller);

// For replaying from a state of a counterexample: sets the kernel state one
// chunk describes, for the NOVA resources that have a concrete value to set
// (sm counters and capabilities); returns false for any other chunk.
bool nova_install(State& s, const std::string& resource, const std::vector<Word>& keys,
                  const std::vector<Word>& values);

}  // namespace hvsl
