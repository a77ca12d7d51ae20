#include "logic/interpreter.h"

#include "logic/hypercalls.h"
#include "logic/nova_calls.h"

namespace hvsl {

Interpreter::Interpreter(State s)
    : s_(std::move(s)), pages_(*s_.machine), page_size_(s_.profile().page_size) {}

// Fetch needs read access to pc's page (not the VM's own TX page) and a word
// that decodes; otherwise null, and the VM fails.
const Instr* Interpreter::fetch(VmId v, Word pc) {
  if (!fetch_cached_ || pc - fetch_base_ >= page_size_) {
    auto pi = pages_.find(pc);
    if (!pi) return nullptr;
    fetch_base_ = pc - pc % page_size_;
    fetch_page_ = *pi;
    fetch_cached_ = true;
  }
  if (!contains(s_.pgt[fetch_page_].access, v) || s_.machine->vms[v].tx == fetch_page_) return nullptr;
  return s_.machine->encoding.decode(s_.mem[fetch_page_ * page_size_ + (pc - fetch_base_)]);
}

bool Interpreter::can_read(VmId v, Word addr) const {
  auto pi = pages_.find(addr);
  if (!pi || !contains(s_.pgt[*pi].access, v)) return false;
  return s_.machine->vms[v].tx != *pi;  // a VM cannot read its own TX page
}

bool Interpreter::can_write(VmId v, Word addr) const {
  auto pi = pages_.find(addr);
  if (!pi || !contains(s_.pgt[*pi].access, v)) return false;
  return s_.machine->vms[v].rx != *pi;  // a VM cannot write its own RX page
}

StepInfo Interpreter::step() {
  VmState& vm = s_.vms[s_.current];
  StepInfo info{++steps_, s_.current, vm.pc(), std::nullopt};
  const Instr* i = fetch(s_.current, vm.pc());
  if (!i) {
    vm.mode = Mode::Fail;
    return info;
  }
  info.instr = *i;
  exec(vm, *i);
  return info;
}

void Interpreter::exec(VmState& vm, const Instr& i) {
  const Profile& p = s_.profile();
  auto& r = vm.regs;
  auto next = [&] { vm.pc() = p.add(vm.pc(), 1); };
  switch (i.op) {
    case Op::Nop: next(); break;
    case Op::MovImm: r[i.a] = i.imm; next(); break;
    case Op::MovReg: r[i.a] = r[i.b]; next(); break;
    case Op::Ldr: {
      Word addr = r[i.b];
      if (!can_read(s_.current, addr)) { vm.mode = Mode::FailPageFault; break; }
      r[i.a] = s_.word(*pages_.find(addr), addr % p.page_size);
      next();
      break;
    }
    case Op::Str: {
      Word addr = r[i.b];
      if (!can_write(s_.current, addr)) { vm.mode = Mode::FailPageFault; break; }
      s_.word(*pages_.find(addr), addr % p.page_size) = r[i.a];
      next();
      break;
    }
    case Op::CmpImm: case Op::CmpReg: {
      Word a = r[i.a], b = i.op == Op::CmpImm ? i.imm : r[i.b];
      r[kNz] = a < b ? kNzLess : (b < a ? kNzGreater : kNzEqual);
      next();
      break;
    }
    case Op::Add: r[i.a] = p.add(r[i.a], r[i.b]); next(); break;
    case Op::Sub: r[i.a] = p.sub(r[i.a], r[i.b]); next(); break;
    case Op::Mult: r[i.a] = p.mult(r[i.a], i.imm); next(); break;
    case Op::Bne:
      if (r[kNz] == kNzEqual) next();
      else vm.pc() = r[i.a];
      break;
    case Op::Br: vm.pc() = r[i.a]; break;
    case Op::Halt:
      vm.mode = Mode::Halt;
      next();
      // abi nova: a halt ends one EC and control passes on (a fail or a
      // page fault still stops the machine).
      if (s_.machine->abi == AbiKind::Nova) nova_schedule(s_);
      break;
    case Op::Fail: vm.mode = Mode::Fail; break;
    case Op::Hvc:
      if (s_.machine->abi == AbiKind::Nova) exec_nova_call(s_, pages_);
      else exec_hypercall(s_, pages_);
      break;
  }
}

RunResult Interpreter::run(std::uint64_t max_steps, const std::function<void(const StepInfo&)>& on_step) {
  std::uint64_t start = steps_;
  while (running()) {
    if (steps_ - start >= max_steps) return {StopReason::StepLimit, steps_ - start};
    StepInfo info = step();
    if (on_step) on_step(info);
  }
  return {StopReason::Terminated, steps_ - start};
}

}  // namespace hvsl
