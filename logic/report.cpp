#include "logic/report.h"

#include <fmt/format.h>

namespace hvsl {
namespace {

std::string vm_name(const Machine& m, VmId v) { return m.vms[v].name; }

std::string vm_set(const Machine& m, VmSet s) {
  std::string out = "{";
  for (VmId v = 0; v < m.vms.size(); ++v)
    if (contains(s, v)) out += (out.size() > 1 ? ", " : "") + vm_name(m, v);
  return out + "}";
}

std::string page_entry(const Machine& m, const PageState& e) {
  return fmt::format("owner {}, {}, access {}", e.owner ? vm_name(m, *e.owner) : "hypervisor",
                     e.exclusive ? "exclusive" : "not exclusive", vm_set(m, e.access));
}

std::string rx_state(const Machine& m, const std::optional<RxMessage>& rx) {
  if (!rx) return "empty";
  return fmt::format("holds {} words from {}", rx->length, vm_name(m, rx->sender));
}

std::string transaction(const Machine& m, Word h, const std::optional<Transaction>& t) {
  if (!t) return fmt::format("handle {}: free", h);
  std::string pages;
  for (Word p : t->pages) {
    const PageDecl* d = m.page_at(p);
    pages += (pages.empty() ? "" : ", ") + (d ? d->name : fmt::format("{}", p));
  }
  return fmt::format("handle {}: {} {} -> {}, pages {{{}}}, {}", h, name(t->kind), vm_name(m, t->sender),
                     vm_name(m, t->receiver), pages, t->retrieved ? "retrieved" : "not retrieved");
}

std::string registers(const VmState& vm) {
  std::string out;
  for (Reg r = 0; r < kGeneralRegs; ++r)
    if (vm.regs[r] != 0) out += fmt::format(" {}={}", reg_name(r), vm.regs[r]);
  out += fmt::format(" nz={}", vm.regs[kNz]);
  return out;
}

// Lines for everything but registers that differs between two states.
void describe_changes(std::string& out, const State& a, const State& b, const char* indent) {
  const Machine& m = *a.machine;
  const Word ps = a.profile().page_size;
  for (std::size_t i = 0; i < a.mem.size(); ++i)
    if (a.mem[i] != b.mem[i])
      out += fmt::format("{}mem[{}] = {} (was {})\n", indent,
                         describe_addr(m, m.pages[i / ps].base + i % ps), b.mem[i], a.mem[i]);
  for (std::size_t i = 0; i < a.pgt.size(); ++i)
    if (a.pgt[i] != b.pgt[i])
      out += fmt::format("{}page {}: {} (was {})\n", indent, m.pages[i].name, page_entry(m, b.pgt[i]),
                         page_entry(m, a.pgt[i]));
  for (VmId v = 0; v < a.vms.size(); ++v)
    if (a.vms[v].rx.has_value() != b.vms[v].rx.has_value() ||
        (a.vms[v].rx && (a.vms[v].rx->length != b.vms[v].rx->length || a.vms[v].rx->sender != b.vms[v].rx->sender)))
      out += fmt::format("{}{} RX: {} (was {})\n", indent, vm_name(m, v), rx_state(m, b.vms[v].rx),
                         rx_state(m, a.vms[v].rx));
  for (const auto& [h, t] : b.trans) {
    auto it = a.trans.find(h);
    if (it == a.trans.end() || it->second != t) out += fmt::format("{}{}\n", indent, transaction(m, h, t));
  }
}

}  // namespace

std::string describe_addr(const Machine& m, Word addr) {
  const PageDecl* d = m.page_at(addr);
  if (!d) return fmt::format("{}", addr);
  return fmt::format("{} ({}+{})", addr, d->name, addr - d->base);
}

std::string describe_final(const State& initial, const State& s, const RunResult& r) {
  const Machine& m = *s.machine;
  std::string out;
  if (r.reason == StopReason::StepLimit)
    out += fmt::format("stopped: step limit of {} steps reached while {} was still running (raise it with --max-steps)\n",
                       r.steps, vm_name(m, s.current));
  else
    out += fmt::format("stopped after {} step{}: {} is {}\n", r.steps, r.steps == 1 ? "" : "s", vm_name(m, s.current),
                       name(s.vms[s.current].mode));
  for (VmId v = 0; v < s.vms.size(); ++v) {
    const VmState& vm = s.vms[v];
    out += fmt::format("{} ({}{}): {} pc={}\n", vm_name(m, v), m.vms[v].known ? "known" : "unknown",
                       v == 0 ? ", primary" : "", name(vm.mode), describe_addr(m, vm.pc()));
    out += fmt::format("  registers:{}\n", registers(vm));
  }
  std::string changes;
  describe_changes(changes, initial, s, "  ");
  if (!changes.empty()) out += "changes:\n" + changes;
  return out;
}

std::string describe_step(const StepInfo& info, const State& before, const State& after) {
  const Machine& m = *after.machine;
  std::string out = fmt::format("[{}] {} {}: {}\n", info.number, vm_name(m, info.vm), describe_addr(m, info.pc),
                                info.instr ? to_string(*info.instr) : "(fetch failed: no access or not an instruction)");
  for (VmId v = 0; v < after.vms.size(); ++v) {
    for (Reg r = 0; r < kRegCount; ++r) {
      if (r == kPc) continue;
      if (before.vms[v].regs[r] != after.vms[v].regs[r])
        out += fmt::format("    {}.{} = {}\n", vm_name(m, v), reg_name(r), after.vms[v].regs[r]);
    }
    if (before.vms[v].mode != after.vms[v].mode)
      out += fmt::format("    {} is now {}\n", vm_name(m, v), name(after.vms[v].mode));
  }
  if (before.current != after.current)
    out += fmt::format("    switch to {}\n", vm_name(m, after.current));
  describe_changes(out, before, after, "    ");
  return out;
}

}  // namespace hvsl
