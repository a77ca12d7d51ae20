// The FF-A generator (docs/conformance.md, "The generated states"): random
// machines and states for specs/ffa.hvsl, well-formed and deliberately odd
// ones.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "conformance.h"
#include "logic/encoding.h"

namespace conformance {

using hvsl::Machine;
using hvsl::Profile;
using hvsl::Reg;
using hvsl::State;

namespace {

using hvsl::Hypercall;
using hvsl::PageDecl;
using hvsl::TransKind;

struct Builder {
  Rng& rng;
  const Profile& p;
  std::unique_ptr<Machine> m;
  State s;
  std::vector<std::string> odd;
  int n = 0;
  VmId caller = 0;
  std::vector<Word> free_numbers;      // page numbers not used yet
  std::vector<std::size_t> code, data, mailboxes;  // page indices
  std::set<std::size_t> in_trans;      // data pages some transaction names
  bool well_formed = true;             // no odd feature that breaks VMSL's §3.1 consistency
  Word hvc = 0;

  Builder(Rng& r, const Profile& prof) : rng(r), p(prof), m(std::make_unique<Machine>()) { m->profile = &p; }

  void note(const std::string& what) {
    if (std::find(odd.begin(), odd.end(), what) == odd.end()) odd.push_back(what);
  }
  Word top_page() const { return p.word_max / p.page_size; }
  Word take_number() {
    std::size_t i = rng.range(0, free_numbers.size() - 1);
    Word k = free_numbers[i];
    free_numbers.erase(free_numbers.begin() + std::ptrdiff_t(i));
    return k;
  }
  std::size_t add_page(const std::string& name, Word number, std::optional<VmId> owner, bool excl, hvsl::VmSet acc) {
    PageDecl d;
    d.name = name;
    d.base = number * p.page_size;
    d.owner = owner;
    d.exclusive = excl;
    d.access = acc;
    m->pages.push_back(d);
    return m->pages.size() - 1;
  }
  hvsl::VmSet random_set() { return hvsl::VmSet(rng.range(0, (1u << n) - 1)); }
  VmId random_vm() { return VmId(rng.range(0, std::uint64_t(n) - 1)); }
  VmId other_vm(VmId v) {
    VmId w = VmId(rng.range(0, std::uint64_t(n) - 2));
    return w >= v ? w + 1 : w;
  }
  // A large value: the profile's largest word, or any word above a page.
  Word huge() {
    if (rng.chance(0.3)) return p.word_max;
    Word lo = p.page_size + 2;
    return rng.range(lo, p.word_max);
  }
  // A register value: small numbers, addresses of pages, or anything.
  Word any_value() {
    switch (rng.irange(0, 3)) {
      case 0: return rng.range(0, 9);
      case 1: return m->pages[rng.range(0, m->pages.size() - 1)].base + (rng.chance(0.7) ? 0 : rng.range(0, 9));
      case 2: return huge();
      default: return rng.range(0, 200);
    }
  }
  Word undeclared_page() {
    for (Word k = 0; k < 200; ++k) {
      Word base = k * p.page_size;
      if (!m->page_at(base)) return base;
    }
    return 0;
  }

  void pages() {
    n = rng.irange(2, 4);
    caller = VmId(rng.range(0, std::uint64_t(n) - 1));
    for (Word k = 1; k < 48; ++k) free_numbers.push_back(k);
    m->vms.resize(std::size_t(n));
    for (VmId v = 0; v < VmId(n); ++v) m->vms[v].name = fmt::format("vm{}", v);
    // code pages: owned by their VM, which can read them
    bool top = rng.chance(0.03);
    for (VmId v = 0; v < VmId(n); ++v) {
      Word number = v == caller && top ? top_page() : take_number();
      if (v == caller && top) note("caller's code at the top of the address space");
      hvsl::VmSet acc = hvsl::vm_bit(v);
      if (rng.chance(0.08)) {
        acc |= random_set();
        note("code page shared");
      }
      code.push_back(add_page(fmt::format("code{}", v), number, v, rng.chance(0.9), acc));
    }
    // mailboxes: owned by the hypervisor
    for (VmId v = 0; v < VmId(n); ++v) {
      if (rng.chance(0.85)) {
        auto i = add_page(fmt::format("tx{}", v), take_number(), std::nullopt, rng.chance(0.3),
                          rng.chance(0.8) ? hvsl::vm_bit(v) : random_set());
        m->vms[v].tx = i;
        mailboxes.push_back(i);
      } else {
        note(v == caller ? "caller without a TX page" : "a VM without a TX page");
      }
      if (rng.chance(0.85)) {
        auto i = add_page(fmt::format("rx{}", v), take_number(), std::nullopt, rng.chance(0.8),
                          rng.chance(0.8) ? hvsl::vm_bit(v) : random_set());
        m->vms[v].rx = i;
        mailboxes.push_back(i);
      } else {
        note(v == caller ? "caller without an RX page" : "a VM without an RX page");
      }
    }
    if (rng.chance(0.04)) {  // two VMs' mailboxes in one page, or a VM's TX = its RX
      VmId v = random_vm(), w = rng.chance(0.5) ? v : other_vm(v);
      if (m->vms[v].tx) {
        m->vms[w].rx = m->vms[v].tx;
        note("a mailbox page used twice");
      }
    }
    // data pages
    int count = rng.irange(2, 5);
    for (int k = 0; k < count; ++k) {
      std::optional<VmId> owner;
      if (rng.chance(0.9)) owner = random_vm();
      else note("a hypervisor-owned data page");
      hvsl::VmSet acc = random_set();
      if (owner && rng.chance(0.7)) acc |= hvsl::vm_bit(*owner);
      data.push_back(add_page(fmt::format("data{}", k), take_number(), owner, rng.chance(0.6), acc));
    }
    if (rng.chance(0.04)) {  // a mailbox in a page a VM owns
      auto i = rng.pick(data);
      if (rng.chance(0.5)) m->vms[caller].tx = i;
      else m->vms[caller].rx = i;
      note("a mailbox in a VM-owned data page");
    }
    // the caller owns one, exclusively and with access (what a share needs)
    if (rng.chance(0.7)) {
      auto& e = m->pages[rng.pick(data)];
      e.owner = caller;
      e.exclusive = true;
      e.access |= hvsl::vm_bit(caller);
    }
  }

  void transactions() {
    int count = rng.chance(0.06) ? 0 : rng.irange(1, 4);
    if (count == 0) note("no handles at all");
    std::set<Word> hs;
    while (int(hs.size()) < count) hs.insert(rng.chance(0.85) ? rng.range(0, 9) : huge());
    bool all_used = count > 0 && rng.chance(0.2);
    if (all_used) note("handle pool empty (every handle in use)");
    for (Word h : hs) {
      m->handles.push_back(h);
      if (!all_used && rng.chance(0.45)) continue;  // free
      hvsl::TransactionDecl t;
      t.handle = h;
      if (rng.chance(0.65)) {
        if (rng.chance(0.5)) t.sender = caller, t.receiver = other_vm(caller);
        else t.receiver = caller, t.sender = other_vm(caller);
      } else {
        t.sender = random_vm();
        t.receiver = other_vm(t.sender);
      }
      if (rng.chance(0.03)) {
        t.receiver = t.sender;
        note("a transaction with sender = receiver");
        well_formed = false;
      }
      t.kind = TransKind(rng.irange(0, 2));
      t.retrieved = t.kind != TransKind::Donate && rng.chance(0.5);
      if (t.kind == TransKind::Donate && rng.chance(0.05)) {
        t.retrieved = true;
        note("a retrieved donation");
        well_formed = false;
      }
      int pages = 1;
      if (rng.chance(0.06)) {
        pages = rng.chance(0.5) ? 0 : 2;
        note(pages ? "a transaction of two pages" : "a transaction of no page");
      }
      std::vector<std::size_t> candidates;
      for (auto i : data)
        if (!in_trans.count(i)) candidates.push_back(i);
      if (int(candidates.size()) < pages) {
        candidates = data;
        note("a page in two transactions");
        well_formed = false;
      }
      std::shuffle(candidates.begin(), candidates.end(), rng.g);
      std::vector<std::size_t> chosen(candidates.begin(), candidates.begin() + pages);
      bool consistent = rng.chance(0.95);
      if (!consistent) {
        note("page table not as the transaction implies");
        well_formed = false;
      }
      for (auto i : chosen) {
        in_trans.insert(i);
        t.pages.push_back(m->pages[i].base);
        if (!consistent) continue;
        auto& e = m->pages[i];
        e.owner = t.sender;
        bool share = t.kind == TransKind::Share;
        e.exclusive = !share;
        e.access = share ? hvsl::vm_bit(t.sender) : 0;
        if (t.retrieved) e.access |= hvsl::vm_bit(t.receiver);
      }
      std::sort(t.pages.begin(), t.pages.end());
      m->transactions.push_back(t);
    }
  }

  // The state: registers, RX states, memory, the descriptor, the call.
  void state() {
    m->encoding = hvsl::InstrTable(hvsl::instruction_base(p));
    hvc = m->encoding.encode(hvsl::Instr{hvsl::Op::Hvc});
    m->encoding.encode(hvsl::Instr{hvsl::Op::Halt});
    s.machine = m.get();
    s.vms.resize(std::size_t(n));
    for (const auto& pg : m->pages) s.pgt.push_back({pg.owner, pg.exclusive, pg.access});
    s.mem.assign(m->pages.size() * p.page_size, 0);
    for (Word h : m->handles) s.trans[h] = std::nullopt;
    for (const auto& t : m->transactions)
      s.trans[t.handle] = hvsl::Transaction{t.sender, t.receiver, t.pages, t.kind, t.retrieved};
    s.current = caller;
    hvsl::PageIndex index(*m);
    auto put = [&](Word addr, Word value) {
      if (auto i = index.find(addr)) s.word(*i, addr % p.page_size) = value;
    };
    // registers and pcs
    for (VmId v = 0; v < VmId(n); ++v) {
      auto& vm = s.vms[v];
      for (Reg r = 0; r < hvsl::kGeneralRegs; ++r) vm.regs[r] = rng.chance(0.5) ? rng.range(0, 20) : any_value();
      vm.regs[hvsl::kNz] = rng.range(0, 2);
      Word base = m->pages[code[v]].base;
      Word off = rng.chance(0.9) ? rng.range(0, 50) : p.page_size - 1;
      if (base / p.page_size == top_page()) off = p.page_size - 1;  // pc = the largest word
      vm.pc() = base + off;
      put(vm.pc(), hvc);
      if (v != caller && rng.chance(0.15)) {
        vm.mode = rng.chance(0.5) ? hvsl::Mode::Halt : hvsl::Mode::Fail;
        note("another VM not running");
      }
    }
    if (s.vms[caller].pc() == p.word_max) note("the caller's pc is the largest word");
    // RX states
    for (VmId v = 0; v < VmId(n); ++v) {
      if (rng.chance(0.5)) continue;
      Word len = rng.chance(0.85) ? rng.range(0, 6) : rng.range(0, p.page_size);
      s.vms[v].rx = hvsl::RxMessage{len, rng.chance(0.9) ? other_vm(v) : random_vm()};
      if (v == caller) note("caller's RX full");
    }
    // memory: some words in every page
    for (std::size_t i = 0; i < m->pages.size(); ++i)
      for (int k = 0; k < 8; ++k)
        if (rng.chance(0.5)) s.word(i, Word(rng.range(0, 9))) = any_value();
    for (VmId v = 0; v < VmId(n); ++v)  // the code words stay
      put(s.vms[v].pc(), hvc);
    // the call
    auto& regs = s.vms[caller].regs;
    Hypercall h = Hypercall(rng.irange(0, hvsl::kHypercallCount - 1));
    if (!rng.chance(0.06)) {
      regs[0] = hvsl::encode(p, h);
    } else {
      note("r0 names no call");
      const Profile& other = p.kind == hvsl::ProfileKind::Vmsl ? Profile::arm64() : Profile::vmsl();
      switch (rng.irange(0, 3)) {
        case 0: regs[0] = hvsl::encode(other, h); break;
        case 1: regs[0] = hvsl::encode_success(p); break;
        case 2: regs[0] = huge(); break;
        default: regs[0] = rng.range(0, 200); break;
      }
    }
    bool mem_send = h == Hypercall::Share || h == Hypercall::Lend || h == Hypercall::Donate;
    // r1
    if (mem_send) {
      double x = rng.range(0, 99);
      regs[1] = x < 70 ? 5 : x < 80 ? rng.range(0, 6) : x < 85 ? p.page_size : x < 90 ? p.page_size + 1 : x < 95 ? huge()
                                                                                                      : 4 + 2 * rng.range(0, 1);
    } else if (h == Hypercall::Retrieve || h == Hypercall::Relinquish || h == Hypercall::Reclaim) {
      std::vector<Word> used, free;
      for (const auto& [k, t] : s.trans) (t ? used : free).push_back(k);
      double x = rng.range(0, 99);
      if (x < 75 && !used.empty()) regs[1] = rng.pick(used);
      else if (x < 85 && !free.empty()) regs[1] = rng.pick(free);
      else if (x < 93) regs[1] = rng.range(0, 12);
      else regs[1] = huge();
    } else if (h == Hypercall::Run || h == Hypercall::Send) {
      double x = rng.range(0, 99);
      regs[1] = x < 80 ? rng.range(0, std::uint64_t(n) - 1) : x < 90 ? Word(n) + rng.range(0, 2) : huge();
    } else {
      regs[1] = any_value();
    }
    // r2
    if (h == Hypercall::Send) {
      double x = rng.range(0, 99);
      regs[2] = x < 55 ? rng.range(0, 2) : x < 75 ? rng.range(3, 6) : x < 83 ? p.page_size : x < 90 ? p.page_size + 1
                                                                                                   : huge();
    } else if (rng.chance(0.5)) {
      regs[2] = rng.range(0, 6);
    }
    if (h == Hypercall::Wait || h == Hypercall::Poll) {
      if (rng.chance(0.3)) s.vms[caller].rx = std::nullopt;
    }
    if (mem_send) descriptor();
  }

  // The descriptor at the start of the caller's TX page.
  void descriptor() {
    const auto& tx = m->vms[caller].tx;
    if (!tx) return;
    auto w = [&](Word k) -> Word& { return s.word(*tx, k); };
    double x = rng.range(0, 99);
    w(0) = x < 85 ? caller : x < 95 ? other_vm(caller) : huge();
    if (w(0) != caller) note("descriptor sender != caller");
    w(1) = rng.chance(0.9) ? 0 : rng.range(1, 9);
    x = rng.range(0, 99);
    w(2) = x < 88 ? 1 : x < 94 ? rng.range(0, 3) : huge();
    x = rng.range(0, 99);
    w(3) = x < 82 ? other_vm(caller) : x < 90 ? caller : x < 95 ? Word(n) : huge();
    x = rng.range(0, 99);
    Word pg;
    if (x < 60) {
      // a data page: often one the caller may share (owned, exclusive, accessible)
      auto i = rng.pick(data);
      if (rng.chance(0.7) && !in_trans.count(i)) {
        s.pgt[i].owner = caller;
        s.pgt[i].exclusive = true;
        s.pgt[i].access |= hvsl::vm_bit(caller);
      }
      pg = m->pages[i].base;
    } else if (x < 70) {
      pg = m->pages[rng.pick(code)].base;
    } else if (x < 78) {
      pg = m->pages[rng.pick(mailboxes.empty() ? data : mailboxes)].base;
      if (!mailboxes.empty()) note("descriptor names a mailbox page");
    } else if (x < 86) {
      pg = m->pages[rng.pick(data)].base + rng.range(1, p.page_size - 1);
      note("descriptor names an unaligned page");
    } else if (x < 93) {
      pg = undeclared_page();
      note("descriptor names an undeclared page");
    } else {
      pg = huge();
    }
    w(4) = pg;
    w(5) = rng.chance(0.5) ? m->pages[rng.pick(data)].base : rng.range(0, 9);
    w(6) = rng.range(0, 9);
  }
};

}  // namespace

Case generate_ffa(Rng& rng) {
  const Profile& p = rng.chance(0.5) ? Profile::arm64() : Profile::vmsl();
  Builder b(rng, p);
  b.pages();
  b.transactions();
  b.state();
  Case c;
  c.odd = std::move(b.odd);
  c.well_formed = b.well_formed;
  c.machine = std::move(b.m);
  c.state = std::move(b.s);
  c.state.machine = c.machine.get();
  return c;
}

}  // namespace conformance
