#include "logic/state.h"

namespace hvsl {

std::string_view name(Mode m) {
  switch (m) {
    case Mode::Exec: return "ExecI";
    case Mode::Halt: return "HaltI";
    case Mode::Fail: return "FailI";
    case Mode::FailPageFault: return "FailPageFaultI";
  }
  return "?";
}

PageIndex::PageIndex(const Machine& m) : page_size_(m.profile->page_size) {
  Word page_count = m.profile->word_max / page_size_ + 1;
  if (page_count <= (Word(1) << 20)) {
    dense_.assign(page_count, -1);
    for (std::size_t i = 0; i < m.pages.size(); ++i) dense_[m.pages[i].base / page_size_] = int(i);
  } else {
    for (std::size_t i = 0; i < m.pages.size(); ++i) sparse_[m.pages[i].base / page_size_] = i;
  }
}

State initial_state(const Machine& m) {
  State s;
  s.machine = &m;
  const Profile& p = *m.profile;
  s.vms.resize(m.vms.size());
  for (std::size_t v = 0; v < m.vms.size(); ++v) {
    const VmDecl& d = m.vms[v];
    for (auto [r, w] : d.regs) s.vms[v].regs[r] = w;
    if (d.code && !d.regs.count(kPc)) s.vms[v].pc() = d.code->base;
    s.vms[v].rx = d.rx_message;
  }
  for (const auto& pg : m.pages) s.pgt.push_back({pg.owner, pg.exclusive, pg.access});
  s.mem.assign(m.pages.size() * p.page_size, 0);
  PageIndex index(m);
  auto put = [&](Word addr, Word value) {
    if (auto pi = index.find(addr)) s.word(*pi, addr % p.page_size) = value;
  };
  for (const auto& w : m.memory) put(w.addr, w.value);
  for (const auto& vm : m.vms) {
    if (!vm.code) continue;
    for (std::size_t k = 0; k < vm.code->instrs.size(); ++k)
      put(vm.code->base + k, *m.encoding.find(vm.code->instrs[k]));
  }
  for (Word h : m.handles) s.trans[h] = std::nullopt;
  for (const auto& t : m.transactions)
    s.trans[t.handle] = Transaction{t.sender, t.receiver, t.pages, t.kind, t.retrieved};
  if (m.abi == AbiKind::Nova) {
    for (const auto& vm : m.vms) {
      auto& space = s.nova.caps.emplace_back();
      for (const auto& [sel, c] : vm.caps) space[sel] = c.cap;
      s.nova.ecs.push_back({vm.local ? NovaEc::Wait::Idle : NovaEc::Wait::None, std::nullopt, 0});
    }
    for (const auto& pt : m.portals) s.nova.portals.push_back({pt.ec, pt.id});
    for (const auto& sm : m.semaphores) s.nova.sms.push_back({sm.count, {}});
  }
  return s;
}

}  // namespace hvsl
