// The NOVA generator (docs/conformance.md, "NOVA"): random 'abi nova'
// machines and kernel states for specs/nova.hvsl, and a call in r0 that is
// usually a valid encoding (r0 = sel * 256 + flags * 16 + number) with the
// capabilities and waiting ECs that make each of its outcomes likely.
//
// The states are ones the interpreter can reach, as far as the spec file's
// invariants and the checks below need: the caller runs (EC_READY); a
// pending reply's caller waits for it (EC_REPLY) and is alive; an EC in a
// semaphore's queue is EC_BLOCKED and in exactly one queue; a local EC
// without a call to handle is EC_IDLE; portals are bound to local ECs.
#include <algorithm>
#include <iterator>
#include <set>

#include <fmt/format.h>

#include "conformance.h"
#include "logic/nova.h"

namespace conformance {

using hvsl::Machine;
using hvsl::Profile;
using hvsl::Reg;
using hvsl::State;

namespace {

using hvsl::Capability;
using hvsl::CapKind;
using hvsl::NovaCall;
using hvsl::NovaEc;
using Wait = hvsl::NovaEc::Wait;
namespace perm = hvsl::perm;

constexpr Word kSel = Word(1) << hvsl::kSelShift;
constexpr Word kSelectors = 8;  // the selectors the object spaces use: 0..7

struct NovaBuilder {
  Rng& rng;
  const Profile& p;
  std::unique_ptr<Machine> m;
  State s;
  std::vector<std::string> odd;
  int n = 0;
  VmId caller = 0;
  Word number = 0;  // the call (r0 % 16)
  std::vector<Word> free_numbers;  // page numbers not used yet
  std::vector<std::size_t> code;   // page indices
  std::vector<bool> assigned;      // the VM's EC state is decided
  Word hvc = 0;

  NovaBuilder(Rng& r, const Profile& prof) : rng(r), p(prof), m(std::make_unique<Machine>()) {
    m->profile = &p;
    m->abi = hvsl::AbiKind::Nova;
  }

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
  std::size_t add_page(const std::string& name, Word number, VmId owner) {
    hvsl::PageDecl d;
    d.name = name;
    d.base = number * p.page_size;
    d.owner = owner;
    d.exclusive = true;
    d.access = hvsl::vm_bit(owner);
    m->pages.push_back(d);
    return m->pages.size() - 1;
  }
  VmId random_vm() { return VmId(rng.range(0, std::uint64_t(n) - 1)); }
  std::vector<VmId> locals() const {
    std::vector<VmId> out;
    for (VmId v = 0; v < VmId(n); ++v)
      if (m->vms[v].local) out.push_back(v);
    return out;
  }
  // A large value: the profile's largest word, or any word above a page.
  Word huge() {
    if (rng.chance(0.3)) return p.word_max;
    return rng.range(p.page_size + 2, p.word_max);
  }
  // A selector: mostly one the object spaces use, sometimes one above them,
  // rarely one near or beyond NOVA's 2^18 (as far as `limit` allows).
  Word selector(Word limit) {
    double x = rng.range(0, 99);
    if (x < 85) return rng.range(0, kSelectors - 1);
    if (x < 93) return rng.range(kSelectors, 40);
    Word top = std::min<Word>(limit, hvsl::kSelectorCount + 8);
    if (rng.chance(0.5) && top >= hvsl::kSelectorCount) return rng.range(hvsl::kSelectorCount - 2, top);
    return rng.range(0, limit);
  }
  // A register value: small numbers, selectors, page addresses, or anything.
  Word any_value() {
    switch (rng.irange(0, 3)) {
      case 0: return rng.range(0, 9);
      case 1: return m->pages[rng.range(0, m->pages.size() - 1)].base + (rng.chance(0.7) ? 0 : rng.range(0, 9));
      case 2: return huge();
      default: return rng.range(0, 200);
    }
  }
  // Permission bits: a random subset of the kind's (0 makes the null
  // capability), all of them, or any five bits.
  Word perms(CapKind k) {
    Word defined = perm::defined(k);
    double x = rng.range(0, 99);
    if (x < 20) return defined;
    if (x < 30) return rng.range(0, perm::kMask);
    return rng.range(0, perm::kMask) & defined;
  }
  Word object(CapKind k) {
    switch (k) {
      case CapKind::Pt:
        if (rng.chance(0.03)) {
          note("a capability naming a missing portal");
          return s.nova.portals.size() + rng.range(0, 2);
        }
        return rng.range(0, s.nova.portals.size() - 1);
      case CapKind::Sm:
        if (rng.chance(0.03)) {
          note("a capability naming a missing semaphore");
          return s.nova.sms.size() + rng.range(0, 2);
        }
        return rng.range(0, s.nova.sms.size() - 1);
      case CapKind::Null: return 0;
      case CapKind::Obj: return random_vm();  // ctrl_pd reads the space it names (see docs/conformance.md)
      default:
        if (rng.chance(0.03)) {
          note("a PD, EC or SC capability naming a missing object");
          return Word(n) + rng.range(0, 2);
        }
        return random_vm();
    }
  }
  Capability random_cap() {
    CapKind k = CapKind(rng.irange(0, hvsl::kCapKindCount - 1));
    return {k, object(k), perms(k)};
  }
  void put_cap(VmId pd, Word sel, Capability c) {
    if (c.null()) s.nova.caps[pd].erase(sel);  // as ctrl_pd leaves a revoked selector
    else s.nova.caps[pd][sel] = c;
  }
  // The capability a call needs at `sel` of the caller's space: usually of
  // the kind, with the permission bit `need` (a random mask otherwise).
  void needs(Word sel, CapKind k, Word need, double p_kind = 0.85, double p_perm = 0.75) {
    if (!rng.chance(p_kind)) return;
    Word pm = perms(k);
    pm = rng.chance(p_perm) ? pm | need : pm & ~need;
    put_cap(caller, sel, {k, object(k), pm});
  }

  // ---- the machine ----------------------------------------------------------------------

  void machine() {
    n = rng.irange(2, 4);
    caller = random_vm();
    // the call first: the machine and the kernel state are biased towards it
    double x = rng.range(0, 99);
    if (x < 8) number = rng.range(2, 5);  // create_pd/ec/sc/pt: not described by the spec
    else if (x < 12) number = rng.chance(0.5) ? 15 : 14;
    else {
      static constexpr Word described[] = {0, 0, 1, 1, 6, 7, 7, 8, 9, 10, 11, 11, 11, 12, 13};
      number = described[rng.range(0, std::size(described) - 1)];
    }
    for (Word k = 1; k < 40; ++k) free_numbers.push_back(k);
    m->vms.resize(std::size_t(n));
    bool top = rng.chance(0.03);
    for (VmId v = 0; v < VmId(n); ++v) {
      auto& vm = m->vms[v];
      vm.name = fmt::format("vm{}", v);
      vm.local = rng.chance(0.45);
      Word number = v == caller && top ? top_page() : take_number();
      if (v == caller && top) note("caller's code at the top of the address space");
      code.push_back(add_page(fmt::format("code{}", v), number, v));
      if (rng.chance(0.03)) note("a VM without a UTCB");
      else vm.utcb = add_page(fmt::format("utcb{}", v), take_number(), v);
    }
    // an IPC reply needs a caller handling a call: a local EC
    if (number == 1 && rng.chance(0.85)) m->vms[caller].local = true;
    if (locals().empty()) m->vms[random_vm()].local = true;
    auto loc = locals();
    // 1..3 portals, bound to local ECs
    int portals = rng.irange(1, 3);
    for (int k = 0; k < portals; ++k) {
      hvsl::PortalDecl d;
      d.name = fmt::format("pt{}", k);
      d.ec = rng.pick(loc);
      d.id = rng.chance(0.7) ? rng.range(0, 9) : any_value();
      m->portals.push_back(d);
    }
    // 1..3 semaphores; counters 0, small, at and just below the largest word
    int sms = rng.irange(1, 3);
    for (int k = 0; k < sms; ++k) {
      hvsl::SemaphoreDecl d;
      d.name = fmt::format("sm{}", k);
      double y = rng.range(0, 99);
      d.count = y < 35 ? 0 : y < 70 ? rng.range(1, 3) : y < 82 ? p.word_max : y < 87 ? p.word_max - 1 : any_value();
      m->semaphores.push_back(d);
    }
    m->encoding = hvsl::InstrTable(hvsl::instruction_base(p));
    hvc = m->encoding.encode(hvsl::Instr{hvsl::Op::Hvc});
    m->encoding.encode(hvsl::Instr{hvsl::Op::Halt});
  }

  // ---- the kernel state --------------------------------------------------------------------

  void kernel() {
    s.machine = m.get();
    s.vms.resize(std::size_t(n));
    for (const auto& pg : m->pages) s.pgt.push_back({pg.owner, pg.exclusive, pg.access});
    s.mem.assign(m->pages.size() * p.page_size, 0);
    s.current = caller;
    for (const auto& pt : m->portals) s.nova.portals.push_back({pt.ec, pt.id});
    for (const auto& sm : m->semaphores) s.nova.sms.push_back({sm.count, {}});
    s.nova.ecs.assign(std::size_t(n), NovaEc{});
    s.nova.caps.resize(std::size_t(n));
    // object spaces: selectors 0..7, each holding a random capability or none
    for (VmId v = 0; v < VmId(n); ++v)
      for (Word sel = 0; sel < kSelectors; ++sel)
        if (rng.chance(0.6)) put_cap(v, sel, random_cap());
    for (VmId v = 0; v < VmId(n); ++v)
      if (v != caller && rng.chance(0.12)) {
        s.vms[v].mode = rng.chance(0.5) ? hvsl::Mode::Halt : hvsl::Mode::Fail;
        note("another VM not running");
      }
    waits();
  }

  bool alive(VmId v) const { return s.vms[v].mode == hvsl::Mode::Exec; }
  std::vector<VmId> unassigned(VmId except) const {
    std::vector<VmId> out;
    for (VmId v = 0; v < VmId(n); ++v)
      if (!assigned[v] && v != except) out.push_back(v);
    return out;
  }
  // `v` handles a call: its caller is an unassigned VM, alive, which waits
  // for the reply (and, if it is local, itself handles a call, and so on).
  void handles_call(VmId v) {
    auto cs = unassigned(v);
    std::erase_if(cs, [&](VmId c) { return !alive(c); });
    if (cs.empty()) return;
    VmId c = rng.pick(cs);
    s.nova.ecs[v].partner = c;
    s.nova.ecs[c].wait = Wait::Reply;
    assigned[c] = true;
    if (m->vms[c].local) handles_call(c);
  }

  // What each EC waits for, consistently: the caller runs; pending calls'
  // callers wait for the reply; local ECs without a call are idle; the rest
  // are ready, blocked in a semaphore's queue or wait for a busy callee.
  void waits() {
    assigned.assign(std::size_t(n), false);
    assigned[caller] = true;  // runs: EC_READY
    if (m->vms[caller].local && rng.chance(number == 1 ? 0.95 : 0.7)) handles_call(caller);
    else if (m->vms[caller].local) note("a local caller without a call to reply to");
    std::vector<VmId> blocked;
    for (VmId v = 0; v < VmId(n); ++v) {
      if (assigned[v]) continue;
      assigned[v] = true;
      auto& e = s.nova.ecs[v];
      if (m->vms[v].local && rng.chance(0.5)) {
        e.wait = Wait::Idle;
        continue;
      }
      if (m->vms[v].local) handles_call(v);
      if (!alive(v)) continue;  // a handler that halted mid-call: its caller waits for good
      double x = rng.range(0, 99);
      if (x < 40) {
        e.wait = Wait::None;  // ready
      } else if (x < 75) {
        e.wait = Wait::Semaphore;
        blocked.push_back(v);
      } else {
        e.wait = Wait::Callee;
        e.callee = rng.pick(locals());
      }
    }
    std::shuffle(blocked.begin(), blocked.end(), rng.g);
    for (VmId v : blocked) s.nova.sms[rng.range(0, s.nova.sms.size() - 1)].queue.push_back(v);
  }

  // ---- registers, memory and the call --------------------------------------------------------

  void registers() {
    hvsl::PageIndex index(*m);
    auto put = [&](Word addr, Word value) {
      if (auto i = index.find(addr)) s.word(*i, addr % p.page_size) = value;
    };
    for (VmId v = 0; v < VmId(n); ++v) {
      auto& vm = s.vms[v];
      for (Reg r = 0; r < hvsl::kGeneralRegs; ++r) vm.regs[r] = rng.chance(0.5) ? rng.range(0, 20) : any_value();
      vm.regs[hvsl::kNz] = rng.range(0, 2);
      Word base = m->pages[code[v]].base;
      Word off = rng.chance(0.95) ? rng.range(0, 50) : p.page_size - 1;
      if (base / p.page_size == top_page()) off = p.page_size - 1;  // pc = the largest word
      vm.pc() = base + off;
    }
    if (s.vms[caller].pc() == p.word_max) note("the caller's pc is the largest word");
    // UTCB words (and a few in the code pages)
    for (std::size_t i = 0; i < m->pages.size(); ++i)
      for (Word k = 0; k < 4; ++k)
        if (rng.chance(0.7)) s.word(i, k) = rng.chance(0.6) ? rng.range(0, 99) : any_value();
    for (VmId v = 0; v < VmId(n); ++v) put(s.vms[v].pc(), hvc);
  }

  // mtd: 1 or 2 words mostly (mtd % 512 < 2), sometimes more
  Word mtd() {
    double x = rng.range(0, 99);
    if (x < 40) return 0;
    if (x < 75) return 1;
    if (x < 85) return rng.range(2, 5);
    if (x < 93) return 512 + rng.range(0, 2);
    return any_value();
  }

  void call() {
    auto& r = s.vms[caller].regs;
    Word limit = p.word_max / kSel;  // the largest selector r0 can hold
    Word sel = selector(limit);
    Word flags = rng.chance(0.92) ? rng.range(0, 3) : rng.range(4, 15);
    if (flags > 3) note("r0 flags above 3");
    for (Reg k = 1; k <= 4; ++k) r[k] = rng.chance(0.6) ? rng.range(0, kSelectors - 1) : any_value();
    if (number < Word(hvsl::kNovaCallCount)) switch (NovaCall(number)) {
      case NovaCall::IpcCall: {
        r[1] = mtd();
        needs(sel, CapKind::Pt, perm::PtCall, 0.9, 0.85);
        break;
      }
      case NovaCall::IpcReply: r[1] = mtd(); break;
      case NovaCall::CreateSm: {
        r[1] = rng.chance(0.9) ? rng.range(0, kSelectors - 1) : selector(p.word_max);
        Word need = perm::PdSm;
        if (r[1] < kSelectors && rng.chance(0.8)) {
          Word pm = perms(CapKind::Pd) | (rng.chance(0.85) ? need : 0);
          put_cap(caller, r[1], {CapKind::Pd, object(CapKind::Pd), pm});
        }
        if (sel < kSelectors && rng.chance(0.5)) s.nova.caps[caller].erase(sel);  // an empty selector
        double x = rng.range(0, 99);
        r[2] = x < 40 ? rng.range(0, 3) : x < 55 ? p.word_max : any_value();
        break;
      }
      case NovaCall::CtrlPd: {
        needs(sel, CapKind::Obj, perm::ObjTake, 0.9, 0.85);
        r[1] = rng.chance(0.9) ? rng.range(0, kSelectors - 1) : selector(p.word_max);
        if (r[1] < kSelectors && rng.chance(0.85)) {
          Word pm = perms(CapKind::Obj) | (rng.chance(0.85) ? perm::ObjGrant : 0);
          put_cap(caller, r[1], {CapKind::Obj, object(CapKind::Obj), pm});
        }
        // r2 = ssb * 4096 + ord, r3 = dsb * 4096 + pmm
        Word big = p.word_max / 4096;
        auto base = [&] {
          if (rng.chance(0.9)) return rng.range(0, kSelectors - 1);
          if (big >= hvsl::kSelectorCount && rng.chance(0.7)) return rng.range(hvsl::kSelectorCount - 1, big);
          return rng.range(0, big);
        };
        Word ord = rng.chance(0.9) ? 0 : rng.range(1, 4095);
        if (ord) note("ctrl_pd with an order above 0");
        r[2] = base() * 4096 + ord;
        double x = rng.range(0, 99);
        Word pmm = x < 85 ? rng.range(0, 31) : x < 92 ? rng.range(0, 31) | 32 : rng.range(32, 4095);
        r[3] = base() * 4096 + pmm;
        break;
      }
      case NovaCall::CtrlEc: needs(sel, CapKind::Ec, perm::EcCtrl); break;
      case NovaCall::CtrlSc: needs(sel, CapKind::Sc, perm::ScCtrl); break;
      case NovaCall::CtrlPt:
        needs(sel, CapKind::Pt, perm::PtCtrl);
        r[1] = rng.chance(0.7) ? rng.range(0, 99) : any_value();
        break;
      case NovaCall::CtrlSm: {
        needs(sel, CapKind::Sm, flags & 1 ? perm::SmDn : perm::SmUp, 0.9, 0.85);
        r[1] = rng.chance(0.5) ? 0 : rng.chance(0.7) ? rng.range(1, 9) : any_value();
        // an up that releases an EC needs one in the queue of the semaphore
        Capability c = s.nova.caps[caller].count(sel) ? s.nova.caps[caller].at(sel) : Capability{};
        if (!(flags & 1) && c.kind == CapKind::Sm && c.obj < s.nova.sms.size() && rng.chance(0.3)) {
          auto& sm = s.nova.sms[c.obj];
          for (VmId v = 0; v < VmId(n); ++v)
            if (v != caller && alive(v) && s.nova.ecs[v].wait == Wait::None && !s.nova.ecs[v].partner &&
                !m->vms[v].local && rng.chance(0.7)) {
              s.nova.ecs[v].wait = Wait::Semaphore;
              sm.queue.push_back(v);
            }
        }
        break;
      }
      case NovaCall::AssignInt:
        needs(sel, CapKind::Sm, perm::SmAssign);
        r[1] = rng.chance(0.6) ? 0 : rng.chance(0.5) ? rng.range(1, 3) : any_value();
        break;
      default: break;
    }
    r[0] = sel * kSel + flags * 16 + number;
  }
};

}  // namespace

Case generate_nova(Rng& rng) {
  const Profile& p = rng.chance(0.5) ? Profile::arm64() : Profile::vmsl();
  NovaBuilder b(rng, p);
  b.machine();
  b.kernel();
  b.registers();
  b.call();
  Case c;
  c.odd = std::move(b.odd);
  c.well_formed = true;  // no odd feature breaks the spec file's invariants
  c.machine = std::move(b.m);
  c.state = std::move(b.s);
  c.state.machine = c.machine.get();
  return c;
}

}  // namespace conformance
