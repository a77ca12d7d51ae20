#pragma once
// Human-readable rendering of concrete states: the final state after a run
// and the effects of one step, shown by `hvsl run` and `hvsl run --trace`.
#include <string>

#include "logic/interpreter.h"

namespace hvsl {

// "4000 (pshare+0)": an address with the page that holds it.
std::string describe_addr(const Machine& m, Word addr);

// Everything a person wants after a run: why it stopped, each VM's mode,
// pc and non-zero registers, and the memory, page-table, mailbox and
// transaction entries that differ from `initial`.
std::string describe_final(const State& initial, const State& final_state, const RunResult& r);

// One trace line for a step and, indented below it, what it changed.
std::string describe_step(const StepInfo& info, const State& before, const State& after);

}  // namespace hvsl
