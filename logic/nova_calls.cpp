#include "logic/nova_calls.h"

#include <utility>

namespace hvsl {
namespace {

using Wait = NovaEc::Wait;
using St = NovaStatus;

// One NOVA call by EC `caller`, with the helpers every call shares.
class Call {
 public:
  explicit Call(State& s)
      : s_(s),
        p_(s.profile()),
        caller_(s.current),
        vm_(s.vms[caller_]),
        number_(vm_.regs[0] % 16),
        flags_(vm_.regs[0] / 16 % 16),
        sel_(vm_.regs[0] / 256) {}

  void dispatch() {
    if (number_ >= Word(kNovaCallCount)) return status(St::BadHyp);  // 0xf: reserved
    switch (NovaCall(number_)) {
      case NovaCall::IpcCall: return ipc_call();
      case NovaCall::IpcReply: return ipc_reply();
      case NovaCall::CreatePd: return create_pd();
      case NovaCall::CreateEc: return create_ec();
      case NovaCall::CreateSc: return create_sc();
      case NovaCall::CreatePt: return create_pt();
      case NovaCall::CreateSm: return create_sm();
      case NovaCall::CtrlPd: return ctrl_pd();
      case NovaCall::CtrlEc: return ctrl_ec();
      case NovaCall::CtrlSc: return ctrl_sc();
      case NovaCall::CtrlPt: return ctrl_pt();
      case NovaCall::CtrlSm: return ctrl_sm();
      case NovaCall::CtrlHw: return ctrl_hw();
      case NovaCall::AssignInt: return assign_int();
      case NovaCall::AssignDev: return assign_dev();
    }
  }

 private:
  State& s_;
  const Profile& p_;
  VmId caller_;
  VmState& vm_;
  Word number_, flags_, sel_;

  Word& reg(Reg r) { return vm_.regs[r]; }
  NovaEc& ec(VmId v) { return s_.nova.ecs[v]; }
  const VmDecl& decl(VmId v) const { return s_.machine->vms[v]; }
  bool is_root() const { return caller_ == 0; }
  bool dead(VmId v) const { return s_.vms[v].mode != Mode::Exec; }
  void advance() { vm_.pc() = p_.add(vm_.pc(), 1); }
  void status(St st) {
    reg(0) = Word(st);
    advance();
  }

  // The capability at `sel` in the caller's object space (null if none).
  Capability lookup(Word sel) const {
    const auto& space = s_.nova.caps[caller_];
    auto it = space.find(sel);
    return it == space.end() ? Capability{} : it->second;
  }
  // The capability at `sel` if it is of kind `k` and has every bit of `perms`.
  std::optional<Capability> with(Word sel, CapKind k, Word perms) const {
    Capability c = lookup(sel);
    if (c.null() || c.kind != k || (c.perms & perms) != perms) return std::nullopt;
    return c;
  }

  // A fresh kernel object id: after the VMs, one per created object. Every
  // id gets an (empty) object space so that s.nova.caps stays indexed by id.
  Word fresh() {
    Word id = s_.machine->vms.size() + s_.nova.created++;
    if (s_.nova.caps.size() <= id) s_.nova.caps.resize(id + 1);
    return id;
  }
  // create_*: the destination selector must exist and be empty.
  bool sel_free() const { return sel_ < kSelectorCount && lookup(sel_).null(); }
  void install(Capability c) {
    s_.nova.caps[caller_][sel_] = c;
    status(St::Success);
  }

  // Copies mtd % 512 + 1 words from the start of one UTCB to another.
  void copy_utcb(VmId from, VmId to, Word mtd) {
    const auto& a = decl(from).utcb;
    const auto& b = decl(to).utcb;
    if (!a || !b) return;
    Word n = mtd % kUtcbWords + 1;
    for (Word i = 0; i < n; ++i) s_.word(*b, i) = s_.word(*a, i);
  }

  void ipc_call() {
    auto c = with(sel_, CapKind::Pt, perm::PtCall);
    if (!c || c->obj >= s_.nova.portals.size()) return status(St::BadCap);
    const NovaPortal& pt = s_.nova.portals[c->obj];
    VmId callee = pt.ec;
    // NOVA's order: a dead callee aborts the call and a busy one times it
    // out (or makes the caller wait), before any message is copied.
    if (dead(callee)) return status(St::Aborted);
    if (ec(callee).wait != Wait::Idle) {
      if (flags_ & kCallNoWait) return status(St::Timeout);
      // Wait for the callee; the pc stays on the hvc, which runs again when
      // the scheduler picks this EC (once the callee is idle or dead).
      ec(caller_).wait = Wait::Callee;
      ec(caller_).callee = callee;
      return nova_schedule(s_);
    }
    // The rendezvous copies the message: both ECs need a UTCB (in NOVA every
    // host EC has one; an hvsl VM may be declared without).
    if (!decl(caller_).utcb || !decl(callee).utcb) return status(St::BadPar);
    Word mtd = reg(1);
    copy_utcb(caller_, callee, mtd);
    auto& r = s_.vms[callee].regs;
    r[0] = pt.id;
    r[1] = mtd;
    ec(callee).wait = Wait::None;
    ec(callee).partner = caller_;
    // hvsl writes SUCCESS to r0 now (NOVA leaves the caller's r0 alone on
    // this path); r1 gets the reply's mtd later.
    status(St::Success);
    ec(caller_).wait = Wait::Reply;
    s_.current = callee;  // it continues at its own pc
  }

  void ipc_reply() {
    std::optional<VmId> p = ec(caller_).partner;
    ec(caller_).partner.reset();
    bool replied = p && ec(*p).wait == Wait::Reply;
    if (replied) {
      Word mtd = reg(1);
      copy_utcb(caller_, *p, mtd);
      s_.vms[*p].regs[1] = mtd;
      ec(*p).wait = Wait::None;
    }
    // The caller's r0 is left alone: it gets the portal id with the next call.
    advance();
    ec(caller_).wait = Wait::Idle;
    if (replied) s_.current = *p;
    else nova_schedule(s_);
  }

  // The PD capability in r1 with permission `need`.
  std::optional<Capability> pd(Word need) { return with(reg(1), CapKind::Pd, need); }

  void create_pd() {
    auto c = pd(perm::PdPd);
    if (!c) return status(St::BadCap);
    Word op = flags_;
    if (op > 6) return status(St::BadPar);
    if (op >= 2) return status(St::BadFtr);  // HST, GST, DMA, PIO, MSR: no memory or I/O spaces
    if (!sel_free()) return status(St::BadCap);
    if (op == 0) return install({CapKind::Pd, fresh(), c->perms});
    install({CapKind::Obj, fresh(), perm::ObjGrant | perm::ObjTake});
  }

  void create_ec() {
    if (!pd(perm::PdEc)) return status(St::BadCap);
    if (reg(2) % 4096 != 0) return status(St::BadCpu);
    if (!sel_free()) return status(St::BadCap);
    install({CapKind::Ec, fresh(), perm::EcCtrl | perm::EcBindPt | perm::EcBindSc});
  }

  void create_sc() {
    if (!pd(perm::PdSc)) return status(St::BadCap);
    auto e = with(reg(2), CapKind::Ec, perm::EcBindSc);
    // Created ECs are not local.
    if (!e || (e->obj < s_.machine->vms.size() && decl(VmId(e->obj)).local)) return status(St::BadCap);
    Word scd = reg(3);
    Word budget = scd % 65536, prio = scd / 65536 % 128;
    if (budget == 0 || prio == 0) return status(St::BadPar);
    if (!sel_free()) return status(St::BadCap);
    install({CapKind::Sc, fresh(), perm::ScCtrl});
  }

  void create_pt() {
    if (!pd(perm::PdPt)) return status(St::BadCap);
    auto e = with(reg(2), CapKind::Ec, perm::EcBindPt);
    // Only a declared local EC can handle calls (created ECs hold no code).
    if (!e || e->obj >= s_.machine->vms.size() || !decl(VmId(e->obj)).local) return status(St::BadCap);
    if (!sel_free()) return status(St::BadCap);  // r3 (ip) is ignored: a handler runs from its own pc
    s_.nova.portals.push_back({VmId(e->obj), 0});
    install({CapKind::Pt, s_.nova.portals.size() - 1, perm::PtCtrl | perm::PtCall | perm::PtEvent});
  }

  void create_sm() {
    if (!pd(perm::PdSm)) return status(St::BadCap);
    if (!sel_free()) return status(St::BadCap);
    s_.nova.sms.push_back({reg(2), {}});
    install({CapKind::Sm, s_.nova.sms.size() - 1, perm::SmUp | perm::SmDn});
  }

  // Delegates 2^ord capabilities from src[ssb..] to dst[dsb..], masking
  // their permissions with pmm; the source keeps its capabilities.
  void ctrl_pd() {
    auto src = with(sel_, CapKind::Obj, perm::ObjTake);
    auto dst = with(reg(1), CapKind::Obj, perm::ObjGrant);
    if (!src || !dst || src->obj >= s_.nova.caps.size() || dst->obj >= s_.nova.caps.size())
      return status(St::BadCap);
    Word ord = reg(2) % 4096, ssb = reg(2) / 4096;
    Word pmm = reg(3) % 4096, dsb = reg(3) / 4096;
    if (ord > 18 || pmm >= 32) return status(St::BadPar);
    Word count = Word(1) << ord;
    if (ssb % count != 0 || dsb % count != 0 || ssb > kSelectorCount - count || dsb > kSelectorCount - count)
      return status(St::BadPar);
    // Read the whole source range before writing: src and dst may be one space.
    const auto& from = s_.nova.caps[src->obj];
    std::vector<std::pair<Word, Capability>> copies;
    for (auto it = from.lower_bound(ssb); it != from.end() && it->first < ssb + count; ++it) {
      const Capability& c = it->second;
      if (!c.null() && (c.perms & pmm) != 0) copies.push_back({dsb + (it->first - ssb), {c.kind, c.obj, c.perms & pmm}});
    }
    auto& to = s_.nova.caps[dst->obj];
    to.erase(to.lower_bound(dsb), to.lower_bound(dsb + count));
    for (const auto& [sel, c] : copies) to[sel] = c;
    status(St::Success);
  }

  // Recall has no effect: hvsl has no events.
  void ctrl_ec() { status(with(sel_, CapKind::Ec, perm::EcCtrl) ? St::Success : St::BadCap); }

  void ctrl_sc() {
    if (!with(sel_, CapKind::Sc, perm::ScCtrl)) return status(St::BadCap);
    reg(1) = 0;  // consumed time: hvsl has no clock
    status(St::Success);
  }

  void ctrl_pt() {
    auto c = with(sel_, CapKind::Pt, perm::PtCtrl);
    if (!c || c->obj >= s_.nova.portals.size()) return status(St::BadCap);
    s_.nova.portals[c->obj].id = reg(1);  // r2 (the mtd for event delivery) is ignored: no events
    status(St::Success);
  }

  void ctrl_sm() {
    bool down = flags_ & kSmDown, zero = flags_ & kSmZero;
    auto c = with(sel_, CapKind::Sm, down ? perm::SmDn : perm::SmUp);
    if (!c || c->obj >= s_.nova.sms.size()) return status(St::BadCap);
    NovaSemaphore& sm = s_.nova.sms[c->obj];
    if (!down) {
      if (!sm.queue.empty()) {
        VmId head = sm.queue.front();
        sm.queue.erase(sm.queue.begin());
        ec(head).wait = Wait::None;
        s_.vms[head].regs[0] = Word(St::Success);
        return status(St::Success);
      }
      if (sm.counter == p_.word_max) return status(St::Ovrflow);
      ++sm.counter;
      return status(St::Success);
    }
    if (sm.counter > 0) {
      sm.counter = zero ? 0 : sm.counter - 1;
      return status(St::Success);
    }
    // hvsl has no clock: a deadline (r1 != 0) is taken as already passed.
    if (reg(1) != 0) return status(St::Timeout);
    sm.queue.push_back(caller_);
    ec(caller_).wait = Wait::Semaphore;
    advance();  // r0 becomes SUCCESS when an up releases the EC
    nova_schedule(s_);
  }

  // No hardware is modelled.
  void ctrl_hw() { status(is_root() ? St::BadFtr : St::BadHyp); }

  void assign_int() {
    if (!with(sel_, CapKind::Sm, perm::SmAssign)) return status(St::BadCap);
    if (reg(1) != 0) return status(St::BadCpu);
    reg(1) = reg(2) = 0;  // no MSI address or data: no interrupts are modelled
    status(St::Success);
  }

  // No DMA spaces are modelled, so no capability can name one.
  void assign_dev() { status(is_root() ? St::BadCap : St::BadHyp); }
};

}  // namespace

bool nova_ready(const State& s, VmId v) {
  if (s.vms[v].mode != Mode::Exec) return false;
  const NovaEc& e = s.nova.ecs[v];
  if (e.wait == Wait::None) return true;
  if (e.wait != Wait::Callee) return false;
  return s.vms[e.callee].mode != Mode::Exec || s.nova.ecs[e.callee].wait == Wait::Idle;
}

void nova_schedule(State& s) {
  VmId n = VmId(s.vms.size());
  for (VmId k = 1; k <= n; ++k) {
    VmId v = (s.current + k) % n;
    if (!nova_ready(s, v)) continue;
    if (s.nova.ecs[v].wait == Wait::Callee) s.nova.ecs[v].wait = Wait::None;  // it retries its ipc_call
    s.current = v;
    return;
  }
}

void exec_nova_call(State& s, const PageIndex&) { Call(s).dispatch(); }

void nova_enter_as_called(State& s, VmId v, VmId caller) {
  if (s.machine->abi != AbiKind::Nova || v >= s.nova.ecs.size() || s.nova.ecs[v].wait != NovaEc::Wait::Idle) return;
  s.nova.ecs[v].wait = NovaEc::Wait::None;
  if (caller == v || caller >= s.nova.ecs.size()) return;
  s.nova.ecs[v].partner = caller;
  s.nova.ecs[caller].wait = NovaEc::Wait::Reply;
}

bool nova_install(State& s, const std::string& resource, const std::vector<Word>& keys,
                  const std::vector<Word>& values) {
  if (s.machine->abi != AbiKind::Nova) return false;
  if (resource == "sm" && keys[0] < s.nova.sms.size()) {
    s.nova.sms[keys[0]].counter = values[0];
    return true;
  }
  if (resource == "cap" && keys[0] < s.nova.caps.size() && values[0] < Word(kCapKindCount)) {
    Capability c{CapKind(values[0]), values[1], values[2]};
    if (c.null()) s.nova.caps[keys[0]].erase(keys[1]);
    else s.nova.caps[keys[0]][keys[1]] = c;
    return true;
  }
  return false;
}

}  // namespace hvsl
