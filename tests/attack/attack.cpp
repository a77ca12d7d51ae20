// hvsl_attack: the concrete attack test (issue 5; tests/attack/README.md).
//
// hvsl verifies known VMs robustly: whatever code the unknown VMs run, each
// known VM keeps its claim (never faults; halts only with its postcondition,
// or never terminates). This program checks that claim concretely: for each
// .hvsl file it replaces the code of every unknown VM by a random program,
// runs the whole machine on the reference interpreter, and checks every
// known VM that has an `ensures` on the final state. A violation is
// reported with everything needed to reproduce it, including the attacker
// programs as hvsl source to paste into the file. On an `abi nova` machine
// the programs make NOVA calls (IPC, replies through the UTCB, semaphores,
// delegation) instead of FF-A hypercalls.
//
// Exit codes: 0 no violation, 1 a violation, 2 bad options or input.
#include <algorithm>
#include <array>
#include <cstdint>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "frontend/parser.h"
#include "logic/assertion_eval.h"
#include "logic/interpreter.h"
#include "logic/report.h"

namespace {

using hvsl::Instr;
using hvsl::Machine;
using hvsl::Op;
using hvsl::Reg;
using hvsl::VmId;
using hvsl::Word;

struct Options {
  int programs = 1000;
  std::uint64_t seed = 20240705;
  std::uint64_t max_steps = 5000;
  int length = 40;      // random instructions per program, before the final loop
  int show = 1;         // violations reported in full, per file
  std::optional<int> only;  // run only this program
  bool as_is = false;       // run the file's own code once, no random programs
  bool print = false;       // print every program and how its run ended
  std::vector<std::string> words;  // ADDR=VALUE: initial words set over the file's (as `word ADDR = VALUE`)
  std::vector<std::string> files;
};

// ---- randomness ---------------------------------------------------------------------------

struct Rng {
  std::mt19937_64 g;
  // Each program has its own generator, so program k can be rerun alone (--only k).
  Rng(std::uint64_t seed, std::uint64_t program) {
    std::seed_seq seq{std::uint32_t(seed), std::uint32_t(seed >> 32), std::uint32_t(program)};
    g.seed(seq);
  }
  std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(g); }
  int irange(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g); }  // inclusive
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(g) < p; }
  template <class T> const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }
};

// ---- what an attacker program may name --------------------------------------------------

// An immediate with the text that names it in hvsl source ("pshare + 2",
// "vm1", "SHARE", "5"), so a generated program prints as pasteable source.
struct Imm {
  Word value = 0;
  std::string text;
};

Imm number(Word w) { return {w, fmt::format("{}", w)}; }

// The interesting values of one machine, from one VM's point of view.
struct Vocabulary {
  std::vector<Imm> addresses;   // every page base and base + small offsets
  std::vector<Imm> loadable;    // those the VM can read at the start (not its TX page)
  std::vector<Imm> storable;    // those the VM can write at the start (not its RX page)
  std::vector<Imm> pages;       // every page base
  std::vector<Imm> own_pages;   // pages the VM owns exclusively and can access (valid to share)
  std::vector<Imm> vms;         // every VM id, by name
  std::vector<Imm> secondaries; // every VM but the primary
  std::vector<Imm> handles;     // the valid handles
  std::vector<Imm> calls;       // the 11 hypercall ids
  std::vector<Imm> small;       // 0..10, the descriptor length, a page size and one more
  std::optional<Imm> tx, rx;    // the VM's own mailboxes
  Imm self;
  // abi nova (calls then holds the 15 NOVA call numbers)
  std::optional<Imm> utcb;                        // the VM's own UTCB page
  std::map<hvsl::CapKind, std::vector<Word>> caps;  // its declared selectors, by kind
  std::vector<Word> selectors;                    // all its declared selectors
};

Vocabulary vocabulary(const Machine& m, VmId self) {
  const hvsl::Profile& p = *m.profile;
  Vocabulary v;
  for (const auto& pg : m.pages) {
    v.pages.push_back({pg.base, pg.name});
    std::vector<Imm> at;
    for (Word off : {0, 1, 2, 3, 4, 5}) at.push_back({pg.base + off, off ? fmt::format("{} + {}", pg.name, off) : pg.name});
    at.push_back({pg.base + p.page_size - 1, fmt::format("{} + {}", pg.name, p.page_size - 1)});
    v.addresses.insert(v.addresses.end(), at.begin(), at.end());
    if (hvsl::contains(pg.access, self)) {
      bool is_tx = m.vms[self].tx && m.pages[*m.vms[self].tx].base == pg.base;
      bool is_rx = m.vms[self].rx && m.pages[*m.vms[self].rx].base == pg.base;
      if (!is_tx) v.loadable.insert(v.loadable.end(), at.begin(), at.end());
      if (!is_rx) v.storable.insert(v.storable.end(), at.begin(), at.end());
    }
    if (pg.owner == self && pg.exclusive && hvsl::contains(pg.access, self)) v.own_pages.push_back({pg.base, pg.name});
  }
  for (VmId i = 0; i < m.vms.size(); ++i) {
    v.vms.push_back({i, m.vms[i].name});
    if (i != 0) v.secondaries.push_back({i, m.vms[i].name});
  }
  for (Word h : m.handles) v.handles.push_back(number(h));
  if (m.abi == hvsl::AbiKind::Nova) {
    for (int c = 0; c < hvsl::kNovaCallCount; ++c)
      v.calls.push_back({Word(c), std::string(hvsl::name(hvsl::NovaCall(c)))});
  } else {
    for (int h = 0; h < hvsl::kHypercallCount; ++h)
      v.calls.push_back({hvsl::encode(p, hvsl::Hypercall(h)), std::string(hvsl::name(hvsl::Hypercall(h)))});
  }
  for (Word w = 0; w <= 10; ++w) v.small.push_back(number(w));
  v.small.push_back(number(p.page_size));
  v.small.push_back(number(p.page_size + 1));
  const auto& d = m.vms[self];
  if (d.tx) v.tx = Imm{m.pages[*d.tx].base, m.pages[*d.tx].name};
  if (d.rx) v.rx = Imm{m.pages[*d.rx].base, m.pages[*d.rx].name};
  v.self = {self, d.name};
  if (m.abi == hvsl::AbiKind::Nova) {
    v.small.push_back(number(hvsl::kUtcbWords - 1));  // the largest mtd that copies a whole UTCB
    v.small.push_back(number(hvsl::kUtcbWords));
    if (d.utcb) v.utcb = Imm{m.pages[*d.utcb].base, m.pages[*d.utcb].name};
    for (const auto& [sel, decl] : d.caps) {
      v.caps[decl.cap.kind].push_back(sel);
      v.selectors.push_back(sel);
    }
  }
  return v;
}

// ---- programs -----------------------------------------------------------------------------

// One generated instruction. A jump's immediate is the address of an
// instruction of the same program (`target`), fixed once the program's
// length is known, and printed as a label.
struct GenInstr {
  Instr instr;
  std::string imm_text;
  std::optional<int> target;  // index into the program, for mov rA, <label>
};

struct Program {
  VmId vm = 0;
  std::string page;  // the page the code goes into (its start)
  Word base = 0;
  std::vector<GenInstr> code;
  bool had_code = false;  // the VM had a code block we replaced
};

GenInstr mov(Reg a, const Imm& i) { return {Instr{Op::MovImm, a, 0, i.value}, i.text, {}}; }
GenInstr op2(Op op, Reg a, Reg b) { return {Instr{op, a, b, 0}, "", {}}; }
GenInstr op1(Op op, Reg a = 0) { return {Instr{op, a, 0, 0}, "", {}}; }
GenInstr hvc() { return op1(Op::Hvc); }

// The label of instruction k of the program of VM `vm`.
std::string label(const Machine& m, VmId vm, int k) { return fmt::format("atk_{}_{}", m.vms[vm].name, k); }

std::string show(const Machine& m, const Program& p) {
  std::set<int> labelled;
  for (const auto& g : p.code)
    if (g.target) labelled.insert(*g.target);
  std::string out = fmt::format("  code at {} {{\n", p.page);
  for (int k = 0; k <= int(p.code.size()); ++k) {
    if (labelled.count(k)) out += fmt::format("  {}:\n", label(m, p.vm, k));
    if (k == int(p.code.size())) break;
    const GenInstr& g = p.code[k];
    std::string text = hvsl::to_string(g.instr);
    if (g.instr.op == Op::MovImm || g.instr.op == Op::CmpImm || g.instr.op == Op::Mult) {
      std::string imm = g.target ? label(m, p.vm, *g.target) : g.imm_text;
      if (!imm.empty()) text = text.substr(0, text.rfind(',') + 1) + " " + imm;
    }
    out += "    " + text + "\n";
  }
  return out + "  }\n";
}

// Builds one random program for VM `self`, instruction by instruction, from
// snippets that each do something an attacker would try.
class Generator {
 public:
  Generator(const Machine& m, VmId self, Rng& rng) : m_(m), self_(self), v_(vocabulary(m, self)), rng_(rng) {
    for (VmId i = 1; i < m.vms.size(); ++i) run_order_.push_back(i);
  }

  std::vector<GenInstr> generate(int length, int room) {
    if (m_.abi == hvsl::AbiKind::Nova) return generate_nova(length, room);
    out_.clear();
    bool primary = self_ == 0;
    int tail = primary ? 3 * int(run_order_.size()) + 2 : 4;
    int body = std::max(0, std::min(length, room - tail - 20));
    while (int(out_.size()) < body) {
      // An unknown primary must run the secondaries, or nothing else executes.
      if (primary && !run_order_.empty() && rng_.chance(0.3)) run_next();
      else snippet();
    }
    if (int(out_.size()) > room - tail) out_.resize(std::max(0, room - tail));
    int loop = int(out_.size());
    // Mostly end in a loop that hands the processor back (a secondary yields,
    // the primary runs every secondary), so the known VMs get to run again.
    // Otherwise the program runs off its end and faults.
    if (rng_.chance(0.9)) {
      if (primary) {
        std::shuffle(run_order_.begin(), run_order_.end(), rng_.g);
        for (VmId i : run_order_) call(hvsl::Hypercall::Run, {{Reg(1), v_.vms[i]}});
      } else {
        call(hvsl::Hypercall::Yield, {});
      }
      jump_to(Op::Br, loop);
    }
    resolve_jumps(loop);
    return out_;
  }

 private:
  const Machine& m_;
  VmId self_;
  Vocabulary v_;
  Rng& rng_;
  std::vector<GenInstr> out_;
  std::vector<VmId> run_order_;
  std::size_t next_run_ = 0;

  void emit(GenInstr g) { out_.push_back(std::move(g)); }
  Reg reg() { return Reg(rng_.chance(0.9) ? rng_.irange(0, 8) : rng_.irange(0, 30)); }
  std::pair<Reg, Reg> two_regs() {
    Reg a = reg(), b = reg();
    while (b == a) b = reg();
    return {a, b};
  }
  Word imm_max() const { return m_.profile->imm_max; }

  // A value biased toward what matters to the machine.
  Imm value() {
    switch (rng_.below(8)) {
      case 0: case 1: return rng_.pick(v_.addresses);
      case 2: return rng_.pick(v_.vms);
      case 3: return v_.handles.empty() ? number(0) : rng_.pick(v_.handles);
      case 4: return rng_.pick(v_.calls);
      case 5: case 6: return rng_.pick(v_.small);
      default:
        if (rng_.chance(0.5)) return number(Word(rng_.below(1000)));
        return number(std::uniform_int_distribution<Word>(0, imm_max())(rng_.g));
    }
  }

  // An address for a load or store: mostly one the VM can access (an
  // inaccessible one faults the attacker and ends the run, which tests less).
  Imm address(bool store) {
    const auto& ok = store ? v_.storable : v_.loadable;
    return !ok.empty() && rng_.chance(0.85) ? rng_.pick(ok) : rng_.pick(v_.addresses);
  }

  // mov r0, CALL; mov rN, arg...; hvc
  void call(hvsl::Hypercall h, std::vector<std::pair<Reg, Imm>> args) {
    emit(mov(0, v_.calls[int(h)]));
    for (const auto& [r, i] : args) emit(mov(r, i));
    emit(hvc());
  }

  void run_next() {
    if (next_run_ == 0) std::shuffle(run_order_.begin(), run_order_.end(), rng_.g);
    call(hvsl::Hypercall::Run, {{Reg(1), v_.vms[run_order_[next_run_]]}});
    next_run_ = (next_run_ + 1) % run_order_.size();
  }

  Imm handle() { return rng_.chance(0.8) && !v_.handles.empty() ? rng_.pick(v_.handles) : rng_.pick(v_.small); }

  // Any hypercall, with arguments of the kind it takes (mostly).
  void hypercall() {
    using H = hvsl::Hypercall;
    H h = H(rng_.below(hvsl::kHypercallCount));
    std::vector<std::pair<Reg, Imm>> args;
    switch (h) {
      case H::Run: args = {{1, rng_.pick(v_.vms)}}; break;
      case H::Share: case H::Lend: case H::Donate:
        args = {{1, rng_.chance(0.7) ? number(5) : rng_.pick(v_.small)}}; break;
      case H::Retrieve: case H::Relinquish: case H::Reclaim: args = {{1, handle()}}; break;
      case H::Send: args = {{1, rng_.pick(v_.vms)}, {2, rng_.pick(v_.small)}}; break;
      default: break;
    }
    if (rng_.chance(0.2)) args.emplace_back(Reg(rng_.irange(3, 8)), value());  // noise in another register
    if (rng_.chance(0.05)) {  // an id that names no call: INV_PARAM
      emit(mov(0, value()));
      emit(hvc());
      return;
    }
    call(h, args);
  }

  // A memory descriptor in the TX page, then SHARE, LEND or DONATE:
  // [sender = self, handle 0, 1 page, receiver, page], sometimes with one
  // field wrong.
  void mem_send() {
    if (!v_.tx) return hypercall();
    Imm page = !v_.own_pages.empty() && rng_.chance(0.5) ? rng_.pick(v_.own_pages) : rng_.pick(v_.pages);
    Imm receiver = rng_.pick(v_.vms);
    std::vector<Imm> fields = {v_.self, number(0), number(1), receiver, page};
    if (rng_.chance(0.2)) fields[rng_.below(fields.size())] = value();
    auto [ra, rv] = two_regs();
    for (std::size_t k = 0; k < fields.size(); ++k) {
      emit(mov(ra, {v_.tx->value + k, k ? fmt::format("{} + {}", v_.tx->text, k) : v_.tx->text}));
      emit(mov(rv, fields[k]));
      emit(op2(Op::Str, rv, ra));
    }
    using H = hvsl::Hypercall;
    H h = rng_.pick(std::vector<H>{H::Share, H::Lend, H::Donate});
    call(h, {{1, rng_.chance(0.9) ? number(5) : rng_.pick(v_.small)}});
  }

  void store() {
    auto [ra, rv] = two_regs();
    emit(mov(ra, address(true)));
    if (rng_.chance(0.8)) emit(mov(rv, value()));
    emit(op2(Op::Str, rv, ra));
  }

  void load() {
    auto [ra, rv] = two_regs();
    emit(mov(ra, address(false)));
    emit(op2(Op::Ldr, rv, ra));
  }

  // Copies a word (say an instruction of some code page) somewhere else.
  void copy() {
    auto [ra, rv] = two_regs();
    emit(mov(ra, address(false)));
    emit(op2(Op::Ldr, rv, ra));
    emit(mov(ra, address(true)));
    emit(op2(Op::Str, rv, ra));
  }

  // Reads a word of the RX page (a message, a retrieve message's handle) and
  // uses it as the handle or VM argument of a call.
  void from_rx() {
    if (!v_.rx) return hypercall();
    Reg ra = Reg(rng_.irange(3, 8));
    Word off = rng_.below(5);
    emit(mov(ra, {v_.rx->value + off, off ? fmt::format("{} + {}", v_.rx->text, off) : v_.rx->text}));
    emit(op2(Op::Ldr, 1, ra));
    using H = hvsl::Hypercall;
    emit(mov(0, v_.calls[int(rng_.pick(std::vector<H>{H::Retrieve, H::Relinquish, H::Reclaim, H::Run, H::Poll}))]));
    emit(hvc());
  }

  // RETRIEVE a handle, then use the page the retrieve message names (the
  // RX page holds [sender, handle, kind, n, page_1, ...]): write it or read it.
  void retrieve_and_use() {
    if (!v_.rx) return hypercall();
    call(hvsl::Hypercall::Retrieve, {{1, handle()}});
    auto [ra, rp] = two_regs();
    // if r0 != SUCCESS, skip the rest (a failed retrieve leaves no page to use)
    emit({Instr{Op::CmpImm, 0, 0, hvsl::encode_success(*m_.profile)}, "SUCCESS", {}});
    std::size_t skip = out_.size();
    jump_to(Op::Bne, 0);
    emit(mov(ra, {v_.rx->value + 4, v_.rx->text + " + 4"}));
    emit(op2(Op::Ldr, rp, ra));
    if (rng_.chance(0.3)) {  // a word further into the page
      emit(mov(ra, rng_.pick(v_.small)));
      emit(op2(Op::Add, rp, ra));
    }
    if (rng_.chance(0.8)) {
      emit(mov(ra, value()));
      emit(op2(Op::Str, ra, rp));
    } else {
      emit(op2(Op::Ldr, ra, rp));
    }
    out_[skip].target = int(out_.size());
  }

  void arith() {
    auto [a, b] = two_regs();
    switch (rng_.below(6)) {
      case 0: emit(mov(a, value())); break;
      case 1: emit(op2(Op::MovReg, a, b)); break;
      case 2: emit(op2(Op::Add, a, b)); break;
      case 3: emit(op2(Op::Sub, a, b)); break;
      case 4: {
        Imm i = rng_.pick(v_.small);
        emit({Instr{Op::Mult, a, 0, i.value}, i.text, {}});
        break;
      }
      default:
        if (rng_.chance(0.5)) { Imm i = value(); emit({Instr{Op::CmpImm, a, 0, i.value}, i.text, {}}); }
        else emit(op2(Op::CmpReg, a, b));
    }
  }

  // A jump inside the program, mostly forward (a backward jump can loop
  // without ever yielding); or rarely anywhere (into data: a fault).
  void branch() {
    Op op = rng_.chance(0.6) ? Op::Bne : Op::Br;
    if (rng_.chance(0.05)) {
      Reg r = reg();
      emit(mov(r, rng_.pick(v_.addresses)));
      emit(op1(op, r));
      return;
    }
    int here = int(out_.size());
    int target = rng_.chance(0.9) ? here + 2 + rng_.irange(0, 8) : std::max(0, here - rng_.irange(1, 10));
    jump_to(op, target);
  }

  // mov rN, <label of instruction `target`>; br/bne rN. The address is set
  // when the program is placed (make_attack).
  void jump_to(Op op, int target) {
    Reg r = reg();
    GenInstr g = mov(r, number(0));
    g.target = target;
    emit(g);
    emit(op1(op, r));
  }

  // Forward jumps past the end of the body land on the final loop (or the
  // end of the program, where there is none).
  void resolve_jumps(int loop) {
    for (auto& g : out_)
      if (g.target) *g.target = std::min(*g.target, loop);
  }

  void snippet() {
    switch (rng_.below(100) / 5) {  // 20 slots of 5%
      case 0: case 1: case 2: case 3: case 4: hypercall(); break;
      case 5: case 6: mem_send(); break;
      case 7: case 8: case 9: store(); break;
      case 10: load(); break;
      case 11: copy(); break;
      case 12: from_rx(); break;
      case 13: retrieve_and_use(); break;
      case 14: case 15: arith(); break;
      case 16: case 17: branch(); break;
      case 18: emit(op1(Op::Nop)); break;
      default:  // rarely halt or fail: either stops the whole machine
        if (rng_.chance(0.9)) arith();
        else emit(op1(rng_.chance(0.5) ? Op::Halt : Op::Fail));
    }
  }

  // ---- abi nova (docs/nova.md) ----
  //
  // A local EC runs only when called through a portal, and resumes after its
  // reply where it left off (one CPU). Its program is mostly a loop: random
  // snippets, then a reply (so the caller resumes and its claim gets
  // checked), then back to the start (the next call runs the snippets
  // again). A global EC ends in a loop that calls every portal it holds, or
  // halts (control passes to the next ready EC).
  std::vector<GenInstr> generate_nova(int length, int room) {
    out_.clear();
    bool local = m_.vms[self_].local;
    std::vector<Word> portals = caps(hvsl::CapKind::Pt);
    int tail = local ? 3 * 4 + 3 + 2 : 3 * int(portals.size()) + 2;  // at most: UTCB writes, reply, jump
    int body = std::max(0, std::min(length, room - tail - 20));
    while (int(out_.size()) < body) nova_snippet();
    if (int(out_.size()) > room - tail) out_.resize(std::max(0, room - tail));
    int loop = int(out_.size());
    // Otherwise the program runs off its end and faults, and a caller
    // waiting for the reply never resumes.
    if (rng_.chance(0.9)) {
      if (local) {
        ipc_reply(rng_.chance(0.7));
        jump_to(Op::Br, rng_.chance(0.7) ? 0 : loop);
      } else if (!portals.empty()) {
        std::shuffle(portals.begin(), portals.end(), rng_.g);
        for (Word sel : portals) ipc_call(sel, rng_.chance(0.5));
        jump_to(Op::Br, loop);
      } else {
        emit(op1(Op::Halt));
      }
    }
    resolve_jumps(loop);
    return out_;
  }

  std::vector<Word> caps(hvsl::CapKind k) const {
    auto it = v_.caps.find(k);
    return it == v_.caps.end() ? std::vector<Word>{} : it->second;
  }

  // A selector for a call that wants a capability of kind `k`: mostly one
  // the VM declares of that kind, else any it declares, or a small one.
  Word selector(hvsl::CapKind k) {
    std::vector<Word> of_kind = caps(k);
    if (!of_kind.empty() && rng_.chance(0.75)) return rng_.pick(of_kind);
    if (!v_.selectors.empty() && rng_.chance(0.5)) return rng_.pick(v_.selectors);
    return Word(rng_.irange(0, 15));
  }

  // r0 for a NOVA call: "CTRL_SM + SM_DOWN + 3 * SEL".
  Imm nova_r0(hvsl::NovaCall c, Word sel, Word flags = 0, const std::string& flags_text = "") {
    Imm i{sel * 256 + flags + Word(c), std::string(hvsl::name(c))};
    if (flags) i.text += " + " + flags_text;
    if (sel) i.text += fmt::format(" + {} * SEL", sel);
    return i;
  }

  // An mtd: mostly 0..3 (1 to 4 words), sometimes the whole UTCB or any word.
  Imm mtd() {
    if (rng_.chance(0.8)) return number(Word(rng_.irange(0, 3)));
    return rng_.chance(0.5) ? number(hvsl::kUtcbWords - 1) : value();
  }

  // A word an attacker hands a caller: anything, biased toward the small
  // numbers and addresses a caller might take for an answer.
  Imm adversarial() {
    switch (rng_.below(4)) {
      case 0: return number(Word(rng_.irange(0, 12)));
      case 1: return number(imm_max());
      default: return value();
    }
  }

  // Writes 1..4 random words into the VM's own UTCB, mostly at its start
  // (what a reply or call of mtd 0..3 copies).
  void utcb_write() {
    if (!v_.utcb) return store();
    auto [ra, rv] = two_regs();
    Word top = std::min<Word>(hvsl::kUtcbWords, m_.profile->page_size) - 1;
    for (int n = rng_.irange(1, 4); n > 0; --n) {
      Word off = rng_.chance(0.85) ? Word(rng_.irange(0, 3)) : top;
      emit(mov(ra, {v_.utcb->value + off, off ? fmt::format("{} + {}", v_.utcb->text, off) : v_.utcb->text}));
      emit(mov(rv, adversarial()));
      emit(op2(Op::Str, rv, ra));
    }
  }

  // mov r0, IPC_CALL (+ CALL_NOWAIT) + sel * SEL; mov r1, mtd; hvc
  void ipc_call(Word sel, bool nowait) {
    emit(mov(0, nova_r0(hvsl::NovaCall::IpcCall, sel, nowait ? hvsl::kCallNoWait << hvsl::kFlagShift : 0,
                        "CALL_NOWAIT")));
    emit(mov(1, mtd()));
    emit(hvc());
  }

  // A reply of mtd 0..3 (sometimes 511 or any word), mostly after writing
  // words into the UTCB, which the reply copies into the caller's.
  void ipc_reply(bool write_first) {
    if (write_first) utcb_write();
    emit(mov(0, nova_r0(hvsl::NovaCall::IpcReply, 0)));
    Imm n = number(Word(rng_.irange(0, 3)));
    if (rng_.chance(0.15)) n = rng_.chance(0.6) ? number(hvsl::kUtcbWords - 1) : value();
    emit(mov(1, n));
    emit(hvc());
  }

  // ctrl_sm up, down or down-and-zero; a down with r1 = 0 may block.
  void ctrl_sm() {
    Word sel = selector(hvsl::CapKind::Sm);
    Word down = hvsl::kSmDown << hvsl::kFlagShift, zero = hvsl::kSmZero << hvsl::kFlagShift;
    switch (rng_.below(3)) {
      case 0: emit(mov(0, nova_r0(hvsl::NovaCall::CtrlSm, sel))); break;
      case 1: emit(mov(0, nova_r0(hvsl::NovaCall::CtrlSm, sel, down, "SM_DOWN"))); break;
      default: emit(mov(0, nova_r0(hvsl::NovaCall::CtrlSm, sel, down + zero, "SM_DOWN + SM_ZERO")));
    }
    emit(mov(1, number(rng_.chance(0.5) ? 0 : 1)));  // a deadline (passed at once) or none
    emit(hvc());
  }

  // ctrl_pd from one obj capability's space to another's: r2 = source
  // selector * 4096 + order, r3 = destination selector * 4096 + permission mask.
  void ctrl_pd() {
    Word src = selector(hvsl::CapKind::Obj), dst = selector(hvsl::CapKind::Obj);
    Word ord = rng_.chance(0.7) ? 0 : Word(rng_.irange(0, 4));
    Word ssb = !v_.selectors.empty() && rng_.chance(0.6) ? rng_.pick(v_.selectors) : Word(rng_.irange(0, 15));
    if (rng_.chance(0.9)) ssb -= ssb % (Word(1) << ord);  // aligned, mostly
    Word dsb = !v_.selectors.empty() && rng_.chance(0.3) ? rng_.pick(v_.selectors) : Word(rng_.irange(0, 31));
    if (rng_.chance(0.9)) dsb -= dsb % (Word(1) << ord);
    Word mask = rng_.chance(0.5) ? hvsl::perm::kMask : Word(rng_.irange(0, 31));
    emit(mov(0, nova_r0(hvsl::NovaCall::CtrlPd, src)));
    emit(mov(1, number(dst)));
    emit(mov(2, {ssb * 4096 + ord, fmt::format("{} * 4096 + {}", ssb, ord)}));
    emit(mov(3, {dsb * 4096 + mask, fmt::format("{} * 4096 + {}", dsb, mask)}));
    emit(hvc());
  }

  // create_sm at a selector (mostly a free one) with the PD capability in r1.
  void create_sm() {
    Word target = rng_.chance(0.8) ? Word(rng_.irange(0, 40)) : selector(hvsl::CapKind::Sm);
    emit(mov(0, nova_r0(hvsl::NovaCall::CreateSm, target)));
    emit(mov(1, number(selector(hvsl::CapKind::Pd))));
    emit(mov(2, rng_.pick(v_.small)));
    emit(hvc());
  }

  // ctrl_pt: a new id for a portal (what its handler gets in r0).
  void ctrl_pt() {
    emit(mov(0, nova_r0(hvsl::NovaCall::CtrlPt, selector(hvsl::CapKind::Pt))));
    emit(mov(1, value()));
    emit(hvc());
  }

  // Any call number (15: reserved), any selector and flags, random p1..p3.
  void nova_any() {
    Word call = Word(rng_.irange(0, 15));
    Word sel = rng_.chance(0.7) ? selector(hvsl::CapKind(rng_.irange(0, hvsl::kCapKindCount - 1))) : 0;
    Word flags = rng_.chance(0.3) ? Word(rng_.irange(0, 15)) << hvsl::kFlagShift : 0;
    std::string text =
        call < Word(hvsl::kNovaCallCount) ? std::string(hvsl::name(hvsl::NovaCall(call))) : number(call).text;
    if (flags) text += fmt::format(" + {} * 16", flags >> hvsl::kFlagShift);
    if (sel) text += fmt::format(" + {} * SEL", sel);
    emit(mov(0, {sel * 256 + flags + call, text}));
    for (Reg r = 1; r <= 3; ++r)
      if (rng_.chance(0.7)) emit(mov(r, rng_.chance(0.5) ? number(selector(hvsl::CapKind::Pd)) : value()));
    emit(hvc());
  }

  void nova_snippet() {
    switch (rng_.below(100) / 5) {  // 20 slots of 5%
      case 0: case 1: case 2:  // an ipc_call, maybe with words written first and read after
        if (rng_.chance(0.5)) utcb_write();
        ipc_call(selector(hvsl::CapKind::Pt), rng_.chance(0.5));
        if (rng_.chance(0.3)) load();
        break;
      case 3: case 4: ipc_reply(rng_.chance(0.7)); break;
      case 5: case 6: utcb_write(); break;
      case 7: ctrl_sm(); break;
      case 8: ctrl_pd(); break;
      case 9: create_sm(); break;
      case 10: ctrl_pt(); break;
      case 11: nova_any(); break;
      case 12: case 13: store(); break;
      case 14:
        if (rng_.chance(0.5)) load();
        else copy();
        break;
      case 15: case 16: arith(); break;
      case 17: branch(); break;
      case 18: emit(op1(Op::Nop)); break;
      default:  // rarely halt (the EC ends; a caller waiting for its reply waits for good) or fail
        if (rng_.chance(0.9)) arith();
        else emit(op1(rng_.chance(0.5) ? Op::Halt : Op::Fail));
    }
  }
};

// ---- placing programs into the machine ----------------------------------------------------

bool is_mailbox(const Machine& m, std::size_t page) {
  for (const auto& vm : m.vms)
    if (vm.tx == page || vm.rx == page) return true;
  return false;
}

// Where VM `v`'s program goes: the start of its code page, or for a VM
// without code, of a page it owns (else can access) that holds no mailbox.
// Returns the page index and the room there (up to the next code block).
std::optional<std::pair<std::size_t, Word>> code_place(const Machine& m, VmId v) {
  const Word ps = m.profile->page_size;
  std::optional<std::size_t> page;
  if (m.vms[v].code) {
    Word base = m.profile->page_of(m.vms[v].code->base);
    for (std::size_t i = 0; i < m.pages.size(); ++i)
      if (m.pages[i].base == base) page = i;
  } else {
    for (int pass = 0; pass < 2 && !page; ++pass)
      for (std::size_t i = 0; i < m.pages.size() && !page; ++i) {
        const auto& pg = m.pages[i];
        if (!hvsl::contains(pg.access, v) || is_mailbox(m, i) || (pass == 0 && pg.owner != v)) continue;
        page = i;
      }
  }
  if (!page) return std::nullopt;
  Word start = m.pages[*page].base, end = start + ps;
  for (VmId o = 0; o < m.vms.size(); ++o) {
    if (o == v || !m.vms[o].code) continue;
    Word b = m.vms[o].code->base, e = b + m.vms[o].code->instrs.size();
    if (b <= start && e > start) return std::nullopt;  // another VM's code starts the page
    if (b > start && b < end) end = b;
  }
  return std::pair{*page, end - start};
}

struct Attack {
  Machine machine;
  std::vector<Program> programs;  // one per unknown VM that got code
};

Attack make_attack(const Machine& base, Rng& rng, const Options& o) {
  Attack a{base, {}};
  Machine& m = a.machine;
  for (VmId v = 0; v < m.vms.size(); ++v) {
    if (m.vms[v].known) continue;
    auto place = code_place(base, v);
    if (!place) continue;  // nowhere to put code: the VM faults at its first fetch
    Program p;
    p.vm = v;
    p.page = m.pages[place->first].name;
    p.base = m.pages[place->first].base;
    p.had_code = m.vms[v].code.has_value();
    Generator gen(m, v, rng);
    p.code = gen.generate(o.length, int(std::min<Word>(place->second, 100000)));
    hvsl::CodeBlock cb;
    cb.base = p.base;
    for (auto& g : p.code) {
      if (g.target) g.instr.imm = p.base + Word(*g.target);
      // Safety net: an instruction hvsl would reject (an address above the
      // largest immediate, in a vmsl machine with pages that high) becomes nop.
      if (hvsl::invalid_reason(g.instr) || g.instr.imm > m.profile->imm_max) g = op1(Op::Nop);
      cb.instrs.push_back(g.instr);
      cb.locs.push_back(m.vms[v].loc);
    }
    cb.loc = m.vms[v].loc;
    m.vms[v].code = std::move(cb);
    m.vms[v].regs.erase(hvsl::kPc);  // start at the program
    a.programs.push_back(std::move(p));
  }
  m.encode_programs();
  return a;
}

// ---- checking the claims ------------------------------------------------------------------

// `true` (or nothing): nothing to evaluate.
bool trivial(const hvsl::AssertionPtr& a) {
  return !a || (a->kind == hvsl::Assertion::Kind::Pure && hvsl::is_true(a->cond));
}

std::string claim_of(const hvsl::Postcondition& post) {
  bool trivial = ::trivial(post.assertion);
  return post.never_terminates ? "never terminates (never halts, never faults)"
         : trivial             ? "never faults (halting allowed)"
                               : "ends only by halting, with its postcondition";
}

struct Violation {
  VmId vm = 0;
  std::string what;
};

// Checks every known VM with an `ensures` on the final state. `pre` holds
// each VM's precondition bindings (from the initial state), or nullopt for a
// VM whose precondition does not hold there (it is not checked).
std::vector<Violation> check_claims(const Machine& m, const hvsl::State& initial, const hvsl::State& final_state,
                                    const std::vector<std::optional<hvsl::Env>>& pre, std::uint64_t& undecided) {
  std::vector<Violation> out;
  for (VmId v = 0; v < m.vms.size(); ++v) {
    const auto& d = m.vms[v];
    if (!d.known || !d.spec.ensures || !pre[v]) continue;
    const auto& post = *d.spec.ensures;
    const auto& s = final_state.vms[v];
    std::string claim = claim_of(post);
    switch (s.mode) {
      case hvsl::Mode::Exec: break;
      case hvsl::Mode::Fail:
      case hvsl::Mode::FailPageFault:
        out.push_back({v, fmt::format("{} ({}) ends in {} at pc {}", d.name, claim, hvsl::name(s.mode),
                                      hvsl::describe_addr(m, s.pc()))});
        break;
      case hvsl::Mode::Halt:
        if (post.never_terminates) {
          out.push_back({v, fmt::format("{} ({}) halted", d.name, claim)});
        } else if (post.assertion) {
          auto r = hvsl::eval_assertion(post.assertion, final_state, v, initial.vms[v].regs, *pre[v]);
          if (r.truth == hvsl::Truth::Fails)
            out.push_back({v, fmt::format("{} ({}) halted, but its postcondition (line {}) does not hold: {}", d.name,
                                          claim, post.loc.line, r.reason)});
          else if (r.truth == hvsl::Truth::Unknown)
            ++undecided;
        }
        break;
    }
  }
  return out;
}

// The known VMs' preconditions on the initial state, with the start
// registers as old(..): the names they bind, which the postconditions and
// asserts use; nullopt for a VM without an ensures (nothing to check) or
// whose precondition does not hold there (warned about once, in `failed`).
// `reads_attack_page` is set if a precondition reads a word of a page where
// an unknown VM's program goes.
std::vector<std::optional<hvsl::Env>> preconditions(const Machine& m, const hvsl::State& initial,
                                                    std::set<VmId>& failed, bool* reads_attack_page = nullptr) {
  std::set<Word> attack_pages;
  for (VmId v = 0; v < m.vms.size(); ++v)
    if (!m.vms[v].known)
      if (auto place = code_place(m, v)) attack_pages.insert(m.pages[place->first].base);
  std::vector<std::optional<hvsl::Env>> pre(m.vms.size());
  for (VmId v = 0; v < m.vms.size(); ++v) {
    if (!m.vms[v].known || !m.vms[v].spec.ensures) continue;
    auto r = hvsl::eval_assertion(m.vms[v].spec.requires_, initial, v, initial.vms[v].regs);
    // (The matched chunks are complete only if the precondition holds.)
    if (reads_attack_page && r.truth != hvsl::Truth::Holds) *reads_attack_page = true;
    for (const auto& ch : r.chunks)
      if (reads_attack_page && ch.resource == "mem" && !ch.keys.empty() &&
          attack_pages.count(m.profile->page_of(ch.keys[0].word)))
        *reads_attack_page = true;
    if (r.truth != hvsl::Truth::Fails) pre[v] = r.bindings;
    else if (failed.insert(v).second)
      std::cout << fmt::format("  warning: {}'s precondition does not hold in the initial state ({}): its claim is "
                               "not checked\n", m.vms[v].name, r.reason);
  }
  return pre;
}

// ---- the test -----------------------------------------------------------------------------

struct Counts {
  std::uint64_t programs = 0, steps = 0, violations = 0, undecided = 0;
  std::map<std::string, std::uint64_t> ends;   // how runs ended: "step limit", "known VM halted", ...
  std::map<std::string, std::uint64_t> calls;  // "SHARE ok", "RUN DENIED", ...
  std::map<VmId, std::uint64_t> ran, ended;    // per checked VM: programs in which it ran / halted or faulted
  std::uint64_t replied_to_known = 0;          // abi nova: programs in which an unknown EC replied to a known caller
};

// Why a run stopped: "step limit", "known VM halted", "unknown VM: page fault", ...
std::string how_it_ended(const hvsl::State& s, const hvsl::RunResult& r) {
  if (r.reason == hvsl::StopReason::StepLimit) return "step limit";
  const auto& vm = s.vms[s.current];
  std::string who = s.machine->vms[s.current].known ? "known VM" : "unknown VM";
  if (s.machine->abi == hvsl::AbiKind::Nova && vm.mode == hvsl::Mode::Exec &&
      s.nova.ecs[s.current].wait != hvsl::NovaEc::Wait::None)
    return who + " waits, no EC ready";
  switch (vm.mode) {
    case hvsl::Mode::Halt: return who + " halted";
    case hvsl::Mode::FailPageFault: return who + ": page fault";
    default: break;
  }
  // FailI: a `fail` instruction, or a fetch that failed (no access, not an instruction).
  if (auto page = hvsl::PageIndex(*s.machine).find(vm.pc())) {
    const hvsl::Instr* i = s.machine->encoding.decode(s.word(*page, vm.pc() % s.profile().page_size));
    if (i && i->op == Op::Fail) return who + ": fail";
  }
  return who + ": bad fetch";
}

// The asserts and invariants of known VM `v` at its pc, which the verified
// claim says hold whenever they are reached (an invariant written above a
// label only on the fall-through path, not on a jump to the label). The
// first that does not hold, or nullopt.
std::optional<Violation> ghost_violation(const Machine& m, const hvsl::State& s, VmId v, bool jumped,
                                         const hvsl::State& initial, const hvsl::Env& pre, std::uint64_t& undecided) {
  const auto& d = m.vms[v];
  Word pc = s.vms[v].pc();
  if (!d.code || pc < d.code->base) return std::nullopt;
  auto g = d.spec.ghost.find(std::size_t(pc - d.code->base));
  if (g == d.spec.ghost.end()) return std::nullopt;
  for (const auto& op : g->second) {
    bool is_assert = op.kind == hvsl::GhostOp::Kind::Assert;
    if ((!is_assert && op.kind != hvsl::GhostOp::Kind::Invariant) || (op.fallthrough_only && jumped)) continue;
    if (trivial(op.assertion)) continue;  // `invariant true` heads many loops: skip the evaluation
    auto r = hvsl::eval_assertion(op.assertion, s, v, initial.vms[v].regs, pre);
    if (r.truth == hvsl::Truth::Unknown) ++undecided;
    if (r.truth == hvsl::Truth::Fails)
      return Violation{v, fmt::format("{}: the {} at line {} does not hold when reached (pc {}): {}", d.name,
                                      is_assert ? "assert" : "invariant", op.loc.line, hvsl::describe_addr(m, pc),
                                      r.reason)};
  }
  return std::nullopt;
}

struct RunOutcome {
  hvsl::RunResult result;
  std::optional<Violation> ghost;  // a failed assert or invariant: the run stopped there
  hvsl::VmSet stepped = 0;         // the VMs that executed at least one instruction
  bool replied_to_known = false;   // abi nova: an unknown EC replied to a known caller
};

// abi nova: a NOVA call's outcome, as "IPC_CALL SUCCESS", "CTRL_SM blocks",
// "IPC_REPLY to a known caller", for the call `id` that `caller` made;
// `partner` is the caller's pending caller before the call, if it waited
// for the reply.
std::string nova_outcome(const hvsl::State& s, VmId caller, Word id, std::optional<VmId> partner) {
  Word call = id % 16;
  if (call >= Word(hvsl::kNovaCallCount)) return "(reserved) BAD_HYP";
  std::string what(hvsl::name(hvsl::NovaCall(call)));
  auto wait = s.nova.ecs[caller].wait;
  if (hvsl::NovaCall(call) == hvsl::NovaCall::IpcReply) {
    if (!partner) return what + " with no caller";
    return what + (s.machine->vms[*partner].known ? " to a known caller" : " to an unknown caller");
  }
  if (hvsl::NovaCall(call) == hvsl::NovaCall::IpcCall && wait == hvsl::NovaEc::Wait::Callee)
    return what + " waits for a busy callee";
  if (wait == hvsl::NovaEc::Wait::Semaphore) return what + " blocks";
  Word st = s.vms[caller].regs[0];
  return what + " " + (st < Word(hvsl::kNovaStatusCount) ? std::string(hvsl::name(hvsl::NovaStatus(st)))
                                                         : fmt::format("status {}", st));
}

// Runs the machine, checking the checked VMs' asserts and invariants
// (those with `pre` bindings) and counting hypercalls by call and outcome.
RunOutcome run(hvsl::Interpreter& in, const hvsl::State& initial, const std::vector<std::optional<hvsl::Env>>& pre,
               std::uint64_t max_steps, Counts& c) {
  const Machine& m = *initial.machine;
  const hvsl::Profile& p = in.state().profile();
  RunOutcome out;
  std::vector<bool> jumped(m.vms.size(), false);  // each VM's last instruction jumped
  while (in.running() && out.result.steps < max_steps) {
    VmId caller = in.state().current;
    if (pre[caller] && (out.ghost = ghost_violation(m, in.state(), caller, jumped[caller], initial, *pre[caller],
                                                    c.undecided)))
      break;
    out.stepped |= hvsl::vm_bit(caller);
    Word id = in.state().vms[caller].regs[0];
    Word nz = in.state().vms[caller].regs[hvsl::kNz];
    std::optional<VmId> partner;  // abi nova: the caller waiting for this EC's reply
    if (m.abi == hvsl::AbiKind::Nova) {
      const auto& ecs = in.state().nova.ecs;
      if (auto p = ecs[caller].partner; p && ecs[*p].wait == hvsl::NovaEc::Wait::Reply) partner = p;
    }
    auto info = in.step();
    ++out.result.steps;
    jumped[caller] = info.instr && (info.instr->op == Op::Br || (info.instr->op == Op::Bne && nz != hvsl::kNzEqual));
    if (!info.instr || info.instr->op != Op::Hvc) continue;
    if (m.abi == hvsl::AbiKind::Nova) {
      std::string what = nova_outcome(in.state(), caller, id, partner);
      if (partner && id % 16 == Word(hvsl::NovaCall::IpcReply) && !m.vms[caller].known && m.vms[*partner].known)
        out.replied_to_known = true;
      ++c.calls[what];
      continue;
    }
    auto call = hvsl::decode_hypercall(p, id);
    std::string outcome = "ok";
    const auto& regs = in.state().vms[caller].regs;
    if (regs[0] == hvsl::encode_error(p)) {
      outcome = fmt::format("error {}", regs[2]);
      for (int e = 0; e < 5; ++e)
        if (regs[2] == hvsl::encode(p, hvsl::HvcError(e))) outcome = std::string(hvsl::name(hvsl::HvcError(e)));
    }
    ++c.calls[fmt::format("{} {}", call ? hvsl::name(*call) : "(no call)", outcome)];
  }
  bool limit = in.running() && !out.ghost;
  out.result.reason = limit ? hvsl::StopReason::StepLimit : hvsl::StopReason::Terminated;
  return out;
}

std::string report(const std::string& file, int k, const Options& o, const Attack& a, const hvsl::State& initial,
                   const hvsl::State& final_state, const hvsl::RunResult& r, const std::vector<Violation>& vs) {
  const Machine& m = a.machine;
  std::string words;
  for (const auto& w : o.words) words += " --word " + w;
  std::string out =
      o.as_is ? fmt::format("{}: VIOLATION with the file's own code (--as-is)\n", file)
              : fmt::format("{}: VIOLATION in program {} (rerun: hvsl_attack --seed {} --length {} --max-steps {}{} "
                            "--only {} {})\n", file, k, o.seed, o.length, o.max_steps, words, k, file);
  for (const auto& v : vs) out += "  claim violated: " + v.what + "\n";
  if (r.reason == hvsl::StopReason::Terminated && final_state.vms[final_state.current].mode == hvsl::Mode::Exec)
    out += "  (the run was stopped where the assert or invariant failed)\n";
  if (!a.programs.empty()) out += "  the unknown VMs' code (paste into the file, replacing their code blocks):\n";
  for (const auto& p : a.programs) {
    out += fmt::format("vm {} unknown {{   // {}\n", m.vms[p.vm].name,
                       p.had_code ? "replaces its code block" : "it had no code: add this block");
    out += show(m, p) + "}\n";
  }
  out += "  final state:\n";
  std::string fin = hvsl::describe_final(initial, final_state, r);
  std::size_t pos = 0;
  while (pos < fin.size()) {
    std::size_t nl = fin.find('\n', pos);
    if (nl == std::string::npos) nl = fin.size();
    out += "    " + fin.substr(pos, nl - pos) + "\n";
    pos = nl + 1;
  }
  return out;
}

// Attacks one file with o.programs programs; returns 0, 1 or 2 (exit codes).
int attack_file(const std::string& file, const Options& o, Counts& total) {
  std::string why;
  auto src = hvsl::read_source_file(file, why);
  if (!src) {
    std::cerr << fmt::format("{}: error: cannot read file: {}\n", file, why);
    return 2;
  }
  hvsl::Diagnostics diags;
  auto base = hvsl::parse_machine(*src, diags);
  if (!base) {
    for (const auto& d : diags.all()) std::cerr << hvsl::render(d, src.get());
    return 2;
  }
  // --word ADDR=VALUE: an initial word the file does not give (so that a
  // precondition naming its value holds in the initial state).
  for (const auto& w : o.words) {
    std::size_t eq = w.find('=');
    Word addr = 0, value = 0;
    try {
      std::size_t n1 = 0, n2 = 0;
      if (eq == std::string::npos) throw std::invalid_argument(w);
      addr = std::stoull(w.substr(0, eq), &n1, 0);
      value = std::stoull(w.substr(eq + 1), &n2, 0);
      if (n1 != eq || n2 != w.size() - eq - 1) throw std::invalid_argument(w);
    } catch (const std::exception&) {
      std::cerr << fmt::format("{}: error: --word {}: expected ADDR=VALUE (numbers)\n", file, w);
      return 2;
    }
    bool in_code = false;
    for (const auto& vm : base->vms)
      if (vm.code && addr >= vm.code->base && addr < vm.code->base + vm.code->instrs.size()) in_code = true;
    if (!base->page_at(addr) || in_code || value > base->profile->word_max) {
      std::cerr << fmt::format("{}: error: --word {}: the address must be in a declared page and hold no "
                               "instruction, the value at most {}\n", file, w, base->profile->word_max);
      return 2;
    }
    std::erase_if(base->memory, [&](const hvsl::MemoryInit& mi) { return mi.addr == addr; });
    base->memory.push_back({addr, value, {}});
    std::cout << fmt::format("{}: initial word {} = {} (--word)\n", file, hvsl::describe_addr(*base, addr), value);
  }
  std::vector<std::string> checked, unknown, unchecked;
  for (const auto& vm : base->vms) {
    if (!vm.known) unknown.push_back(vm.name);
    else if (vm.spec.ensures) checked.push_back(vm.name + ": " + claim_of(*vm.spec.ensures));
    else unchecked.push_back(vm.name);
  }
  std::cout << fmt::format("{}: unknown VMs {{{}}}; claims checked: {}\n", file, fmt::join(unknown, ", "),
                           checked.empty() ? "none (no known VM has an ensures)" : fmt::format("{}", fmt::join(checked, "; ")));
  if (!unchecked.empty())
    std::cout << fmt::format("  known VMs without an ensures (no claim to check): {}\n", fmt::join(unchecked, ", "));
  if (unknown.empty()) std::cout << "  warning: no unknown VM: every program is the file's own\n";
  for (VmId v = 0; v < base->vms.size(); ++v)
    if (!base->vms[v].known && !o.as_is && !code_place(*base, v))
      std::cout << fmt::format("  warning: {} has no page to hold code (it faults at its first fetch)\n",
                               base->vms[v].name);

  Counts c;
  std::set<VmId> pre_failed;
  // Only the attackers' code pages differ between programs: preconditions
  // that read no word there are evaluated once (a forall over a page costs
  // milliseconds).
  std::optional<std::vector<std::optional<hvsl::Env>>> file_pre;
  {
    hvsl::State initial = hvsl::initial_state(*base);
    bool reads_attack_page = false;
    auto pre = preconditions(*base, initial, pre_failed, &reads_attack_page);
    if (!reads_attack_page) file_pre = pre;
  }
  int first = o.as_is ? 0 : o.only.value_or(0);
  int last = o.as_is || o.only ? first + 1 : o.programs;
  for (int k = first; k < last; ++k) {
    Rng rng(o.seed, std::uint64_t(k));
    // --as-is: the file's own code, to replay a pasted regression.
    Attack a = o.as_is ? Attack{*base, {}} : make_attack(*base, rng, o);
    const Machine& m = a.machine;
    hvsl::State initial = hvsl::initial_state(m);
    auto pre = file_pre ? *file_pre : preconditions(m, initial, pre_failed);
    hvsl::Interpreter in(initial);
    RunOutcome run_out = run(in, initial, pre, o.max_steps, c);
    const hvsl::RunResult& r = run_out.result;
    const hvsl::State& fin = in.state();
    for (VmId v = 0; v < m.vms.size(); ++v) {
      if (!pre[v]) continue;
      if (hvsl::contains(run_out.stepped, v)) ++c.ran[v];
      if (fin.vms[v].mode != hvsl::Mode::Exec) ++c.ended[v];
    }
    ++c.programs;
    c.steps += r.steps;
    if (run_out.replied_to_known) ++c.replied_to_known;
    std::string ended = run_out.ghost ? "known VM: assert or invariant failed" : how_it_ended(fin, r);
    ++c.ends[ended];
    if (o.print) {
      std::cout << fmt::format("-- program {}: {} after {} steps\n", k, ended, r.steps);
      for (const auto& p : a.programs) std::cout << fmt::format("vm {} unknown {{\n{}}}\n", m.vms[p.vm].name, show(m, p));
    }
    auto vs = check_claims(m, initial, fin, pre, c.undecided);
    if (run_out.ghost) vs.insert(vs.begin(), *run_out.ghost);
    if (vs.empty()) continue;
    if (c.violations++ < std::uint64_t(o.show)) std::cout << report(file, k, o, a, initial, fin, r, vs);
  }

  std::string ends;
  for (const auto& [how, n] : c.ends) ends += fmt::format("{}{} {}", ends.empty() ? "" : ", ", n, how);
  std::cout << fmt::format("  {} programs, {} steps; runs ended: {}; {} assertions undecided; {} violation{}\n",
                           c.programs, c.steps, ends, c.undecided, c.violations, c.violations == 1 ? "" : "s");
  for (auto [v, n] : c.ran)
    std::cout << fmt::format("  {} ran in {} programs, halted or faulted in {}\n", base->vms[v].name, n, c.ended[v]);
  if (base->abi == hvsl::AbiKind::Nova)
    std::cout << fmt::format("  an unknown EC replied to a known caller in {} programs\n", c.replied_to_known);
  std::string calls;
  for (const auto& [what, n] : c.calls) calls += fmt::format(" {}={}", what, n);
  std::cout << "  hypercalls:" << (calls.empty() ? " none" : calls) << "\n";
  total.programs += c.programs;
  total.steps += c.steps;
  total.violations += c.violations;
  return c.violations ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app("hvsl_attack: random code in the unknown VMs must not break a known VM's claim");
  app.add_option("--programs", o.programs, "random programs per file")->check(CLI::NonNegativeNumber);
  app.add_option("--seed", o.seed, "random seed (the default is fixed, so runs are reproducible)");
  app.add_option("--max-steps", o.max_steps, "steps per run")->check(CLI::PositiveNumber);
  app.add_option("--length", o.length, "random instructions per unknown VM, before its final loop")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--show", o.show, "violations reported in full, per file")->check(CLI::NonNegativeNumber);
  app.add_option("--only", o.only, "run only program K (to reproduce a report)")->check(CLI::NonNegativeNumber);
  app.add_flag("--as-is", o.as_is, "run the file's own code once (a pasted regression) and check the claims");
  app.add_flag("--print", o.print, "print every program and how its run ended");
  app.add_option("--word", o.words, "ADDR=VALUE: set an initial word, as `word ADDR = VALUE` in the file (repeatable)")
      ->allow_extra_args(false);  // one ADDR=VALUE per --word: the files come after
  app.add_option("files", o.files, ".hvsl files")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  int worst = 0;
  Counts total;
  for (const auto& f : o.files) worst = std::max(worst, attack_file(f, o, total));
  std::cout << fmt::format("hvsl_attack: {} file{}, {} programs, {} steps, {} violation{}\n", o.files.size(),
                           o.files.size() == 1 ? "" : "s", total.programs, total.steps, total.violations,
                           total.violations == 1 ? "" : "s");
  return worst;
}
