// The NOVA-style hypercalls (logic/nova_calls.h) on hand-built machines with
// abi nova: every call, every status, IPC with its UTCB copies, semaphores,
// and how control passes between ECs (halt, blocking, deadlock).
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "logic/interpreter.h"
#include "logic/machine.h"
#include "logic/nova.h"
#include "logic/nova_calls.h"
#include "logic/state.h"

using namespace hvsl;

namespace {

using Wait = NovaEc::Wait;
using St = NovaStatus;

Instr mov(Reg r, Word imm) { return {Op::MovImm, r, 0, imm}; }
Instr add(Reg a, Reg b) { return {Op::Add, a, b, 0}; }
Instr str(Reg a, Reg b) { return {Op::Str, a, b, 0}; }  // mem[b] := a
Instr br(Reg a) { return {Op::Br, a, 0, 0}; }
Instr hvc() { return {Op::Hvc}; }
Instr halt() { return {Op::Halt}; }
Instr fail() { return {Op::Fail}; }

// r0 for a NOVA call: sel * 256 + flags * 16 + number.
Word op(NovaCall c, Word sel = 0, Word flags = 0) { return sel * 256 + flags * 16 + Word(c); }
Word st(St s) { return Word(s); }
constexpr Word kAllPd = perm::PdPd | perm::PdEc | perm::PdSc | perm::PdPt | perm::PdSm;

struct VmOpts {
  bool local = false;
  bool utcb = true;
  std::map<Reg, Word> regs;
};
const VmOpts kLocal{true, true, {}};

// A machine built by hand: VM v has its code page at (2v+1) pages and its
// UTCB page at (2v+2) pages; start() encodes the programs and builds the
// initial state and the interpreter.
class NovaSim {
 public:
  explicit NovaSim(const Profile& p = Profile::vmsl(), AbiKind abi = AbiKind::Nova)
      : m_(std::make_unique<Machine>()) {
    m_->profile = &p;
    m_->abi = abi;
  }

  VmId vm(std::vector<Instr> code, VmOpts o = {}) {
    VmId v = VmId(m_->vms.size());
    VmDecl d;
    d.name = "vm" + std::to_string(v);
    d.local = o.local;
    d.regs = o.regs;
    add_page(d.name + "_code", code_base(v), v);
    CodeBlock cb;
    cb.base = code_base(v);
    cb.locs.resize(code.size());
    cb.instrs = std::move(code);
    d.code = std::move(cb);
    if (o.utcb) {
      d.utcb = m_->pages.size();
      add_page(d.name + "_utcb", utcb_base(v), v);
    }
    m_->vms.push_back(std::move(d));
    return v;
  }
  void cap(VmId v, Word sel, CapKind k, Word obj, Word perms) {
    m_->vms[v].caps[sel] = CapDecl{Capability{k, obj, perms}, {}};
  }
  Word portal(VmId ec, Word id = 0) {
    m_->portals.push_back(PortalDecl{"pt" + std::to_string(m_->portals.size()), ec, id, {}});
    return m_->portals.size() - 1;
  }
  Word sm(Word count) {
    m_->semaphores.push_back(SemaphoreDecl{"sm" + std::to_string(m_->semaphores.size()), count, {}});
    return m_->semaphores.size() - 1;
  }
  void start() {
    m_->encode_programs();
    in_ = std::make_unique<Interpreter>(initial_state(*m_));
  }

  Word page_size() const { return m_->profile->page_size; }
  Word code_base(VmId v) const { return (2 * Word(v) + 1) * page_size(); }
  Word utcb_base(VmId v) const { return (2 * Word(v) + 2) * page_size(); }

  Interpreter& in() { return *in_; }
  State& s() { return in_->state(); }
  bool running() { return in_->running(); }
  void step(int n = 1) {
    for (int k = 0; k < n; ++k) {
      REQUIRE(in_->running());
      in_->step();
    }
  }
  RunResult run() {
    auto r = in_->run(10'000);
    REQUIRE(r.reason == StopReason::Terminated);
    return r;
  }
  VmId current() { return s().current; }
  Word& reg(VmId v, Reg r) { return s().vms[v].regs[r]; }
  Word pc(VmId v) { return s().vms[v].pc(); }
  Mode mode(VmId v) { return s().vms[v].mode; }
  NovaEc& ec(VmId v) { return s().nova.ecs[v]; }
  Word& utcb(VmId v, Word i) { return s().word(*m_->vms[v].utcb, i); }
  std::map<Word, Capability>& caps(Word pd) { return s().nova.caps.at(pd); }
  Capability cap_at(Word pd, Word sel) {
    auto it = caps(pd).find(sel);
    return it == caps(pd).end() ? Capability{} : it->second;
  }

  // Runs vm0's hvc at its code start again with the given registers.
  Word again(std::map<Reg, Word> regs) {
    for (auto [r, w] : regs) reg(0, r) = w;
    s().vms[0].pc() = code_base(0);
    s().current = 0;
    step();
    CHECK(pc(0) == code_base(0) + 1);
    return reg(0, 0);
  }

 private:
  std::unique_ptr<Machine> m_;
  std::unique_ptr<Interpreter> in_;

  void add_page(const std::string& name, Word base, VmId owner) {
    PageDecl p;
    p.name = name;
    p.base = base;
    p.owner = owner;
    p.exclusive = true;
    p.access = vm_bit(owner);
    m_->pages.push_back(p);
  }
};

// vm0 (the root PD, global) runs `hvc; halt` with `regs`; vm1 is global and
// vm2 local, both `halt`. Root capabilities: sel 1 a PD cap to itself with
// every permission, sel 2 its own object space (GRANT|TAKE).
NovaSim root(std::map<Reg, Word> regs, const Profile& p = Profile::vmsl()) {
  NovaSim sim(p);
  sim.vm({hvc(), halt()}, {false, true, regs});
  sim.vm({halt()});
  sim.vm({halt()}, kLocal);
  sim.cap(0, 1, CapKind::Pd, 0, kAllPd);
  sim.cap(0, 2, CapKind::Obj, 0, perm::ObjGrant | perm::ObjTake);
  return sim;
}

// Starts `sim` and runs vm0's hvc; returns its r0 (the status) and checks
// that the pc moved past the hvc.
Word once(NovaSim& sim) {
  sim.start();
  sim.step();
  CHECK(sim.pc(0) == sim.code_base(0) + 1);
  return sim.reg(0, 0);
}

// vm0 halts at once, so vm1 (global, not the root) runs `hvc; halt` with `regs`.
NovaSim non_root(std::map<Reg, Word> regs) {
  NovaSim sim;
  sim.vm({halt()});
  sim.vm({hvc(), halt()}, {false, true, regs});
  return sim;
}
Word once_vm1(NovaSim& sim) {
  sim.start();
  sim.step();
  REQUIRE(sim.current() == 1);
  sim.step();
  CHECK(sim.pc(1) == sim.code_base(1) + 1);
  return sim.reg(1, 0);
}

}  // namespace

// ---- Encoding and dispatch ------------------------------------------------

TEST_CASE("nova: number 15 is BAD_HYP; the status is the whole r0") {
  NovaSim sim = root({{0, op(NovaCall(15), 3, 5)}, {1, 9}});
  CHECK(once(sim) == st(St::BadHyp));
  CHECK(sim.reg(0, 1) == 9);
  CHECK(sim.current() == 0);
  CHECK(sim.running());
}

TEST_CASE("nova: flags and selector are decoded from r0") {
  // ctrl_sm with selector 4 and flag D: a down on semaphore 0.
  NovaSim sim = root({{0, op(NovaCall::CtrlSm, 4, kSmDown)}});
  sim.sm(3);
  sim.cap(0, 4, CapKind::Sm, 0, perm::SmDn);
  CHECK(once(sim) == st(St::Success));
  CHECK(sim.s().nova.sms[0].counter == 2);
}

// ---- ipc_call ---------------------------------------------------------------

namespace {
// vm0 calls portal 0 (selector 5, id 42) of the local vm1; vm1 `halt`s.
NovaSim caller_and_handler(std::map<Reg, Word> regs, Word perms = perm::PtCall, bool utcb0 = true,
                           bool utcb1 = true) {
  NovaSim sim;
  sim.vm({hvc(), halt()}, {false, utcb0, regs});
  sim.vm({halt()}, VmOpts{true, utcb1, {}});
  sim.portal(1, 42);
  sim.cap(0, 5, CapKind::Pt, 0, perms);
  return sim;
}
}  // namespace

TEST_CASE("nova ipc_call: BAD_CAP") {
  SUBCASE("null selector") {
    NovaSim sim = caller_and_handler({{0, op(NovaCall::IpcCall, 6)}});
    CHECK(once(sim) == st(St::BadCap));
  }
  SUBCASE("wrong kind") {
    NovaSim sim = caller_and_handler({{0, op(NovaCall::IpcCall, 6)}});
    sim.sm(0);
    sim.cap(0, 6, CapKind::Sm, 0, perm::kMask);
    CHECK(once(sim) == st(St::BadCap));
  }
  SUBCASE("portal without CALL") {
    NovaSim sim = caller_and_handler({{0, op(NovaCall::IpcCall, 5)}}, perm::PtCtrl | perm::PtEvent);
    CHECK(once(sim) == st(St::BadCap));
  }
  SUBCASE("a declared capability with no permissions is null") {
    NovaSim sim = caller_and_handler({{0, op(NovaCall::IpcCall, 5)}}, 0);
    CHECK(once(sim) == st(St::BadCap));
  }
  NovaSim sim = caller_and_handler({{0, op(NovaCall::IpcCall, 6)}});
  once(sim);
  CHECK(sim.current() == 0);
  CHECK(sim.ec(0).wait == Wait::None);
  CHECK(sim.ec(1).wait == Wait::Idle);
}

TEST_CASE("nova ipc_call: BAD_PAR without a UTCB on either side") {
  SUBCASE("caller") {
    NovaSim sim = caller_and_handler({{0, op(NovaCall::IpcCall, 5)}}, perm::PtCall, false, true);
    CHECK(once(sim) == st(St::BadPar));
  }
  SUBCASE("callee") {
    NovaSim sim = caller_and_handler({{0, op(NovaCall::IpcCall, 5)}}, perm::PtCall, true, false);
    CHECK(once(sim) == st(St::BadPar));
    CHECK(sim.ec(1).wait == Wait::Idle);
  }
}

// NOVA's order: the rendezvous (ABORTED for a dead callee, TIMEOUT for a
// busy one with T) comes before the copy that needs the UTCBs.
TEST_CASE("nova ipc_call: without a UTCB, a dead or busy callee still gives ABORTED or TIMEOUT") {
  SUBCASE("a dead callee, the caller without a UTCB") {
    NovaSim sim = caller_and_handler({{0, op(NovaCall::IpcCall, 5)}}, perm::PtCall, false, true);
    sim.start();
    sim.s().vms[1].mode = Mode::Halt;
    sim.step();
    CHECK(sim.reg(0, 0) == st(St::Aborted));
  }
  SUBCASE("a busy callee without a UTCB, CALL_NOWAIT") {
    NovaSim sim = caller_and_handler({{0, op(NovaCall::IpcCall, 5, kCallNoWait)}}, perm::PtCall,
                                     true, false);
    sim.start();
    sim.s().nova.ecs[1].wait = Wait::Reply;
    sim.step();
    CHECK(sim.reg(0, 0) == st(St::Timeout));
    CHECK(sim.current() == 0);
  }
}

TEST_CASE("nova ipc_call: success copies mtd % 512 + 1 words and passes control to the callee") {
  NovaSim sim = caller_and_handler({{0, op(NovaCall::IpcCall, 5)}, {1, 2}});
  sim.start();
  for (Word i = 0; i < 4; ++i) sim.utcb(0, i) = 10 + i;
  sim.utcb(1, 3) = 99;
  sim.step();
  CHECK(sim.current() == 1);
  CHECK(sim.utcb(1, 0) == 10);
  CHECK(sim.utcb(1, 1) == 11);
  CHECK(sim.utcb(1, 2) == 12);
  CHECK(sim.utcb(1, 3) == 99);  // 3 words only
  CHECK(sim.reg(0, 0) == st(St::Success));
  CHECK(sim.pc(0) == sim.code_base(0) + 1);
  CHECK(sim.ec(0).wait == Wait::Reply);
  CHECK(sim.reg(1, 0) == 42);  // portal id
  CHECK(sim.reg(1, 1) == 2);   // mtd
  CHECK(sim.ec(1).wait == Wait::None);
  CHECK(sim.ec(1).partner == std::optional<VmId>(0));
  CHECK(sim.pc(1) == sim.code_base(1));  // the handler starts at its code
  CHECK(sim.running());
  // The handler halts without replying: nobody is ready, the machine stops.
  sim.step();
  CHECK(sim.mode(1) == Mode::Halt);
  CHECK(sim.current() == 1);
  CHECK_FALSE(sim.running());
}

TEST_CASE("nova ipc_call: the word count") {
  struct Case {
    Word mtd, words;
  };
  for (Case c : {Case{0, 1}, Case{1, 2}, Case{511, 512}, Case{512, 1}, Case{513, 2}}) {
    CAPTURE(c.mtd);
    NovaSim sim = caller_and_handler({{0, op(NovaCall::IpcCall, 5)}, {1, c.mtd}});
    sim.start();
    for (Word i = 0; i < kUtcbWords + 1; ++i) sim.utcb(0, i) = 1000 + i;
    sim.step();
    REQUIRE(sim.current() == 1);
    CHECK(sim.reg(1, 1) == c.mtd);
    CHECK(sim.utcb(1, c.words - 1) == 1000 + c.words - 1);
    CHECK(sim.utcb(1, c.words) == 0);
  }
}

TEST_CASE("nova ipc_call: ABORTED for a dead callee") {
  SUBCASE("halted") {
    // vm0 calls vm1, whose handler halts; control passes to vm2, whose call
    // to the same portal is aborted. vm0 still waits for its reply.
    NovaSim sim;
    sim.vm({hvc(), halt()}, {false, true, {{0, op(NovaCall::IpcCall, 5)}}});
    sim.vm({halt()}, kLocal);
    sim.vm({hvc(), halt()}, {false, true, {{0, op(NovaCall::IpcCall, 5)}}});
    sim.portal(1);
    sim.cap(0, 5, CapKind::Pt, 0, perm::PtCall);
    sim.cap(2, 5, CapKind::Pt, 0, perm::PtCall);
    sim.start();
    sim.step(2);
    REQUIRE(sim.current() == 2);
    CHECK(sim.mode(1) == Mode::Halt);
    sim.step();
    CHECK(sim.reg(2, 0) == st(St::Aborted));
    CHECK(sim.pc(2) == sim.code_base(2) + 1);
    CHECK(sim.current() == 2);
    sim.step();
    CHECK_FALSE(sim.running());
    CHECK(sim.ec(0).wait == Wait::Reply);
  }
  SUBCASE("failed") {
    NovaSim sim = caller_and_handler({{0, op(NovaCall::IpcCall, 5)}});
    sim.start();
    sim.s().vms[1].mode = Mode::Fail;
    sim.step();
    CHECK(sim.reg(0, 0) == st(St::Aborted));
    CHECK(sim.current() == 0);
  }
}

namespace {
// vm0 calls vm1 (portal 0, selector 1); vm1's handler calls vm2 (portal 1,
// selector 1 in vm1's space); vm2's handler calls vm1 again with r0 = `r0_2`.
NovaSim nested(Word flags) {
  NovaSim sim;
  sim.vm({hvc(), halt()}, {false, true, {{0, op(NovaCall::IpcCall, 1)}}});
  sim.vm({mov(0, op(NovaCall::IpcCall, 1)), hvc(), halt()}, kLocal);
  sim.vm({mov(0, op(NovaCall::IpcCall, 1, flags)), hvc(), halt()}, kLocal);
  sim.portal(1);
  sim.portal(2);
  sim.cap(0, 1, CapKind::Pt, 0, perm::PtCall);
  sim.cap(1, 1, CapKind::Pt, 1, perm::PtCall);
  sim.cap(2, 1, CapKind::Pt, 0, perm::PtCall);
  sim.start();
  sim.step(3);  // vm0 calls vm1, vm1 calls vm2
  REQUIRE(sim.current() == 2);
  return sim;
}
}  // namespace

TEST_CASE("nova ipc_call: a busy callee") {
  SUBCASE("T: TIMEOUT at once") {
    NovaSim sim = nested(kCallNoWait);
    sim.step(2);
    CHECK(sim.reg(2, 0) == st(St::Timeout));
    CHECK(sim.pc(2) == sim.code_base(2) + 2);
    CHECK(sim.current() == 2);
    CHECK(sim.ec(2).wait == Wait::None);
    CHECK(sim.ec(1).wait == Wait::Reply);
  }
  SUBCASE("no T: the caller waits; nobody else is ready, so the machine stops (deadlock)") {
    NovaSim sim = nested(0);
    sim.step(2);
    CHECK(sim.ec(2).wait == Wait::Callee);
    CHECK(sim.ec(2).callee == 1);
    CHECK(sim.pc(2) == sim.code_base(2) + 1);  // still on the hvc
    CHECK(sim.reg(2, 0) == op(NovaCall::IpcCall, 1));
    CHECK(sim.current() == 2);
    CHECK_FALSE(sim.running());
    CHECK(sim.run().steps == 0);
  }
}

namespace {
// vm0 (A) calls the local vm1 (L, portal 0 at selector 1); L's handler downs
// semaphore 0 (selector 2), counts its runs in r5 and replies; vm2 (B) calls
// L too; vm3 (C) ups the semaphore, then runs `c_after` with r0 set for another up.
NovaSim wait_and_retry(Instr c_after) {
  NovaSim sim;
  sim.vm({hvc(), halt()}, {false, true, {{0, op(NovaCall::IpcCall, 1)}}});
  Word l = sim.code_base(1);
  sim.vm({mov(0, op(NovaCall::CtrlSm, 2, kSmDown)), mov(1, 0), hvc(), add(5, 6), mov(0, op(NovaCall::IpcReply)),
          mov(1, 0), hvc(), br(9)},
         {true, true, {{6, 1}, {9, l}}});
  sim.vm({hvc(), halt()}, {false, true, {{0, op(NovaCall::IpcCall, 1)}}});
  sim.vm({hvc(), mov(0, op(NovaCall::CtrlSm, 2)), c_after, halt()}, {false, true, {{0, op(NovaCall::CtrlSm, 2)}}});
  sim.portal(1);
  sim.sm(0);
  for (VmId v : {0, 2}) sim.cap(v, 1, CapKind::Pt, 0, perm::PtCall);
  for (VmId v : {1, 3}) sim.cap(v, 2, CapKind::Sm, 0, perm::SmUp | perm::SmDn);
  sim.start();
  sim.step();  // A calls L
  REQUIRE(sim.current() == 1);
  sim.step(3);  // L blocks on the semaphore
  CHECK(sim.ec(1).wait == Wait::Semaphore);
  CHECK(sim.s().nova.sms[0].queue == std::vector<VmId>{1});
  REQUIRE(sim.current() == 2);
  sim.step();  // B calls the busy L and waits
  CHECK(sim.ec(2).wait == Wait::Callee);
  CHECK(sim.ec(2).callee == 1);
  CHECK(sim.pc(2) == sim.code_base(2));
  REQUIRE(sim.current() == 3);
  sim.step();  // C releases L
  CHECK(sim.ec(1).wait == Wait::None);
  CHECK(sim.reg(1, 0) == st(St::Success));
  CHECK(sim.s().nova.sms[0].queue.empty());
  CHECK(sim.s().nova.sms[0].counter == 0);
  CHECK(sim.current() == 3);
  sim.step(2);  // C's `mov r0` and `c_after`
  return sim;
}
}  // namespace

TEST_CASE("nova ipc_call: waiting for a busy callee, then the retry") {
  NovaSim sim = wait_and_retry(hvc());
  CHECK(sim.s().nova.sms[0].counter == 1);
  sim.step();  // C halts: L is the next ready EC after C
  REQUIRE(sim.current() == 1);
  CHECK(sim.ec(2).wait == Wait::Callee);  // L is not idle yet
  sim.step(4);                            // L replies to A
  REQUIRE(sim.current() == 0);
  CHECK(sim.ec(1).wait == Wait::Idle);
  sim.step();  // A halts: B is ready now and retries its call
  REQUIRE(sim.current() == 2);
  CHECK(sim.ec(2).wait == Wait::None);
  CHECK(sim.pc(2) == sim.code_base(2));
  sim.step();
  CHECK(sim.current() == 1);
  CHECK(sim.ec(2).wait == Wait::Reply);
  CHECK(sim.reg(2, 0) == st(St::Success));
  CHECK(sim.ec(1).partner == std::optional<VmId>(2));
  sim.run();  // L's second down takes C's second up; L replies to B, B halts
  CHECK(sim.reg(1, 5) == 2);
  CHECK(sim.mode(2) == Mode::Halt);
  CHECK(sim.pc(2) == sim.code_base(2) + 2);
  CHECK(sim.s().nova.sms[0].counter == 0);
  CHECK(sim.ec(1).wait == Wait::Idle);
  CHECK_FALSE(sim.running());
}

TEST_CASE("nova ipc_call: the retry finds the callee dead: ABORTED") {
  NovaSim sim = wait_and_retry(halt());  // C halts after one up: L runs
  REQUIRE(sim.current() == 1);
  sim.s().vms[1].mode = Mode::Halt;  // as if L had halted there
  nova_schedule(sim.s());
  REQUIRE(sim.current() == 2);  // B's callee is dead: it retries
  sim.step();
  CHECK(sim.reg(2, 0) == st(St::Aborted));
  CHECK(sim.pc(2) == sim.code_base(2) + 1);
}

// ---- ipc_reply --------------------------------------------------------------

TEST_CASE("nova ipc_reply: copies back, hands control and r1 to the caller; the handler loops") {
  NovaSim sim;
  // vm0: call with mtd 1; call again with mtd 0; halt.
  sim.vm({hvc(), mov(1, 0), mov(0, op(NovaCall::IpcCall, 1)), hvc(), halt()},
         {false, true, {{0, op(NovaCall::IpcCall, 1)}, {1, 1}}});
  Word l = sim.code_base(1);
  Word u = sim.utcb_base(1);
  // vm1: handler: r5 += 1; utcb[0] := 77; reply with mtd 1; br handler.
  sim.vm({mov(9, l), add(5, 6), mov(7, u), mov(8, 77), str(8, 7), mov(0, op(NovaCall::IpcReply)), mov(1, 1), hvc(),
          br(9)},
         {true, true, {{6, 1}}});
  sim.portal(1, 8);
  sim.cap(0, 1, CapKind::Pt, 0, perm::PtCall);
  sim.start();
  sim.utcb(0, 0) = 5;
  sim.utcb(0, 1) = 6;
  sim.utcb(0, 2) = 55;
  sim.utcb(1, 2) = 66;
  sim.step();
  REQUIRE(sim.current() == 1);
  CHECK(sim.utcb(1, 0) == 5);
  CHECK(sim.utcb(1, 1) == 6);
  CHECK(sim.utcb(1, 2) == 66);
  sim.step(8);  // the handler replies
  CHECK(sim.current() == 0);
  CHECK(sim.utcb(0, 0) == 77);
  CHECK(sim.utcb(0, 1) == 6);
  CHECK(sim.utcb(0, 2) == 55);  // 2 words only
  CHECK(sim.reg(0, 1) == 1);
  CHECK(sim.reg(0, 0) == st(St::Success));
  CHECK(sim.pc(0) == sim.code_base(0) + 1);
  CHECK(sim.ec(0).wait == Wait::None);
  CHECK(sim.ec(1).wait == Wait::Idle);
  CHECK_FALSE(sim.ec(1).partner.has_value());
  CHECK(sim.pc(1) == l + 8);  // past the reply, on the `br`
  CHECK(sim.reg(1, 0) == op(NovaCall::IpcReply));  // the handler's r0 is left alone
  sim.step(3);  // the second call (mtd 0: one word in)
  REQUIRE(sim.current() == 1);
  CHECK(sim.reg(1, 0) == 8);
  CHECK(sim.reg(1, 1) == 0);
  CHECK(sim.pc(1) == l + 8);  // it continues at its own pc
  sim.run();
  CHECK(sim.reg(1, 5) == 2);
  CHECK(sim.mode(0) == Mode::Halt);
  CHECK(sim.current() == 0);
  CHECK_FALSE(sim.running());
}

TEST_CASE("nova ipc_reply without a caller: the EC waits for a call, control passes on") {
  SUBCASE("to the next ready EC") {
    NovaSim sim;
    sim.vm({hvc(), halt()}, {false, true, {{0, op(NovaCall::IpcReply)}, {1, 3}}});
    sim.vm({halt()});
    sim.start();
    sim.step();
    CHECK(sim.ec(0).wait == Wait::Idle);
    CHECK(sim.pc(0) == sim.code_base(0) + 1);
    CHECK(sim.reg(0, 0) == op(NovaCall::IpcReply));
    CHECK(sim.reg(0, 1) == 3);
    CHECK(sim.current() == 1);
    sim.step();
    CHECK_FALSE(sim.running());
  }
  SUBCASE("nobody is ready: the machine stops") {
    NovaSim sim;
    sim.vm({hvc(), halt()}, {false, true, {{0, op(NovaCall::IpcReply)}}});
    sim.vm({halt()}, kLocal);
    sim.start();
    sim.step();
    CHECK(sim.current() == 0);
    CHECK_FALSE(sim.running());
  }
}

// ---- create_* ---------------------------------------------------------------

TEST_CASE("nova create_pd") {
  SUBCASE("OP 0: a PD cap with the pd cap's permissions, to a fresh object with an empty space") {
    NovaSim sim = root({{0, op(NovaCall::CreatePd, 10, 0)}, {1, 3}});
    sim.cap(0, 3, CapKind::Pd, 0, perm::PdPd | perm::PdSm);
    CHECK(once(sim) == st(St::Success));
    CHECK(sim.cap_at(0, 10) == Capability{CapKind::Pd, 3, perm::PdPd | perm::PdSm});
    CHECK(sim.s().nova.created == 1);
    REQUIRE(sim.s().nova.caps.size() == 4);
    CHECK(sim.caps(3).empty());
  }
  SUBCASE("OP 1: an object-space cap with GRANT and TAKE") {
    NovaSim sim = root({{0, op(NovaCall::CreatePd, 10, 1)}, {1, 1}});
    CHECK(once(sim) == st(St::Success));
    CHECK(sim.cap_at(0, 10) == Capability{CapKind::Obj, 3, perm::ObjGrant | perm::ObjTake});
  }
  SUBCASE("OP 2..6: BAD_FTR; OP 7..15: BAD_PAR") {
    for (Word o = 2; o < 16; ++o) {
      CAPTURE(o);
      NovaSim sim = root({{0, op(NovaCall::CreatePd, 10, o)}, {1, 1}});
      CHECK(once(sim) == st(o <= 6 ? St::BadFtr : St::BadPar));
      CHECK(sim.caps(0).count(10) == 0);
      CHECK(sim.s().nova.created == 0);
    }
  }
  SUBCASE("BAD_CAP: the pd cap is missing, of the wrong kind or without PD") {
    for (Word sel : {Word(7), Word(2), Word(3)}) {
      CAPTURE(sel);
      NovaSim sim = root({{0, op(NovaCall::CreatePd, 10, 0)}, {1, sel}});
      sim.cap(0, 3, CapKind::Pd, 0, kAllPd & ~perm::PdPd);
      CHECK(once(sim) == st(St::BadCap));
      CHECK(sim.caps(0).count(10) == 0);
    }
  }
  SUBCASE("BAD_CAP: the selector is occupied") {
    NovaSim sim = root({{0, op(NovaCall::CreatePd, 2, 0)}, {1, 1}});
    CHECK(once(sim) == st(St::BadCap));
    CHECK(sim.cap_at(0, 2).kind == CapKind::Obj);
    CHECK(sim.s().nova.created == 0);
  }
  SUBCASE("a slot holding a capability without permissions is empty") {
    NovaSim sim = root({{0, op(NovaCall::CreatePd, 10, 0)}, {1, 1}});
    sim.cap(0, 10, CapKind::Sm, 0, 0);
    CHECK(once(sim) == st(St::Success));
    CHECK(sim.cap_at(0, 10).kind == CapKind::Pd);
  }
  SUBCASE("check order: the pd cap, then OP, then the selector") {
    NovaSim a = root({{0, op(NovaCall::CreatePd, 2, 9)}, {1, 7}});
    CHECK(once(a) == st(St::BadCap));
    NovaSim b = root({{0, op(NovaCall::CreatePd, 2, 9)}, {1, 1}});
    CHECK(once(b) == st(St::BadPar));
    NovaSim c = root({{0, op(NovaCall::CreatePd, 2, 3)}, {1, 1}});
    CHECK(once(c) == st(St::BadFtr));
  }
  SUBCASE("BAD_CAP: selector beyond the object space (arm64)") {
    NovaSim sim = root({{0, op(NovaCall::CreatePd, kSelectorCount, 0)}, {1, 1}}, Profile::arm64());
    CHECK(once(sim) == st(St::BadCap));
    NovaSim last = root({{0, op(NovaCall::CreatePd, kSelectorCount - 1, 0)}, {1, 1}}, Profile::arm64());
    CHECK(once(last) == st(St::Success));
  }
}

TEST_CASE("nova create_ec") {
  SUBCASE("success: an EC cap with CTRL, BIND_PT and BIND_SC; the hvp is ignored") {
    NovaSim sim = root({{0, op(NovaCall::CreateEc, 10)}, {1, 1}, {2, 5 * 4096}});
    CHECK(once(sim) == st(St::Success));
    CHECK(sim.cap_at(0, 10) == Capability{CapKind::Ec, 3, perm::EcCtrl | perm::EcBindPt | perm::EcBindSc});
  }
  SUBCASE("BAD_CPU") {
    NovaSim sim = root({{0, op(NovaCall::CreateEc, 10)}, {1, 1}, {2, 4096 + 1}});
    CHECK(once(sim) == st(St::BadCpu));
    CHECK(sim.caps(0).count(10) == 0);
    NovaSim occupied = root({{0, op(NovaCall::CreateEc, 2)}, {1, 1}, {2, 1}});
    CHECK(once(occupied) == st(St::BadCpu));  // parameters before the selector
  }
  SUBCASE("BAD_CAP: no PD_EC, or an occupied selector") {
    NovaSim sim = root({{0, op(NovaCall::CreateEc, 10)}, {1, 3}});
    sim.cap(0, 3, CapKind::Pd, 0, kAllPd & ~perm::PdEc);
    CHECK(once(sim) == st(St::BadCap));
    NovaSim occupied = root({{0, op(NovaCall::CreateEc, 1)}, {1, 1}});
    CHECK(once(occupied) == st(St::BadCap));
  }
  SUBCASE("fresh ids count every created object; every id has a space") {
    NovaSim sim = root({{0, op(NovaCall::CreateEc, 10)}, {1, 1}});
    CHECK(once(sim) == st(St::Success));
    CHECK(sim.again({{0, op(NovaCall::CreatePd, 11)}, {1, 1}}) == st(St::Success));
    CHECK(sim.cap_at(0, 10).obj == 3);
    CHECK(sim.cap_at(0, 11).obj == 4);
    CHECK(sim.s().nova.caps.size() == 5);
    CHECK(sim.s().nova.created == 2);
  }
}

TEST_CASE("nova create_sc") {
  Word scd = 3 * 65536 + 10;  // prio 3, budget 10
  auto sc = [&](Word ec_sel, Word scd_) {
    return root({{0, op(NovaCall::CreateSc, 10)}, {1, 1}, {2, ec_sel}, {3, scd_}});
  };
  auto ecs = [](NovaSim& sim) {
    sim.cap(0, 3, CapKind::Ec, 1, perm::EcBindSc);                  // global vm1
    sim.cap(0, 4, CapKind::Ec, 2, perm::kMask & perm::defined(CapKind::Ec));  // local vm2
    sim.cap(0, 5, CapKind::Ec, 1, perm::EcCtrl | perm::EcBindPt);  // no BIND_SC
  };
  SUBCASE("success for a global EC") {
    NovaSim sim = sc(3, scd);
    ecs(sim);
    CHECK(once(sim) == st(St::Success));
    CHECK(sim.cap_at(0, 10) == Capability{CapKind::Sc, 3, perm::ScCtrl});
  }
  SUBCASE("success for a created EC") {
    NovaSim sim = root({{0, op(NovaCall::CreateEc, 20)}, {1, 1}});
    CHECK(once(sim) == st(St::Success));
    CHECK(sim.again({{0, op(NovaCall::CreateSc, 10)}, {1, 1}, {2, 20}, {3, scd}}) == st(St::Success));
    CHECK(sim.cap_at(0, 10).obj == 4);
  }
  SUBCASE("BAD_CAP: a local EC, an EC cap without BIND_SC, no EC cap, no PD_SC") {
    for (Word e : {Word(4), Word(5), Word(6), Word(1)}) {
      CAPTURE(e);
      NovaSim sim = sc(e, scd);
      ecs(sim);
      CHECK(once(sim) == st(St::BadCap));
    }
    NovaSim sim = sc(3, scd);
    ecs(sim);
    sim.cap(0, 1, CapKind::Pd, 0, kAllPd & ~perm::PdSc);
    CHECK(once(sim) == st(St::BadCap));
  }
  SUBCASE("BAD_PAR: budget or priority 0") {
    for (Word bad : {Word(65536), Word(10), Word(0)}) {
      CAPTURE(bad);
      NovaSim sim = sc(3, bad);
      ecs(sim);
      CHECK(once(sim) == st(St::BadPar));
      CHECK(sim.caps(0).count(10) == 0);
    }
    NovaSim capfirst = sc(4, 0);
    ecs(capfirst);
    CHECK(once(capfirst) == st(St::BadCap));  // the EC cap before the descriptor
  }
  SUBCASE("the priority is 7 bits (arm64)") {
    NovaSim sim = root({{0, op(NovaCall::CreateSc, 10)}, {1, 1}, {2, 3}, {3, 128 * 65536 + 10}}, Profile::arm64());
    ecs(sim);
    CHECK(once(sim) == st(St::BadPar));
  }
  SUBCASE("BAD_CAP: occupied selector, after the parameters") {
    NovaSim sim = root({{0, op(NovaCall::CreateSc, 2)}, {1, 1}, {2, 3}, {3, scd}});
    ecs(sim);
    CHECK(once(sim) == st(St::BadCap));
    NovaSim par = root({{0, op(NovaCall::CreateSc, 2)}, {1, 1}, {2, 3}, {3, 0}});
    ecs(par);
    CHECK(once(par) == st(St::BadPar));
  }
}

TEST_CASE("nova create_pt") {
  auto pt = [](Word ec_sel, Word sel = 10) {
    NovaSim sim = root({{0, op(NovaCall::CreatePt, sel)}, {1, 1}, {2, ec_sel}, {3, 12345}});
    sim.cap(0, 3, CapKind::Ec, 2, perm::EcBindPt);                 // local vm2
    sim.cap(0, 4, CapKind::Ec, 1, perm::kMask & perm::defined(CapKind::Ec));  // global vm1
    sim.cap(0, 5, CapKind::Ec, 2, perm::EcCtrl | perm::EcBindSc);  // no BIND_PT
    return sim;
  };
  SUBCASE("success: a new portal to the local EC, id 0; a call through it reaches the EC") {
    NovaSim sim = pt(3);
    CHECK(once(sim) == st(St::Success));
    REQUIRE(sim.s().nova.portals.size() == 1);
    CHECK(sim.s().nova.portals[0] == NovaPortal{2, 0});
    CHECK(sim.cap_at(0, 10) == Capability{CapKind::Pt, 0, perm::PtCtrl | perm::PtCall | perm::PtEvent});
    sim.again({{0, op(NovaCall::IpcCall, 10)}, {1, 0}});
    CHECK(sim.current() == 2);
    CHECK(sim.reg(2, 0) == 0);
    CHECK(sim.ec(2).partner == std::optional<VmId>(0));
    CHECK(sim.ec(0).wait == Wait::Reply);
  }
  SUBCASE("BAD_CAP: a global EC, an EC without BIND_PT, no EC cap") {
    for (Word e : {Word(4), Word(5), Word(6)}) {
      CAPTURE(e);
      NovaSim sim = pt(e);
      CHECK(once(sim) == st(St::BadCap));
      CHECK(sim.s().nova.portals.empty());
    }
  }
  SUBCASE("BAD_CAP: a created EC") {
    NovaSim sim = pt(3);
    sim.start();
    REQUIRE(sim.again({{0, op(NovaCall::CreateEc, 20)}, {1, 1}, {2, 0}}) == st(St::Success));
    CHECK(sim.again({{0, op(NovaCall::CreatePt, 10)}, {1, 1}, {2, 20}}) == st(St::BadCap));
    CHECK(sim.s().nova.portals.empty());
  }
  SUBCASE("BAD_CAP: no PD_PT; an occupied selector") {
    NovaSim sim = pt(3);
    sim.cap(0, 1, CapKind::Pd, 0, kAllPd & ~perm::PdPt);
    CHECK(once(sim) == st(St::BadCap));
    NovaSim occupied = pt(3, 2);
    CHECK(once(occupied) == st(St::BadCap));
    CHECK(occupied.s().nova.portals.empty());
  }
}

TEST_CASE("nova create_sm") {
  SUBCASE("success: a semaphore with the counter, an SM cap with UP and DN") {
    NovaSim sim = root({{0, op(NovaCall::CreateSm, 10)}, {1, 1}, {2, 7}});
    sim.sm(1);
    CHECK(once(sim) == st(St::Success));
    REQUIRE(sim.s().nova.sms.size() == 2);
    CHECK(sim.s().nova.sms[1].counter == 7);
    CHECK(sim.cap_at(0, 10) == Capability{CapKind::Sm, 1, perm::SmUp | perm::SmDn});
    CHECK(sim.s().nova.created == 0);
  }
  SUBCASE("BAD_CAP: no PD_SM; an occupied selector") {
    NovaSim sim = root({{0, op(NovaCall::CreateSm, 10)}, {1, 1}});
    sim.cap(0, 1, CapKind::Pd, 0, kAllPd & ~perm::PdSm);
    CHECK(once(sim) == st(St::BadCap));
    NovaSim occupied = root({{0, op(NovaCall::CreateSm, 1)}, {1, 1}});
    CHECK(once(occupied) == st(St::BadCap));
    CHECK(occupied.s().nova.sms.empty());
  }
}

// ---- ctrl_pd ----------------------------------------------------------------

namespace {
// vm0's selectors 8..11: a portal cap (CTRL|CALL|EVENT), an SM cap (UP|DN),
// nothing, a PD cap (all). vm1's selectors 19..24 hold SM caps. Selector 3:
// vm1's space with GRANT; 4: vm0's space with GRANT only; 5: vm1's with TAKE only.
NovaSim delegation(Word src, Word dst, Word ssb, Word ord, Word dsb, Word pmm,
                   const Profile& p = Profile::vmsl()) {
  NovaSim sim = root({{0, op(NovaCall::CtrlPd, src)}, {1, dst}, {2, ssb * 4096 + ord}, {3, dsb * 4096 + pmm}, {4, 7}},
                     p);
  sim.portal(2);
  sim.sm(0);
  sim.cap(0, 3, CapKind::Obj, 1, perm::ObjGrant);
  sim.cap(0, 4, CapKind::Obj, 0, perm::ObjGrant);
  sim.cap(0, 5, CapKind::Obj, 1, perm::ObjTake);
  sim.cap(0, 8, CapKind::Pt, 0, perm::PtCtrl | perm::PtCall | perm::PtEvent);
  sim.cap(0, 9, CapKind::Sm, 0, perm::SmUp | perm::SmDn);
  sim.cap(0, 11, CapKind::Pd, 0, kAllPd);
  for (Word s = 19; s <= 24; ++s) sim.cap(1, s, CapKind::Sm, 0, perm::SmUp);
  return sim;
}
}  // namespace

TEST_CASE("nova ctrl_pd") {
  SUBCASE("delegates a range with a mask; a null source revokes; the source keeps its caps") {
    NovaSim sim = delegation(2, 3, 8, 2, 20, perm::PtCtrl | perm::PtCall);
    sim.start();
    auto before = sim.caps(0);
    sim.step();
    CHECK(sim.reg(0, 0) == st(St::Success));
    CHECK(sim.cap_at(1, 20) == Capability{CapKind::Pt, 0, perm::PtCtrl | perm::PtCall});
    CHECK(sim.cap_at(1, 21) == Capability{CapKind::Sm, 0, perm::SmUp | perm::SmDn});
    CHECK(sim.caps(1).count(22) == 0);
    CHECK(sim.cap_at(1, 23) == Capability{CapKind::Pd, 0, perm::PdPd | perm::PdEc});
    CHECK(sim.cap_at(1, 19) == Capability{CapKind::Sm, 0, perm::SmUp});  // outside the range
    CHECK(sim.cap_at(1, 24) == Capability{CapKind::Sm, 0, perm::SmUp});
    CHECK(sim.caps(0) == before);
  }
  SUBCASE("a capability masked to no permissions is not delegated") {
    NovaSim sim = delegation(2, 3, 8, 2, 20, perm::PdSm);
    CHECK(once(sim) == st(St::Success));
    CHECK(sim.caps(1).count(20) == 0);
    CHECK(sim.caps(1).count(21) == 0);
    CHECK(sim.cap_at(1, 23) == Capability{CapKind::Pd, 0, perm::PdSm});
  }
  SUBCASE("a 0 mask erases the destination range") {
    NovaSim sim = delegation(2, 3, 8, 2, 20, 0);
    CHECK(once(sim) == st(St::Success));
    for (Word s = 20; s < 24; ++s) CHECK(sim.caps(1).count(s) == 0);
    CHECK(sim.caps(1).count(19) == 1);
    CHECK(sim.caps(1).count(24) == 1);
    CHECK(sim.caps(0).count(8) == 1);
  }
  SUBCASE("one space: downgrading in place") {
    NovaSim sim = delegation(2, 4, 8, 2, 8, 1);
    CHECK(once(sim) == st(St::Success));
    CHECK(sim.cap_at(0, 8) == Capability{CapKind::Pt, 0, perm::PtCtrl});
    CHECK(sim.cap_at(0, 9) == Capability{CapKind::Sm, 0, perm::SmUp});
    CHECK(sim.cap_at(0, 11) == Capability{CapKind::Pd, 0, perm::PdPd});
  }
  SUBCASE("order 0: one selector") {
    NovaSim sim = delegation(2, 3, 9, 0, 23, perm::kMask);
    CHECK(once(sim) == st(St::Success));
    CHECK(sim.cap_at(1, 23) == Capability{CapKind::Sm, 0, perm::SmUp | perm::SmDn});
    CHECK(sim.cap_at(1, 22) == Capability{CapKind::Sm, 0, perm::SmUp});
  }
  SUBCASE("BAD_CAP: source without TAKE, destination without GRANT, wrong kinds, missing") {
    struct Case {
      Word src, dst;
    };
    for (Case c : {Case{4, 3}, Case{2, 5}, Case{1, 3}, Case{2, 1}, Case{2, 6}, Case{6, 3}}) {
      CAPTURE(c.src);
      CAPTURE(c.dst);
      NovaSim sim = delegation(c.src, c.dst, 8, 2, 20, perm::kMask);
      CHECK(once(sim) == st(St::BadCap));
      CHECK(sim.cap_at(1, 20) == Capability{CapKind::Sm, 0, perm::SmUp});
    }
  }
  SUBCASE("BAD_PAR: order, mask, alignment") {
    struct Case {
      Word ssb, ord, dsb, pmm;
    };
    for (Case c : {Case{0, 19, 0, 1}, Case{8, 2, 20, 32}, Case{8, 2, 20, 4095}, Case{9, 2, 20, 1}, Case{8, 2, 22, 1},
                   Case{4, 3, 16, 1}}) {
      CAPTURE(c.ssb);
      CAPTURE(c.ord);
      CAPTURE(c.dsb);
      CAPTURE(c.pmm);
      NovaSim sim = delegation(2, 3, c.ssb, c.ord, c.dsb, c.pmm);
      CHECK(once(sim) == st(St::BadPar));
      CHECK(sim.cap_at(1, 20) == Capability{CapKind::Sm, 0, perm::SmUp});
    }
  }
  SUBCASE("BAD_PAR: a range beyond the object space (arm64)") {
    NovaSim far = delegation(2, 3, kSelectorCount, 0, 20, 1, Profile::arm64());
    CHECK(once(far) == st(St::BadPar));
    NovaSim fardst = delegation(2, 3, 8, 0, kSelectorCount, 1, Profile::arm64());
    CHECK(once(fardst) == st(St::BadPar));
    NovaSim last = delegation(2, 3, 8, 0, kSelectorCount - 1, perm::kMask, Profile::arm64());
    CHECK(once(last) == st(St::Success));
    CHECK(last.cap_at(1, kSelectorCount - 1).kind == CapKind::Pt);
  }
  SUBCASE("order 18: the whole space") {
    NovaSim sim = delegation(2, 3, 0, 18, 0, perm::kMask);
    CHECK(once(sim) == st(St::Success));
    CHECK(sim.caps(1) == sim.caps(0));
  }
}

// ---- ctrl_ec, ctrl_sc, ctrl_pt ----------------------------------------------

TEST_CASE("nova ctrl_ec") {
  auto sim_for = [](Word sel) {
    NovaSim sim = root({{0, op(NovaCall::CtrlEc, sel, 1)}});
    sim.cap(0, 3, CapKind::Ec, 1, perm::EcCtrl);
    sim.cap(0, 4, CapKind::Ec, 1, perm::EcBindPt | perm::EcBindSc);
    sim.cap(0, 5, CapKind::Sc, 1, perm::ScCtrl);
    return sim;
  };
  NovaSim ok = sim_for(3);
  CHECK(once(ok) == st(St::Success));
  CHECK(ok.current() == 0);
  for (Word sel : {Word(4), Word(5), Word(6)}) {
    CAPTURE(sel);
    NovaSim bad = sim_for(sel);
    CHECK(once(bad) == st(St::BadCap));
  }
}

TEST_CASE("nova ctrl_sc") {
  auto sim_for = [](Word sel) {
    NovaSim sim = root({{0, op(NovaCall::CtrlSc, sel)}, {1, 99}});
    sim.cap(0, 3, CapKind::Sc, 1, perm::ScCtrl);
    sim.cap(0, 4, CapKind::Ec, 1, perm::EcCtrl);
    return sim;
  };
  NovaSim ok = sim_for(3);
  CHECK(once(ok) == st(St::Success));
  CHECK(ok.reg(0, 1) == 0);
  for (Word sel : {Word(4), Word(5)}) {
    CAPTURE(sel);
    NovaSim bad = sim_for(sel);
    CHECK(once(bad) == st(St::BadCap));
    CHECK(bad.reg(0, 1) == 99);
  }
}

TEST_CASE("nova ctrl_pt") {
  auto sim_for = [](Word sel) {
    NovaSim sim = root({{0, op(NovaCall::CtrlPt, sel)}, {1, 77}, {2, 5}});
    sim.portal(2, 4);
    sim.cap(0, 3, CapKind::Pt, 0, perm::PtCtrl);
    sim.cap(0, 4, CapKind::Pt, 0, perm::PtCall | perm::PtEvent);
    return sim;
  };
  SUBCASE("sets the id the handler gets") {
    NovaSim sim = sim_for(3);
    CHECK(once(sim) == st(St::Success));
    CHECK(sim.s().nova.portals[0].id == 77);
    sim.again({{0, op(NovaCall::IpcCall, 4)}, {1, 0}});
    CHECK(sim.current() == 2);
    CHECK(sim.reg(2, 0) == 77);
  }
  SUBCASE("BAD_CAP without CTRL or without a portal cap") {
    for (Word sel : {Word(4), Word(5)}) {
      CAPTURE(sel);
      NovaSim sim = sim_for(sel);
      CHECK(once(sim) == st(St::BadCap));
      CHECK(sim.s().nova.portals[0].id == 4);
    }
  }
}

// ---- ctrl_sm ----------------------------------------------------------------

namespace {
NovaSim sm_call(Word flags, Word count, Word perms, Word r1 = 0) {
  NovaSim sim = root({{0, op(NovaCall::CtrlSm, 3, flags)}, {1, r1}});
  sim.sm(count);
  sim.cap(0, 3, CapKind::Sm, 0, perms);
  return sim;
}
constexpr Word kUpDn = perm::SmUp | perm::SmDn;
}  // namespace

TEST_CASE("nova ctrl_sm: up and down without blocking") {
  SUBCASE("up increments") {
    NovaSim sim = sm_call(0, 4, perm::SmUp);
    CHECK(once(sim) == st(St::Success));
    CHECK(sim.s().nova.sms[0].counter == 5);
  }
  SUBCASE("up at the largest word: OVRFLOW, the counter unchanged") {
    Word max = Profile::vmsl().word_max;
    NovaSim sim = sm_call(0, max, perm::SmUp);
    CHECK(once(sim) == st(St::Ovrflow));
    CHECK(sim.s().nova.sms[0].counter == max);
  }
  SUBCASE("up ignores Z and the timeout") {
    NovaSim sim = sm_call(kSmZero, 4, perm::SmUp, 5);
    CHECK(once(sim) == st(St::Success));
    CHECK(sim.s().nova.sms[0].counter == 5);
  }
  SUBCASE("down decrements") {
    NovaSim sim = sm_call(kSmDown, 4, perm::SmDn);
    CHECK(once(sim) == st(St::Success));
    CHECK(sim.s().nova.sms[0].counter == 3);
  }
  SUBCASE("down with Z zeroes the counter") {
    NovaSim sim = sm_call(kSmDown | kSmZero, 4, perm::SmDn);
    CHECK(once(sim) == st(St::Success));
    CHECK(sim.s().nova.sms[0].counter == 0);
  }
  SUBCASE("down at 0 with a timeout: TIMEOUT at once (no clock)") {
    NovaSim sim = sm_call(kSmDown, 0, perm::SmDn, 1000);
    CHECK(once(sim) == st(St::Timeout));
    CHECK(sim.ec(0).wait == Wait::None);
    CHECK(sim.s().nova.sms[0].queue.empty());
    CHECK(sim.current() == 0);
  }
  SUBCASE("BAD_CAP: up without UP, down without DN, not an SM cap, no cap") {
    struct Case {
      Word flags, perms;
    };
    for (Case c : {Case{0, perm::SmDn | perm::SmAssign}, Case{kSmDown, perm::SmUp | perm::SmAssign}}) {
      CAPTURE(c.flags);
      NovaSim sim = sm_call(c.flags, 4, c.perms);
      CHECK(once(sim) == st(St::BadCap));
      CHECK(sim.s().nova.sms[0].counter == 4);
    }
    NovaSim kind = root({{0, op(NovaCall::CtrlSm, 1)}});
    CHECK(once(kind) == st(St::BadCap));
    NovaSim none = root({{0, op(NovaCall::CtrlSm, 9, kSmDown)}});
    CHECK(once(none) == st(St::BadCap));
  }
}

TEST_CASE("nova ctrl_sm: blocking and release in FIFO order") {
  // vm0 and vm1 down semaphore 0 (count 0) and block; vm2 ups it twice.
  NovaSim sim;
  Word down = op(NovaCall::CtrlSm, 3, kSmDown);
  sim.vm({hvc(), mov(4, 100), halt()}, {false, true, {{0, down}}});
  sim.vm({hvc(), mov(4, 101), halt()}, {false, true, {{0, down}}});
  Word up = op(NovaCall::CtrlSm, 3);
  sim.vm({hvc(), mov(0, up), hvc(), mov(0, up), hvc(), halt()}, {false, true, {{0, up}}});
  sim.sm(0);
  for (VmId v : {0, 1, 2}) sim.cap(v, 3, CapKind::Sm, 0, kUpDn);
  sim.start();
  sim.step();  // vm0 blocks
  CHECK(sim.ec(0).wait == Wait::Semaphore);
  CHECK(sim.pc(0) == sim.code_base(0) + 1);
  CHECK(sim.reg(0, 0) == down);
  REQUIRE(sim.current() == 1);
  sim.step();  // vm1 blocks
  CHECK(sim.s().nova.sms[0].queue == std::vector<VmId>{0, 1});
  REQUIRE(sim.current() == 2);
  sim.step();  // up: vm0, the head, is released; the counter stays 0
  CHECK(sim.reg(2, 0) == st(St::Success));
  CHECK(sim.ec(0).wait == Wait::None);
  CHECK(sim.reg(0, 0) == st(St::Success));
  CHECK(sim.ec(1).wait == Wait::Semaphore);
  CHECK(sim.s().nova.sms[0].queue == std::vector<VmId>{1});
  CHECK(sim.s().nova.sms[0].counter == 0);
  CHECK(sim.current() == 2);
  sim.step(2);  // up: vm1
  CHECK(sim.ec(1).wait == Wait::None);
  CHECK(sim.reg(1, 0) == st(St::Success));
  CHECK(sim.s().nova.sms[0].queue.empty());
  sim.step(2);  // up: nobody waits, the counter goes up
  CHECK(sim.s().nova.sms[0].counter == 1);
  sim.step();  // vm2 halts: vm0 runs on after its hvc, then vm1
  REQUIRE(sim.current() == 0);
  CHECK(sim.pc(0) == sim.code_base(0) + 1);
  sim.run();
  CHECK(sim.reg(0, 4) == 100);
  CHECK(sim.reg(1, 4) == 101);
  CHECK(sim.mode(0) == Mode::Halt);
  CHECK(sim.mode(1) == Mode::Halt);
  CHECK(sim.current() == 1);
}

TEST_CASE("nova ctrl_sm: a down with nobody to up it deadlocks the machine") {
  NovaSim sim;
  sim.vm({hvc(), halt()}, {false, true, {{0, op(NovaCall::CtrlSm, 3, kSmDown)}}});
  sim.vm({halt()}, kLocal);
  sim.sm(0);
  sim.cap(0, 3, CapKind::Sm, 0, kUpDn);
  sim.start();
  sim.step();
  CHECK(sim.ec(0).wait == Wait::Semaphore);
  CHECK(sim.current() == 0);
  CHECK_FALSE(sim.running());
  auto r = sim.in().run(100);
  CHECK(r.reason == StopReason::Terminated);
  CHECK(r.steps == 0);
}

// ---- ctrl_hw, assign_int, assign_dev ----------------------------------------

TEST_CASE("nova ctrl_hw") {
  NovaSim rootcall = root({{0, op(NovaCall::CtrlHw, 1, 4)}});
  CHECK(once(rootcall) == st(St::BadFtr));
  NovaSim other = non_root({{0, op(NovaCall::CtrlHw)}});
  CHECK(once_vm1(other) == st(St::BadHyp));
}

TEST_CASE("nova assign_int") {
  auto sim_for = [](Word sel, Word cpu) {
    NovaSim sim = root({{0, op(NovaCall::AssignInt, sel)}, {1, cpu}, {2, 44}});
    sim.sm(0);
    sim.cap(0, 3, CapKind::Sm, 0, perm::SmAssign | perm::SmDn);
    sim.cap(0, 4, CapKind::Sm, 0, perm::SmUp | perm::SmDn);
    return sim;
  };
  NovaSim ok = sim_for(3, 0);
  CHECK(once(ok) == st(St::Success));
  CHECK(ok.reg(0, 1) == 0);
  CHECK(ok.reg(0, 2) == 0);
  NovaSim cpu = sim_for(3, 1);
  CHECK(once(cpu) == st(St::BadCpu));
  CHECK(cpu.reg(0, 2) == 44);
  for (Word sel : {Word(4), Word(1), Word(9)}) {
    CAPTURE(sel);
    NovaSim bad = sim_for(sel, 1);
    CHECK(once(bad) == st(St::BadCap));  // the capability before the CPU
  }
}

TEST_CASE("nova assign_dev") {
  NovaSim rootcall = root({{0, op(NovaCall::AssignDev, 2)}, {1, 4096}});
  CHECK(once(rootcall) == st(St::BadCap));
  NovaSim other = non_root({{0, op(NovaCall::AssignDev, 2)}});
  CHECK(once_vm1(other) == st(St::BadHyp));
}

// ---- Control between ECs ----------------------------------------------------

TEST_CASE("nova: halt passes control to the next ready EC in id order, cyclically") {
  NovaSim sim;
  sim.vm({mov(1, 5), halt()});   // vm0
  sim.vm({halt()}, kLocal);       // vm1: local, never ready
  sim.vm({mov(1, 6), halt()});   // vm2
  sim.vm({mov(1, 7), halt()});   // vm3
  sim.start();
  sim.s().current = 2;
  sim.step(2);
  CHECK(sim.current() == 3);
  sim.step(2);
  CHECK(sim.current() == 0);  // wraps around, skipping nobody ready but the local vm1
  sim.step(2);
  CHECK(sim.current() == 0);  // nobody is ready: the halted EC keeps the processor
  CHECK_FALSE(sim.running());
  for (VmId v : {0, 2, 3}) CHECK(sim.mode(v) == Mode::Halt);
  CHECK(sim.mode(1) == Mode::Exec);
  CHECK(sim.pc(1) == sim.code_base(1));
}

TEST_CASE("nova: a fail or a page fault stops the machine") {
  SUBCASE("fail") {
    NovaSim sim;
    sim.vm({fail()});
    sim.vm({halt()});
    sim.start();
    sim.step();
    CHECK_FALSE(sim.running());
    CHECK(sim.current() == 0);
    CHECK(sim.mode(0) == Mode::Fail);
  }
  SUBCASE("page fault") {
    NovaSim sim;
    sim.vm({mov(2, 5), str(2, 1), halt()}, {false, true, {{1, 999999}}});
    sim.vm({halt()});
    sim.start();
    sim.step(2);
    CHECK_FALSE(sim.running());
    CHECK(sim.current() == 0);
    CHECK(sim.mode(0) == Mode::FailPageFault);
    CHECK(sim.pc(1) == sim.code_base(1));
  }
}

TEST_CASE("nova: a local EC as the first current EC does not run") {
  NovaSim sim;
  sim.vm({halt()}, kLocal);
  sim.start();
  CHECK_FALSE(sim.running());
  CHECK(sim.in().run(10).steps == 0);
}

TEST_CASE("ffa: unchanged; a halt stops the machine and hvc is an FF-A call") {
  NovaSim sim(Profile::vmsl(), AbiKind::Ffa);
  sim.vm({hvc(), halt()}, {false, true, {{0, encode(Profile::vmsl(), Hypercall::Yield)}}});
  sim.vm({halt()});
  sim.start();
  sim.step();
  CHECK(sim.reg(0, 0) == encode(Profile::vmsl(), Hypercall::Yield));
  CHECK(sim.current() == 0);
  sim.step();
  CHECK_FALSE(sim.running());
  CHECK(sim.current() == 0);
  CHECK(sim.mode(1) == Mode::Exec);
}
