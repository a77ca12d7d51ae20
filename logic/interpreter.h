#pragma once
// The reference interpreter: VMSL's step relation (vmsl.md §1.5, §2, §3),
// executable. Only the current VM steps; a VM whose mode is not Exec stops
// the machine, as in VMSL where a halted VM keeps the processor. With abi
// nova, `hvc` is a NOVA call (logic/nova_calls.h) and a halt passes control
// to the next ready EC.
#include <cstdint>
#include <functional>
#include <optional>

#include "logic/state.h"

namespace hvsl {

// What one step did, for --trace.
struct StepInfo {
  std::uint64_t number = 0;
  VmId vm = 0;
  Word pc = 0;
  std::optional<Instr> instr;  // nullopt: the fetch or decode failed
};

enum class StopReason {
  Terminated,  // the current VM is no longer in Exec mode (abi nova: or it waits)
  StepLimit,   // max_steps steps were taken and the machine could go on
};

struct RunResult {
  StopReason reason = StopReason::Terminated;
  std::uint64_t steps = 0;
};

class Interpreter {
 public:
  explicit Interpreter(State s);

  const State& state() const { return s_; }
  State& state() { return s_; }
  // abi nova: also false when the current EC waits (for a call, a reply, a
  // semaphore or a busy callee): no EC was ready, so the machine has stopped.
  bool running() const {
    if (s_.vms[s_.current].mode != Mode::Exec) return false;
    return s_.machine->abi != AbiKind::Nova || s_.nova.ecs[s_.current].wait == NovaEc::Wait::None;
  }

  // One step of the current VM; returns what it fetched. Requires running().
  StepInfo step();

  // Steps until the current VM stops running or max_steps steps were taken.
  // on_step, if given, is called after every step with that step's info.
  RunResult run(std::uint64_t max_steps, const std::function<void(const StepInfo&)>& on_step = {});

  // Access checks of vmsl.md §1.4, exposed for tests.
  bool can_read(VmId v, Word addr) const;
  bool can_write(VmId v, Word addr) const;

 private:
  State s_;
  PageIndex pages_;
  Word page_size_;
  std::uint64_t steps_ = 0;
  // The page of the last fetch. Which page holds an address never changes,
  // so this needs no invalidation; access is still checked every step.
  Word fetch_base_ = 0;
  std::size_t fetch_page_ = 0;
  bool fetch_cached_ = false;

  const Instr* fetch(VmId v, Word pc);

  void exec(VmState& vm, const Instr& i);
};

}  // namespace hvsl
