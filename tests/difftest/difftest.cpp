// difftest: the differential soundness tester (issue 3, docs/difftest.md).
//
// It generates small random annotated vmsl programs as .hvsl text, verifies
// them with hvsl::verify_machine, and checks the verdicts against the
// reference interpreter:
//   - Verified: from many start states that satisfy the precondition (found
//     by sampling and checked with logic/assertion_eval), the VM must halt
//     without faulting, every loop invariant must hold whenever the loop head
//     is reached, and the postcondition must hold at the end. A violation is
//     a soundness bug: the program and the state are printed and saved.
//   - Failed: a counterexample the replay confirmed is checked again here
//     (independently of vcgen/replay.cpp): its start state must satisfy the
//     precondition and running it must show the failure. Unconfirmed
//     counterexamples are counted and printed as warnings.
//   - Inconclusive: counted.
// The last line is "N passed, M failed"; the exit code is 1 if M > 0.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "frontend/diagnostics.h"
#include "frontend/parser.h"
#include "frontend/source.h"
#include "logic/assertion_eval.h"
#include "logic/interpreter.h"
#include "logic/machine.h"
#include "logic/state.h"
#include "vcgen/result.h"
#include "vcgen/verifier.h"

#ifndef HVSL_DIFFTEST_FOUND_DIR
#define HVSL_DIFFTEST_FOUND_DIR "tests/difftest/found"
#endif

namespace {

using hvsl::Word;
using Regs = std::array<Word, hvsl::kRegCount>;

constexpr Word kMax = 1'999'999;
constexpr Word kProg = 1000;   // code page
constexpr Word kData = 2000;   // the VM's data page
constexpr Word kNoAcc = 3000;  // a page the VM owns but cannot access
constexpr int kDataWords = 16; // data words the generator uses (offsets 0..15)
constexpr std::size_t kMaxExpr = 500;  // longer symbolic values are dropped (unknown)
constexpr std::uint64_t kMaxSteps = 100'000;

// ---- randomness -----------------------------------------------------------------

struct Rng {
  std::mt19937_64 g;
  explicit Rng(std::uint64_t seed) : g(seed) {}
  std::uint64_t range(std::uint64_t lo, std::uint64_t hi) {  // inclusive
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(g);
  }
  int irange(int lo, int hi) { return int(range(std::uint64_t(lo), std::uint64_t(hi))); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(g) < p; }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[range(0, v.size() - 1)];
  }
};

std::uint64_t mix(std::uint64_t x) {  // splitmix64
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// ---- symbolic values ----------------------------------------------------------------
//
// The generator follows its own program symbolically, writing each register's
// and data word's value as a spec expression over old(rN) and the
// precondition's pattern names (nullopt: not known). Spec arithmetic is the
// profile's (saturating), so these expressions are exact; they give the true
// facts of the postconditions and invariants, and mutated copies the false
// ones.

// A symbolic value: a small expression tree printed fully parenthesised.
// Null means "not known". `alt_text` prints an equivalent but different form
// (operands of + and == swapped, x * 2 as x + x, a < b as b > a, an if-then-
// else with its condition negated), so that true facts are not just the
// verifier's own terms folded back to "true" but reach the solver.
struct Node {
  enum Kind { Atom, Bin, Ite, Not } kind = Atom;
  std::string op;  // Atom: the text; Bin: the operator
  std::vector<std::shared_ptr<const Node>> args;
  std::string text;  // canonical print
};
using Sym = std::shared_ptr<const Node>;

Sym atom(const std::string& t) {
  auto n = std::make_shared<Node>();
  n->op = t;
  n->text = t;
  return n;
}
Sym atom(Word w) { return atom(std::to_string(w)); }

bool is(const Sym& s, const std::string& t) { return s && s->text == t; }
const std::string& text(const Sym& s) { return s->text; }

Sym bin(const Sym& a, const std::string& op, const Sym& b) {
  if (!a || !b) return nullptr;
  if (a->text.size() + b->text.size() + op.size() + 4 > kMaxExpr) return nullptr;
  auto n = std::make_shared<Node>();
  n->kind = Node::Bin;
  n->op = op;
  n->args = {a, b};
  n->text = "(" + a->text + " " + op + " " + b->text + ")";
  return n;
}

Sym ite(const Sym& c, const Sym& t, const Sym& e) {
  if (t && e && t->text == e->text) return t;
  if (!c || !t || !e) return nullptr;
  if (c->text.size() + t->text.size() + e->text.size() + 8 > kMaxExpr) return nullptr;
  auto n = std::make_shared<Node>();
  n->kind = Node::Ite;
  n->args = {c, t, e};
  n->text = "(" + c->text + " ? " + t->text + " : " + e->text + ")";
  return n;
}

Sym not_(const Sym& a) {
  if (!a) return nullptr;
  auto n = std::make_shared<Node>();
  n->kind = Node::Not;
  n->args = {a};
  n->text = "!" + (a->kind == Node::Atom ? "(" + a->text + ")" : a->text);
  return n;
}

template <class R>
std::string alt_text(const Sym& s, R& rng) {
  auto coin = [&](int pct) { return int(rng.range(0, 99)) < pct; };
  switch (s->kind) {
    case Node::Atom: return s->text;
    case Node::Not: {
      std::string a = alt_text(s->args[0], rng);
      return "!" + (s->args[0]->kind == Node::Atom ? "(" + a + ")" : a);
    }
    case Node::Ite: {
      std::string c = alt_text(s->args[0], rng), t = alt_text(s->args[1], rng), e = alt_text(s->args[2], rng);
      if (coin(30)) return "(!" + c + " ? " + e + " : " + t + ")";
      return "(" + c + " ? " + t + " : " + e + ")";
    }
    case Node::Bin: break;
  }
  const std::string& op = s->op;
  std::string a = alt_text(s->args[0], rng), b = alt_text(s->args[1], rng);
  if ((op == "+" || op == "==" || op == "&&") && coin(50)) std::swap(a, b);
  if (op == "*" && is(s->args[1], "2") && coin(50)) return "(" + a + " + " + alt_text(s->args[0], rng) + ")";
  if (op == "<" && coin(50)) return "(" + b + " > " + a + ")";
  return "(" + a + " " + op + " " + b + ")";
}

// A points-to value, as written. (An early frontend rejected values that
// start with '(': "mem[a] |-> (x)" read as a broken tuple. difftest found
// that; it is fixed, and values are written as they are to keep it so.)
std::string pt_value(const std::string& e) { return e; }

std::string reg(int r) { return r == hvsl::kNz ? "nz" : "r" + std::to_string(r); }

// The data word with offset k; k == -1 is the word the pointer register
// `ptr` held at the start (a chunk with a symbolic address).
std::string mem_at(int k, int ptr) {
  if (k < 0) return fmt::format("mem[old({})]", reg(ptr));
  return k ? fmt::format("mem[data + {}]", k) : "mem[data]";
}

struct SymState {
  std::array<Sym, hvsl::kRegCount> regs;
  std::map<int, Sym> mem;  // data offset -> value (only words the precondition holds)
};

SymState ite_state(const Sym& c, const SymState& t, const SymState& e) {
  SymState out;
  for (std::size_t r = 0; r < out.regs.size(); ++r) out.regs[r] = ite(c, t.regs[r], e.regs[r]);
  for (const auto& [k, v] : e.mem) {
    auto it = t.mem.find(k);
    out.mem[k] = it == t.mem.end() ? nullptr : ite(c, it->second, v);
  }
  return out;
}

// ---- programs ---------------------------------------------------------------------------

// How to sample a start value: exactly `eq`, a copy of register `copy`, or a
// value in [lo, hi] (edge values preferred).
struct Hint {
  std::optional<Word> eq;
  std::vector<Word> choices;  // one of these (if not empty)
  std::optional<int> copy;
  Word lo = 0, hi = kMax;
};

struct Program {
  std::vector<std::string> pre;     // conjuncts of `requires`
  std::vector<std::string> code;    // lines of the code block
  std::array<Hint, hvsl::kRegCount> reg_hints;
  std::map<int, Hint> mem_hints;    // data offset -> hint (only chunk words)
  SymState final_state;             // symbolic values at the end (over every halt)
  std::vector<int> chunks;          // data offsets the precondition holds
  // Nothing wrong was generated on purpose (no bad access, no reachable
  // fail, no wrong invariant): with a true postcondition it should verify.
  bool sound = true;
  std::vector<std::string> old_facts;  // the precondition's pure facts about start values
  std::vector<Word> interesting;       // the program's constants and their neighbours, for sampling
  std::vector<std::string> binders;    // conjuncts of `requires` that bind names (they come first)
  std::vector<std::string> tail;       // conjuncts of `requires` that must come last (exists)
  std::set<int> cells;                 // words the precondition gives as cell(...) (unfolded at the start)
  std::set<int> refolded;              // cells folded again before every halt
  std::set<int> broken;                // cells folded before some halts but not all (left out of the postcondition)
  bool forall_block = false;           // words 8..11 come from one forall
  int ptr_reg = -1;                    // mem[rK] in the precondition, rK one of a few words 12..15 (mem key -1)

  std::string text(const std::string& post) const {
    std::string s = "profile vmsl\n";
    s += fmt::format("page prog0 at {} owner vm0 exclusive access {{vm0}}\n", kProg);
    s += fmt::format("page data at {} owner vm0 exclusive access {{vm0}}\n", kData);
    s += fmt::format("page noacc at {} owner vm0 exclusive\n\n", kNoAcc);
    s += "predicate cell(p, v) = mem[p] |-> v\n\n";
    s += "vm vm0 {\n";
    if (!pre.empty()) {
      s += "  requires ";
      for (std::size_t i = 0; i < pre.size(); ++i) s += (i ? " &*&\n           " : "") + pre[i];
      s += "\n";
    }
    s += "  ensures " + post + "\n";
    s += "  code at prog0 {\n";
    for (const auto& l : code) s += (l.back() == ':' ? "  " : "    ") + l + "\n";
    s += "  }\n}\n";
    return s;
  }
};

std::string value_fact(Rng& rng, const std::string& lhs, const Sym& e, bool want_false, const SymState& fin);

class Generator {
 public:
  explicit Generator(Rng& rng) : rng_(rng) {}

  Program make() {
    for (int r = 0; r < hvsl::kRegCount; ++r)
      if (r != hvsl::kPc) s_.regs[r] = atom("old(" + reg(r) + ")");
    code_word_ = rng_.chance(0.12);
    cw_at_halt_ = rng_.chance(0.6);
    if (code_word_) {
      p_.pre.push_back("mem[CW] |-> _");
      if (!cw_at_halt_) emit("CW:");
    }
    make_pre();
    int items = rng_.irange(2, 10);
    loop_at_ = rng_.chance(0.3) ? rng_.irange(0, items) : -1;
    for (int i = 0; i < items; ++i) {
      if (i == loop_at_) loop();
      item(0);
    }
    if (loop_at_ == items) loop();
    if (code_word_) code_word_op();
    halt_here();
    // The final values: halts in program order, each under its path condition.
    SymState fin = s_;
    for (auto it = halts_.rbegin(); it != halts_.rend(); ++it) fin = ite_state(it->first, it->second, fin);
    p_.final_state = fin;
    return std::move(p_);
  }

 private:
  Rng& rng_;
  Program p_;
  SymState s_;
  std::vector<std::pair<Sym, SymState>> halts_;  // early halts: path condition, state
  std::vector<Sym> path_;                        // conditions of the enclosing regions
  std::vector<std::string> facts_;               // what the paths still running know (no earlier halt)
  int labels_ = 0;
  int loop_at_ = -1;
  bool code_word_ = false, cw_at_halt_ = false;  // see code_word_op
  bool loop_done_ = false;
  int alias_offset_ = -1;  // the data word the pointer register must hold (see make_pre)
  int sym_reg_ = -1;  // a register bounded by sym_bound_ with chunks at 0..sym_bound_
  Word sym_bound_ = 0;

  std::string label() { return fmt::format("L{}", labels_++); }
  void emit(const std::string& l) { p_.code.push_back(l); }

  int data_reg() { return rng_.irange(1, 8); }

  // A halt, with the cells that go back into their predicate folded first.
  void halt_here() {
    for (int k : p_.refolded) {
      auto it = s_.mem.find(k);
      if (it == s_.mem.end() || !it->second) {
        p_.broken.insert(k);
        continue;
      }
      emit(fmt::format("fold cell({}, {})", k ? fmt::format("data + {}", k) : "data", alt_text(it->second, rng_)));
    }
    emit("halt");
  }

  // A constant of the program: start values near it are worth sampling.
  Word note(Word v) {
    for (Word w : {v, v + 1, v - 1})
      if (w <= kMax) p_.interesting.push_back(w);
    return v;
  }
  Word pick_imm() {
    static const std::vector<Word> imms = {0, 1, 2, 3, 5, 7, 42, 100, 1000, 999'999, kData, kData + 3};
    return note(rng_.chance(0.8) ? rng_.pick(imms) : rng_.range(0, 999'999));
  }
  Word pick_bound() {
    static const std::vector<Word> b = {0, 1, 2, 5, 10, 100, 1000, 999'999, 1'000'000, kMax - 1};
    return note(rng_.pick(b));
  }

  // ---- the precondition ----
  // A pure fact of the precondition. Its old() form goes into loop
  // invariants: vcgen starts a loop from the invariant alone, so facts about
  // the start values must be restated there.
  void pre_fact(const std::string& f) {
    p_.pre.push_back(f);
    static const std::regex r("\\b(r[0-9]+|nz)\\b");
    p_.old_facts.push_back(std::regex_replace(f, r, "old($1)"));
  }

  void make_pre() {
    std::set<int> offsets;
    if (rng_.chance(0.25)) {  // a register that indexes the first words
      sym_reg_ = data_reg();
      sym_bound_ = Word(rng_.irange(0, 3));
      for (Word k = 0; k <= sym_bound_; ++k) offsets.insert(int(k));
    }
    int extra = rng_.irange(0, 4);
    for (int i = 0; i < extra; ++i) offsets.insert(rng_.irange(0, 7));
    for (int k : offsets) {
      p_.chunks.push_back(k);
      std::string addr = k ? fmt::format("mem[data + {}]", k) : "mem[data]";
      std::string at = k ? fmt::format("data + {}", k) : "data";
      Hint h;
      double c = rng_.range(0, 99) / 100.0;
      if (c < 0.55) {
        std::string x = fmt::format("x{}", k);
        if (rng_.chance(0.2)) {  // behind a predicate
          p_.binders.push_back(fmt::format("cell({}, ?{})", at, x));
          p_.cells.insert(k);
          if (rng_.chance(0.5)) p_.refolded.insert(k);
        } else {
          p_.binders.push_back(addr + " |-> ?" + x);
        }
        s_.mem[k] = atom(x);
        if (rng_.chance(0.3)) {
          Word b = pick_bound();
          pre_fact(fmt::format("{} <= {}", x, b));
          h.hi = b;
        }
      } else if (c < 0.67) {
        p_.binders.push_back(addr + " |-> _");
        s_.mem[k] = nullptr;
      } else if (c < 0.77) {
        Word v = pick_imm();
        p_.binders.push_back(fmt::format("{} |-> {}", addr, v));
        s_.mem[k] = atom(v);
        h.eq = v;
      } else if (c < 0.85) {
        int r = data_reg();
        p_.binders.push_back(fmt::format("{} |-> {}", addr, reg(r)));
        s_.mem[k] = atom("old(" + reg(r) + ")");
        h.copy = r;
      } else {  // a value only bounded
        Word b = pick_bound();
        // An exists takes the rest of the assertion as its body, so these go last.
        p_.tail.push_back(fmt::format("exists e{}. {} |-> e{} &*& e{} <= {}", k, addr, k, k, b));
        s_.mem[k] = nullptr;
        h.hi = b;
      }
      p_.mem_hints[k] = h;
    }
    if (rng_.chance(0.2)) {  // words 8..11 from one forall
      p_.forall_block = true;
      Hint h;
      if (rng_.chance(0.5)) {
        Word b = pick_bound();
        p_.binders.push_back(fmt::format("forall i in 0 .. 4 {{ mem[data + 8 + i] |-> ?a &*& a <= {} }}", b));
        h.hi = b;
      } else {
        p_.binders.push_back("forall i in 0 .. 4 { mem[data + 8 + i] |-> _ }");
      }
      for (int k = 8; k < 12; ++k) {
        p_.chunks.push_back(k);
        s_.mem[k] = nullptr;
        p_.mem_hints[k] = h;
      }
    }
    if (rng_.chance(0.15)) {  // a chunk at a register's address: one of a few words no other chunk names
      int r = data_reg();
      if (r != sym_reg_) {
        p_.ptr_reg = r;
        std::vector<Word> c = {kData + 12, kData + 13, kData + 14, kData + 15};
        std::shuffle(c.begin(), c.end(), rng_.g);
        c.resize(std::size_t(rng_.irange(1, 3)));
        p_.binders.push_back(fmt::format("mem[{}] |-> ?q", reg(r)));
        std::string alts;
        for (Word a : c) alts += (alts.empty() ? "" : " || ") + fmt::format("{} == {}", reg(r), a);
        pre_fact(c.size() == 1 ? alts : "(" + alts + ")");
        p_.reg_hints[r].choices = c;
        s_.mem[-1] = atom("q");
        if (c.size() >= 2 && rng_.chance(0.5)) {
          // Chunks at all candidates but one: separation leaves rK one
          // address, and the code reaches that word both through rK and
          // through its constant address (the verifier must see they alias).
          for (std::size_t i = 1; i < c.size(); ++i) {
            int off = int(c[i] - kData);
            p_.binders.push_back(fmt::format("mem[data + {}] |-> ?x{}", off, off));
            p_.chunks.push_back(off);
            p_.mem_hints[off] = Hint{};
            s_.mem[off] = atom(fmt::format("x{}", off));
          }
          alias_offset_ = int(c[0] - kData);
        }
      }
    }
    if (rng_.chance(0.1)) {  // a register bounded through an existential
      int r = data_reg();
      Word b = pick_bound();
      if (r == p_.ptr_reg) b = kMax;
      p_.tail.push_back(fmt::format("exists w. {} == w &*& w <= {}", reg(r), b));
      p_.old_facts.push_back(fmt::format("old({}) <= {}", reg(r), b));
      p_.reg_hints[r].hi = std::min(p_.reg_hints[r].hi, b);
    }
    if (sym_reg_ >= 0) {
      pre_fact(fmt::format("{} <= {}", reg(sym_reg_), sym_bound_));
      p_.reg_hints[sym_reg_].hi = sym_bound_;
    }
    int facts = rng_.irange(0, 3);
    for (int i = 0; i < facts; ++i) {
      int r = data_reg();
      if (r == sym_reg_ || r == p_.ptr_reg) continue;
      Hint& h = p_.reg_hints[r];
      switch (rng_.irange(0, 5)) {
        case 0: case 1: {
          Word b = pick_bound();
          pre_fact(fmt::format("{} <= {}", reg(r), b));
          h.hi = std::min(h.hi, b);
          break;
        }
        case 2: {
          Word b = pick_bound();
          pre_fact(fmt::format("{} >= {}", reg(r), b));
          h.lo = std::max(h.lo, b);
          break;
        }
        case 3: {
          Word v = pick_imm();
          pre_fact(fmt::format("{} == {}", reg(r), v));
          h.eq = v;
          break;
        }
        case 4: {
          int q = data_reg();
          if (q != r) pre_fact(fmt::format("{} <= {}", reg(r), reg(q)));
          break;
        }
        default: {
          Word b = std::max<Word>(pick_bound(), 1);
          pre_fact(fmt::format("{} < {}", reg(r), b));
          h.hi = std::min(h.hi, b - 1);
          break;
        }
      }
    }
    for (auto& h : p_.reg_hints)
      if (h.lo > h.hi) h.lo = h.hi;  // contradictory bounds: the sampler will reject
    // Names must be bound before the facts that use them.
    std::shuffle(p_.binders.begin(), p_.binders.end(), rng_.g);
    std::shuffle(p_.pre.begin(), p_.pre.end(), rng_.g);
    p_.pre.insert(p_.pre.begin(), p_.binders.begin(), p_.binders.end());
    std::shuffle(p_.tail.begin(), p_.tail.end(), rng_.g);
    p_.pre.insert(p_.pre.end(), p_.tail.begin(), p_.tail.end());
    for (int k : p_.cells) emit(fmt::format("unfold cell({}, x{})", k ? fmt::format("data + {}", k) : "data", k));
  }

  // ---- code ----
  Sym cond_of(const Sym& a, const Sym& b) { return bin(a, "==", b); }

  void simple() {
    auto& r = s_.regs;
    int a = data_reg(), b = data_reg();
    if (b == a) b = a % 8 + 1;
    switch (rng_.irange(0, 9)) {
      case 0: case 1: {
        Word v = pick_imm();
        emit(fmt::format("mov {}, {}", reg(a), v));
        r[a] = atom(v);
        break;
      }
      case 2:
        emit(fmt::format("mov {}, {}", reg(a), reg(b)));
        r[a] = r[b];
        break;
      case 3: case 4:
        emit(fmt::format("add {}, {}", reg(a), reg(b)));
        r[a] = bin(r[a], "+", r[b]);
        break;
      case 5: case 6:
        emit(fmt::format("sub {}, {}", reg(a), reg(b)));
        r[a] = bin(r[a], "-", r[b]);
        break;
      case 7: {
        static const std::vector<Word> m = {0, 1, 2, 3, 10, 1000, 999'999};
        Word v = rng_.pick(m);
        if (v > 1) note(kMax / v);  // where the product starts to saturate
        emit(fmt::format("mult {}, {}", reg(a), v));
        r[a] = bin(r[a], "*", atom(v));
        break;
      }
      case 8: {
        if (rng_.chance(0.5)) {
          Word v = pick_imm();
          emit(fmt::format("cmp {}, {}", reg(a), v));
          cmp(r[a], atom(v));
        } else {
          emit(fmt::format("cmp {}, {}", reg(a), reg(b)));
          cmp(r[a], r[b]);
        }
        break;
      }
      default:
        emit("nop");
        break;
    }
  }

  void cmp(const Sym& a, const Sym& b) {
    s_.regs[hvsl::kNz] = ite(bin(a, "<", b), atom("2"), ite(bin(b, "<", a), atom("0"), atom("1")));
  }

  // A load or store at a constant data address (usually one the precondition holds).
  void memory_op() {
    auto& r = s_.regs;
    int k;
    bool held = !p_.chunks.empty() && rng_.chance(0.95);
    if (held) k = rng_.pick(p_.chunks);
    else k = rng_.irange(0, 7);
    int key = k;  // the word in s_.mem
    if (alias_offset_ >= 0 && rng_.chance(0.3)) k = alias_offset_, key = -1;
    if (!s_.mem.count(key)) p_.sound = false;
    bool have = s_.mem.count(key) > 0;
    int a = data_reg();
    int addr_reg = 20;
    emit(fmt::format("mov {}, {}", reg(addr_reg), k ? fmt::format("data + {}", k) : "data"));
    r[addr_reg] = atom(kData + Word(k));
    k = key;
    if (rng_.chance(0.5)) {
      emit(fmt::format("ldr {}, {}", reg(a), reg(addr_reg)));
      r[a] = have ? s_.mem[k] : nullptr;
    } else {
      emit(fmt::format("str {}, {}", reg(a), reg(addr_reg)));
      if (have) s_.mem[k] = r[a];
    }
  }

  // A load or store at data + rX, rX bounded by the precondition.
  void indexed_op() {
    auto& r = s_.regs;
    int x = sym_reg_;
    Sym e = r[x];
    int a = data_reg();
    while (a == x) a = data_reg();
    int addr_reg = 22;
    emit(fmt::format("mov {}, data", reg(addr_reg)));
    emit(fmt::format("add {}, {}", reg(addr_reg), reg(x)));
    r[addr_reg] = bin(atom(kData), "+", e);
    bool all = true;  // a loop invariant may have dropped one of the words
    for (int k = 0; k <= int(sym_bound_); ++k) all = all && s_.mem.count(k);
    if (!all) e = nullptr, p_.sound = false;
    if (rng_.chance(0.5)) {
      emit(fmt::format("ldr {}, {}", reg(a), reg(addr_reg)));
      Sym v = all ? s_.mem[int(sym_bound_)] : nullptr;
      for (int k = int(sym_bound_) - 1; k >= 0 && all; --k)
        v = ite(bin(e, "==", atom(k)), s_.mem[k], v);
      r[a] = v;
    } else {
      emit(fmt::format("str {}, {}", reg(a), reg(addr_reg)));
      for (int k = 0; k <= int(sym_bound_); ++k)
        if (s_.mem.count(k)) s_.mem[k] = ite(bin(e, "==", atom(k)), r[a], s_.mem[k]);
    }
  }

  // How many instructions the code has so far (labels and ghost items are not).
  int instructions() const {
    int n = 0;
    for (const auto& l : p_.code)
      if (l.back() != ':' && !l.starts_with("invariant ") && !l.starts_with("fold ") && !l.starts_with("unfold "))
        ++n;
    return n;
  }

  // Just before the final halt: a store into the code word labelled CW,
  // which the precondition hands over (mem[CW] |-> _). CW is the final halt
  // (fetched next) or the first instruction (already behind); the value is
  // the word itself (harmless), a register, or the word of another
  // instruction (which the VM would then run instead of the halt).
  void code_word_op() {
    auto& r = s_.regs;
    int kind = rng_.irange(0, 2);  // 0: the same word, 1: a register, 2: another code word
    emit("mov r23, CW");
    r[23] = atom("CW");
    int a = data_reg();
    if (kind == 0) {
      emit("ldr r24, r23");
      emit("str r24, r23");
      r[24] = nullptr;
    } else if (kind == 1) {
      emit(fmt::format("str {}, r23", reg(a)));
    } else {
      int k2 = rng_.irange(0, instructions() + 3);  // a word of the code (the final halt at most)
      emit(fmt::format("mov r25, prog0 + {}", k2));
      emit("ldr r24, r25");
      emit("str r24, r23");
      r[24] = nullptr;
      r[25] = atom(kProg + Word(k2));
      // vcgen lets the code read its own words without a chunk only while no
      // mem chunk has a symbolic address (a known incompleteness).
      if (p_.ptr_reg >= 0) p_.sound = false;
    }
    if (cw_at_halt_ && kind != 0) p_.sound = false;
    if (cw_at_halt_) emit("CW:");
  }

  // A load or store through the pointer register.
  void pointer_op() {
    auto& r = s_.regs;
    int k = p_.ptr_reg;
    int a = data_reg();
    while (a == k) a = data_reg();
    if (rng_.chance(0.5)) {
      emit(fmt::format("ldr {}, {}", reg(a), reg(k)));
      r[a] = s_.mem.count(-1) ? s_.mem[-1] : nullptr;
    } else {
      emit(fmt::format("str {}, {}", reg(a), reg(k)));
      if (s_.mem.count(-1)) s_.mem[-1] = r[a];
      else p_.sound = false;
    }
  }

  // Rare: a load from a page the VM cannot access, or from an address given
  // by an unbounded register (the verifier must refuse both).
  void bad_op() {
    auto& r = s_.regs;
    p_.sound = false;
    int a = data_reg();
    if (rng_.chance(0.5)) {
      emit(fmt::format("mov r20, noacc + {}", rng_.irange(0, 5)));
      emit(fmt::format("ldr {}, r20", reg(a)));
    } else {
      int x = data_reg();
      emit("mov r20, data");
      emit(fmt::format("add r20, {}", reg(x)));
      emit(fmt::format("ldr {}, r20", reg(a)));
    }
    r[20] = nullptr;
    r[a] = nullptr;
  }

  void item(int depth) {
    int c = rng_.irange(0, 999);
    bool nested = depth < 2;
    if (c < 450) return simple();
    if (c < 700) return p_.chunks.empty() && !rng_.chance(0.05) ? simple() : memory_op();
    if (c < 740)
      return sym_reg_ >= 0 && is(s_.regs[sym_reg_], "old(" + reg(sym_reg_) + ")") ? indexed_op() : simple();
    if (c < 780)
      return p_.ptr_reg >= 0 && is(s_.regs[p_.ptr_reg], "old(" + reg(p_.ptr_reg) + ")") ? pointer_op() : simple();
    if (c < 920) return nested ? region(depth) : simple();
    if (c < 970) return nested ? skip(depth) : simple();
    if (c < 980) return bad_op();
    return assertion();
  }

  // "assert" a fact about a register or a data word here: usually true (in a
  // form the solver must prove), sometimes not.
  void assertion() {
    std::vector<int> regs;
    for (int r = 1; r <= 8; ++r)
      if (s_.regs[r]) regs.push_back(r);
    if (regs.empty()) return simple();
    bool lie = rng_.chance(0.3);
    if (lie) p_.sound = false;
    int r = rng_.pick(regs);
    emit("assert " + value_fact(rng_, reg(r), s_.regs[r], lie, s_));
  }

  // A forward branch: "cmp; bne" skips the region unless the operands are equal.
  void region(int depth) {
    auto& r = s_.regs;
    std::string l = label();
    int a = data_reg(), b = data_reg();
    if (a == b) b = a % 8 + 1;
    emit(fmt::format("mov r21, {}", l));
    r[21] = atom(l);
    Sym c;
    if (rng_.chance(0.5)) {
      Word v = rng_.chance(0.5) ? pick_imm() : rng_.range(0, 3);
      emit(fmt::format("cmp {}, {}", reg(a), v));
      cmp(r[a], atom(v));
      c = cond_of(r[a], atom(v));
    } else {
      emit(fmt::format("cmp {}, {}", reg(a), reg(b)));
      cmp(r[a], r[b]);
      c = cond_of(r[a], r[b]);
    }
    emit("bne r21");
    SymState before = s_;
    path_.push_back(c);
    int n = rng_.irange(1, 4);
    bool halted = false;
    for (int i = 0; i < n; ++i) item(depth + 1);
    if (rng_.chance(0.12)) {
      halt_here();
      halted = true;
    } else if (rng_.chance(0.02)) {
      emit("fail");  // reachable: the verifier must report it
      p_.sound = false;
      halted = true;
    }
    if (halted) {
      Sym all = path_.front();  // the conjunction (null if any part is not known)
      for (std::size_t i = 1; i < path_.size(); ++i) all = bin(all, "&&", path_[i]);
      halts_.emplace_back(all, s_);
      s_ = before;  // only the skipping path goes on, and it knows it did not halt here
      if (all) facts_.push_back(text(not_(all)));
    } else {
      s_ = ite_state(c, s_, before);
    }
    path_.pop_back();
    emit(l + ":");
  }

  // "br" over dead code.
  void skip(int depth) {
    std::string l = label();
    emit(fmt::format("mov r21, {}", l));
    s_.regs[21] = atom(l);
    emit("br r21");
    SymState keep = s_;
    auto keep_halts = halts_;
    auto keep_facts = facts_;
    int n = rng_.irange(1, 3);
    for (int i = 0; i < n; ++i) item(depth + 1);
    if (rng_.chance(0.3)) emit("fail");
    s_ = keep;
    halts_ = keep_halts;
    facts_ = keep_facts;
    emit(l + ":");
  }

  // A counting loop with its invariant:
  //   r9 += r11, r10 times (r10 from a constant or a bounded register).
  void loop() {
    if (loop_done_) return;
    loop_done_ = true;
    auto& r = s_.regs;
    std::string head = label(), body = label(), done = label();
    if (!r[9] || rng_.chance(0.4)) {
      emit("mov r9, 0");
      r[9] = atom("0");
    }
    Sym acc0 = r[9];
    Sym n;
    int nreg = -1;
    for (int q = 1; q <= 8; ++q)
      if (p_.reg_hints[q].hi <= 6 && is(r[q], "old(" + reg(q) + ")") && rng_.chance(0.5)) nreg = q;
    if (nreg >= 0) {
      emit(fmt::format("mov r10, {}", reg(nreg)));
      n = r[nreg];
    } else {
      Word v = Word(rng_.irange(0, 5));
      emit(fmt::format("mov r10, {}", v));
      n = atom(v);
    }
    static const std::vector<Word> steps = {0, 1, 1, 2, 3, 999'999};
    Word step = rng_.pick(steps);
    emit(fmt::format("mov r11, {}", step));
    emit("mov r16, 1");
    emit(fmt::format("mov r12, {}", head));
    emit(fmt::format("mov r13, {}", done));
    emit(fmt::format("mov r14, {}", body));
    r[10] = n;
    r[11] = atom(step);
    r[16] = atom("1");
    r[12] = atom(head);
    r[13] = atom(done);
    r[14] = atom(body);
    // The invariant: the loop's registers, then what must survive the loop.
    std::vector<std::string> inv;
    Sym acc = bin(acc0, "+", bin(bin(n, "-", atom("r10")), "*", atom(step)));
    int wrong = rng_.chance(0.15) ? rng_.irange(0, 3) : -1;
    if (wrong >= 0) p_.sound = false;
    inv.push_back(wrong == 0 ? fmt::format("r10 < {}", text(n)) : fmt::format("r10 <= {}", text(n)));
    if (acc) inv.push_back(wrong == 1 ? fmt::format("r9 == {} + 1", text(acc)) : fmt::format("r9 == {}", text(acc)));
    inv.push_back(fmt::format("r11 == {}", step));
    if (wrong != 2) inv.push_back("r16 == 1");
    inv.push_back(fmt::format("r12 == {} &*& r13 == {} &*& r14 == {}", head, done, body));
    for (const auto& f : p_.old_facts) inv.push_back(f);
    for (const auto& f : facts_) inv.push_back(f);
    if (code_word_) inv.push_back("mem[CW] |-> _");
    SymState after;  // what the verifier knows after the loop: only the invariant
    for (int q : {1, 2, 3, 4, 5, 6, 7, 8, 20, 21, 22}) {
      if (!r[q] || rng_.chance(0.1)) continue;
      inv.push_back(fmt::format("{} == {}", reg(q), alt_text(r[q], rng_)));
      after.regs[q] = r[q];
    }
    for (auto& [k, v] : s_.mem) {
      std::string addr = mem_at(k, p_.ptr_reg);
      if (wrong == 3) {
        wrong = -1;
        continue;  // a chunk the invariant forgets: later uses must fail
      }
      inv.push_back(addr + " |-> " + (v ? pt_value(alt_text(v, rng_)) : "_"));
      after.mem[k] = v;
    }
    emit(head + ":");
    std::string inv_text;
    for (std::size_t i = 0; i < inv.size(); ++i) inv_text += (i ? " &*& " : "") + inv[i];
    emit("invariant " + inv_text);
    emit("cmp r10, 0");
    emit("bne r14");
    emit("br r13");
    emit(body + ":");
    if (rng_.chance(0.3)) emit("mov r15, r9");
    emit("add r9, r11");
    emit("sub r10, r16");
    emit("br r12");
    emit(done + ":");
    after.regs[9] = bin(acc0, "+", bin(n, "*", atom(step)));
    after.regs[10] = atom("0");
    after.regs[11] = atom(step);
    after.regs[12] = atom(head);
    after.regs[13] = atom(done);
    after.regs[14] = atom(body);
    after.regs[16] = atom("1");
    after.regs[hvsl::kNz] = atom("1");
    // Chunks the invariant forgot are gone: the generator drops them too.
    std::map<int, Sym> mem;
    for (auto& [k, v] : after.mem) mem[k] = v;
    s_.regs = after.regs;
    s_.mem = mem;
    // Halts before the loop keep their states; a chunk forgotten here is
    // still in those states, so ite_state must tolerate missing words.
    for (auto& [c, st] : halts_)
      for (auto it = st.mem.begin(); it != st.mem.end();)
        it = s_.mem.count(it->first) ? std::next(it) : st.mem.erase(it);
  }
};

struct Start {
  Regs regs{};
  std::map<Word, Word> mem;  // address -> value
};

// One run of the program on the interpreter, from a start state that
// satisfies the precondition, to a halt.
struct ConcreteRun {
  Start start;
  hvsl::Env bindings;  // the precondition's names
  Regs final_regs{};
  std::map<int, Word> final_mem;  // data offset -> value
};

// ---- postconditions ---------------------------------------------------------------------

std::string mutate(Rng& rng, const Sym& s, const SymState& fin) {
  std::string e = alt_text(s, rng);
  switch (rng.irange(0, 4)) {
    case 0: return "(" + e + " + 1)";
    case 1: return "(" + e + " - 1)";
    case 2: {
      // old(rI) -> old(rJ)
      auto p = e.find("old(r");
      if (p == std::string::npos) return "(" + e + " + 2)";
      auto q = e.find(')', p);
      std::string j = fmt::format("old(r{})", rng.irange(1, 8));
      return e.substr(0, p) + j + e.substr(q + 1);
    }
    case 3: {
      std::vector<std::string> others;
      for (int r = 1; r <= 8; ++r)
        if (fin.regs[r] && fin.regs[r]->text != s->text) others.push_back(fin.regs[r]->text);
      if (others.empty()) return "(" + e + " * 2)";
      return rng.pick(others);
    }
    default: return "(" + e + " * 2)";
  }
}

// A fact about `lhs`, whose value is `e`: true ones in forms the verifier
// must prove with the solver, false ones (a mutated value) and saturation
// traps that are false only at the edges (e - 1 is the largest word when e is
// 0; e + 1 stays the largest word).
std::string value_fact(Rng& rng, const std::string& lhs, const Sym& e, bool want_false, const SymState& fin) {
  std::string v = alt_text(e, rng);
  if (want_false) {
    switch (rng.irange(0, 7)) {
      case 0: case 1: case 2: return fmt::format("{} == {}", lhs, mutate(rng, e, fin));
      case 3: return fmt::format("{} >= ({} - 1)", lhs, v);
      case 4: return fmt::format("{} < ({} + 1)", lhs, v);
      case 5: return fmt::format("({} + 1) > {}", lhs, v);
      case 6: return fmt::format("{} != {}", lhs, rng.chance(0.5) ? Word(0) : kMax);
      default: return fmt::format("{} {} {}", lhs, rng.chance(0.5) ? "<=" : ">=", rng.pick(std::vector<Word>{0, 1, 999'999, kMax - 1}));
    }
  }
  switch (rng.irange(0, 6)) {
    case 0: case 1: return fmt::format("{} == {}", lhs, v);
    case 2: return fmt::format("{} == {}", v, lhs);
    case 3: return fmt::format("{} <= ({} + 1)", lhs, v);
    case 4: return fmt::format("{} >= {}", lhs, v);
    case 5: return fmt::format("({} * 2) == ({} + {})", lhs, v, alt_text(e, rng));
    default: return fmt::format("!({} < {})", lhs, v);
  }
}

// A postcondition: true facts from the symbolic final state, sometimes a
// false one, and facts from one concrete run (`concrete`: final registers),
// which hold only for some inputs. `all_true`: every fact is true by construction.
// A fact pinned to one concrete run: "if the inputs the value depends on are
// the run's, the value is the run's" (true), or "... is not the run's"
// (false). A verifier with wrong semantics for some operation proves the
// false form for inputs that exercise it; the run's start state is among the
// states a verified program is run from, so the tester sees it.
std::optional<std::string> pinned_fact(Rng& rng, const Program& p, const std::string& lhs, const Sym& e, Word value,
                                       bool want_false, const ConcreteRun& run) {
  static const std::regex old_reg("old\\((r[0-9]+|nz)\\)"), pattern("\\b(x([0-9]+)|q)\\b");
  std::set<std::string> guard;
  const std::string& t = text(e);
  for (auto it = std::sregex_iterator(t.begin(), t.end(), old_reg); it != std::sregex_iterator(); ++it) {
    auto r = hvsl::reg_by_name((*it)[1].str());
    if (!r) return std::nullopt;
    guard.insert(fmt::format("{} == {}", (*it)[0].str(), run.start.regs[*r]));
  }
  for (auto it = std::sregex_iterator(t.begin(), t.end(), pattern); it != std::sregex_iterator(); ++it) {
    Word addr = (*it)[1].str() == "q" ? run.start.regs[p.ptr_reg] : kData + Word(std::stoi((*it)[2].str()));
    auto m = run.start.mem.find(addr);
    if (m == run.start.mem.end()) return std::nullopt;
    guard.insert(fmt::format("{} == {}", (*it)[0].str(), m->second));
  }
  std::vector<std::string> g(guard.begin(), guard.end());
  std::shuffle(g.begin(), g.end(), rng.g);
  std::string conj;
  for (const auto& c : g) conj += (conj.empty() ? "" : " && ") + c;
  std::string fact = fmt::format("({} {} {})", lhs, want_false ? "!=" : "==", value);
  if (conj.empty()) return fact;
  return fmt::format("(({}) ==> {})", conj, fact);
}

std::vector<std::string> make_post(Rng& rng, const Program& p, const std::vector<ConcreteRun>& runs,
                                   bool& all_true) {
  all_true = true;
  const SymState& fin = p.final_state;
  std::vector<std::string> facts;
  int n = rng.irange(1, 4);
  bool lie = rng.chance(0.4);
  int lie_at = rng.irange(0, n - 1);
  std::set<int> used(p.refolded.begin(), p.refolded.end());  // cells at the end are not mem chunks
  used.insert(p.broken.begin(), p.broken.end());
  // Cells folded before every halt: the postcondition may name the predicate.
  for (int k : p.refolded) {
    if (p.broken.count(k) || !fin.mem.count(k) || !fin.mem.at(k) || rng.chance(0.3)) continue;
    bool wrong = rng.chance(0.15);
    if (wrong) all_true = false;
    const Sym& e = fin.mem.at(k);
    facts.push_back(fmt::format("cell({}, {})", k ? fmt::format("data + {}", k) : "data",
                                wrong ? mutate(rng, e, fin) : alt_text(e, rng)));
  }
  // The forall's words, as one forall with a fact per known word.
  if (p.forall_block && rng.chance(0.5)) {
    std::string body = "mem[data + 8 + i] |-> ?a";
    for (int k = 8; k < 12; ++k) {
      used.insert(k);
      if (!fin.mem.count(k) || !fin.mem.at(k) || rng.chance(0.3)) continue;
      bool wrong = rng.chance(0.1);
      if (wrong) all_true = false;
      const Sym& e = fin.mem.at(k);
      body += fmt::format(" &*& (i == {} ==> a == {})", k - 8, wrong ? mutate(rng, e, fin) : alt_text(e, rng));
    }
    facts.push_back("forall i in 0 .. 4 { " + body + " }");
  }
  for (int i = 0; i < n; ++i) {
    bool want_false = lie && i == lie_at;
    int c = rng.irange(0, 11);
    if (c >= 7 && c < 10 && !runs.empty()) {  // pinned to a run
      if (want_false) all_true = false;
      const ConcreteRun& run = rng.pick(runs);
      std::optional<std::string> f;
      std::vector<int> regs;
      for (int r : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 22, int(hvsl::kNz)})
        if (fin.regs[r]) regs.push_back(r);
      std::vector<int> words;
      for (const auto& [k, v] : fin.mem)
        if (v && !used.count(k)) words.push_back(k);
      if (!regs.empty() && (words.empty() || rng.chance(0.6))) {
        int r = rng.pick(regs);
        f = pinned_fact(rng, p, reg(r), fin.regs[r], run.final_regs[r], want_false, run);
      } else if (!words.empty()) {
        int k = rng.pick(words);
        std::string y = fmt::format("z{}", i);
        if (auto g = pinned_fact(rng, p, y, fin.mem.at(k), run.final_mem.at(k), want_false, run)) {
          used.insert(k);
          f = fmt::format("{} |-> ?{} &*& {}", mem_at(k, p.ptr_reg), y, *g);
        }
      }
      if (f) facts.push_back(*f);
      continue;
    }
    if (c < 4) {  // a register
      std::vector<int> known;
      for (int r : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 22, int(hvsl::kNz)})
        if (fin.regs[r]) known.push_back(r);
      if (known.empty()) continue;
      int r = rng.pick(known);
      if (want_false) all_true = false;
      facts.push_back(value_fact(rng, reg(r), fin.regs[r], want_false, fin));
    } else if (c < 7) {  // a data word
      std::vector<int> known;  // each word at most once: the chunks are separate
      for (const auto& [k, v] : fin.mem)
        if (v && !used.count(k)) known.push_back(k);
      if (known.empty()) continue;
      int k = rng.pick(known);
      used.insert(k);
      if (want_false) all_true = false;
      std::string addr = mem_at(k, p.ptr_reg);
      const Sym& e = fin.mem.at(k);
      if (!want_false && rng.chance(0.6)) {
        facts.push_back(fmt::format("{} |-> {}", addr, pt_value(alt_text(e, rng))));
      } else {
        std::string y = fmt::format("y{}", i);
        facts.push_back(fmt::format("{} |-> ?{} &*& {}", addr, y, value_fact(rng, y, e, want_false, fin)));
      }
    } else if (!runs.empty()) {  // a fact about one concrete run, or an edge value
      all_true = false;
      int r = rng.irange(1, 10);
      Word v = runs.front().final_regs[r];
      switch (rng.irange(0, 5)) {
        case 0: facts.push_back(fmt::format("{} == {}", reg(r), v)); break;
        case 1: facts.push_back(fmt::format("{} <= {}", reg(r), v)); break;
        case 2: facts.push_back(fmt::format("{} >= {}", reg(r), v)); break;
        case 3: facts.push_back(fmt::format("{} != {}", reg(r), v + 1 > kMax ? 0 : v + 1)); break;
        case 4: facts.push_back(fmt::format("{} != 0", reg(r))); break;
        default: facts.push_back(fmt::format("{} < {}", reg(r), kMax)); break;
      }
    } else {
      facts.push_back(fmt::format("{} <= {}", reg(rng.irange(1, 8)), kMax));
    }
  }
  return facts;
}

std::string join_post(const std::vector<std::string>& facts) {
  if (facts.empty()) return "true";
  std::string s;
  for (std::size_t i = 0; i < facts.size(); ++i) s += (i ? " &*& " : "") + facts[i];
  return s;
}

// ---- concrete runs --------------------------------------------------------------------


std::string show_start(const Start& s) {
  std::string out = "registers:";
  for (int r = 0; r < hvsl::kRegCount; ++r)
    if (r != hvsl::kPc && s.regs[r] != 0) out += fmt::format(" {}={}", reg(r), s.regs[r]);
  out += "\nmemory:";
  for (const auto& [a, v] : s.mem) out += fmt::format(" [{}]={}", a, v);
  return out;
}

hvsl::State make_state(const hvsl::State& base, const Start& st, Word pc) {
  hvsl::State s = base;
  const hvsl::Machine& m = *base.machine;
  s.current = 0;
  for (int r = 0; r < hvsl::kRegCount; ++r)
    if (r != hvsl::kPc) s.vms[0].regs[r] = st.regs[r];
  s.vms[0].pc() = pc;
  hvsl::PageIndex pages(m);
  for (const auto& [a, v] : st.mem)
    if (auto pi = pages.find(a)) s.word(*pi, a % m.profile->page_size) = v;
  return s;
}

hvsl::State make_state(const hvsl::Machine& m, const Start& st, Word pc) {
  return make_state(hvsl::initial_state(m), st, pc);
}

Word sample_value(Rng& rng, const Hint& h, const std::vector<Word>& interesting) {
  if (h.eq) return *h.eq;
  if (!h.choices.empty()) return rng.pick(h.choices);
  Word lo = h.lo, hi = std::max(h.lo, h.hi);
  std::vector<Word> pool = {lo, hi, 0, 1, 999'999, 1'000'000, kMax, kData, kData + 1};
  if (hi > lo) pool.push_back(lo + 1), pool.push_back(hi - 1);
  int c = rng.irange(0, 11);
  Word v;
  if (c < 3) v = rng.pick(pool);
  else if (c < 5 && !interesting.empty()) v = rng.pick(interesting);
  else if (c < 7) v = rng.range(lo, std::min(hi, lo + 20));
  else v = rng.range(lo, hi);
  return std::clamp(v, lo, hi);
}

struct Sampled {
  Start start;
  hvsl::Env bindings;  // the precondition's
};

// A start state satisfying the precondition (rejection sampling on top of the
// hints), or nullopt after `tries` attempts.
std::optional<Sampled> sample(Rng& rng, const hvsl::Machine& m, const Program& p, int tries, int* unknown = nullptr) {
  const auto& vm = m.vms[0];
  const hvsl::State base = hvsl::initial_state(m);
  for (int t = 0; t < tries; ++t) {
    Start st;
    for (int r = 0; r < hvsl::kRegCount; ++r) {
      if (r == hvsl::kPc) continue;
      const Hint& h = p.reg_hints[r];
      st.regs[r] = (h.eq || !h.choices.empty() || h.lo > 0 || h.hi < kMax || rng.chance(0.7)) ? sample_value(rng, h, p.interesting) : rng.range(0, kMax);
    }
    for (int r = 0; r < hvsl::kRegCount; ++r)
      if (p.reg_hints[r].copy) st.regs[r] = st.regs[*p.reg_hints[r].copy];
    for (int k = 0; k < kDataWords; ++k) {
      auto it = p.mem_hints.find(k);
      Hint h = it == p.mem_hints.end() ? Hint{} : it->second;
      Word v = h.copy ? st.regs[*h.copy] : sample_value(rng, h, p.interesting);
      st.mem[kData + Word(k)] = v;
    }
    // assertion_eval does not check separation: the pointer chunk must not
    // be at a word another chunk names.
    if (p.ptr_reg >= 0) {
      Word a = st.regs[p.ptr_reg];
      if (a >= kData && std::find(p.chunks.begin(), p.chunks.end(), int(a - kData)) != p.chunks.end()) continue;
    }
    hvsl::State s = make_state(base, st, vm.code->base);
    auto r = hvsl::eval_assertion(vm.spec.requires_, s, 0, st.regs);
    if (r.truth == hvsl::Truth::Holds) return Sampled{st, r.bindings};
    if (r.truth == hvsl::Truth::Unknown && unknown) ++*unknown;
  }
  return std::nullopt;
}

// What running from a start state showed.
struct RunOutcome {
  hvsl::Mode mode = hvsl::Mode::Exec;
  bool step_limit = false;
  std::uint64_t steps = 0;
  hvsl::State final_state;
  std::optional<std::string> ghost_violation;  // the first invariant or assert that did not hold
  bool ghost_unknown = false;
};

RunOutcome run(const hvsl::Machine& m, const Start& st, const hvsl::Env& pre_bindings) {
  const auto& vm = m.vms[0];
  hvsl::Interpreter in(make_state(m, st, vm.code->base));
  RunOutcome out;
  bool jumped = false;  // the last instruction jumped here (br, or bne taken)
  while (in.running() && out.steps < kMaxSteps) {
    Word pc = in.state().vms[0].pc();
    if (pc >= vm.code->base) {
      auto g = vm.spec.ghost.find(std::size_t(pc - vm.code->base));
      if (g != vm.spec.ghost.end())
        for (const auto& op : g->second) {
          if (op.kind != hvsl::GhostOp::Kind::Invariant && op.kind != hvsl::GhostOp::Kind::Assert) continue;
          if (op.fallthrough_only && jumped) continue;  // written above a label: not for jumps to it
          auto r = hvsl::eval_assertion(op.assertion, in.state(), 0, st.regs, pre_bindings);
          if (r.truth == hvsl::Truth::Fails && !out.ghost_violation)
            out.ghost_violation = fmt::format("{} at step {} (pc {}): {}",
                                              op.kind == hvsl::GhostOp::Kind::Assert ? "assert" : "invariant",
                                              out.steps, pc, r.reason);
          if (r.truth == hvsl::Truth::Unknown) out.ghost_unknown = true;
        }
    }
    Word nz = in.state().vms[0].regs[hvsl::kNz];
    auto info = in.step();
    ++out.steps;
    jumped = info.instr && (info.instr->op == hvsl::Op::Br || (info.instr->op == hvsl::Op::Bne && nz != hvsl::kNzEqual));
  }
  out.step_limit = in.running();
  out.mode = in.state().vms[0].mode;
  out.final_state = in.state();
  return out;
}

// The word at an address of a declared page.
Word data_word(const hvsl::State& s, Word addr) {
  const auto& m = *s.machine;
  for (std::size_t i = 0; i < m.pages.size(); ++i)
    if (m.pages[i].base == m.profile->page_of(addr)) return s.word(i, addr % m.profile->page_size);
  return 0;
}

std::string show_final(const hvsl::State& s) {
  std::string out = "final registers:";
  for (int r = 0; r < hvsl::kRegCount; ++r)
    if (r != hvsl::kPc && s.vms[0].regs[r] != 0) out += fmt::format(" {}={}", reg(r), s.vms[0].regs[r]);
  out += "\nfinal memory:";
  for (int k = 0; k < kDataWords; ++k) out += fmt::format(" [{}]={}", kData + Word(k), data_word(s, kData + Word(k)));
  return out;
}

// ---- the test ----------------------------------------------------------------------------

struct Options {
  int cases = 300;
  std::uint64_t seed = 20240603;
  bool verbose = false;
  bool print = false;
  int samples = 50;
  std::optional<int> only;
  std::string found_dir = HVSL_DIFFTEST_FOUND_DIR;
  bool save = true;
};

struct Counts {
  int passed = 0, failed = 0;
  int verified = 0, failed_blocks = 0, inconclusive = 0, parse_errors = 0;
  int runs = 0, vacuous = 0, pre_unknown = 0, post_unknown = 0, step_limits = 0;
  int unsatisfiable = 0;      // requires.unsatisfiable reports (each checked by sampling)
  int expected_verified = 0;  // failed although generated correct (incompleteness, or a generator bug)
  int confirmed = 0, unconfirmed = 0, rechecked = 0, no_cex = 0, inconclusive_failures = 0;
  std::map<std::string, int> unconfirmed_ids, confirmed_ids;
};

std::optional<hvsl::Machine> parse(const std::string& text, std::string& errors) {
  hvsl::SourceFile src("difftest.hvsl", text);
  hvsl::Diagnostics diags;
  auto m = hvsl::parse_machine(src, diags);
  for (const auto& d : diags.all())
    if (d.severity == hvsl::Severity::Error) errors += hvsl::render(d, &src) + "\n";
  return m;
}

class Tester {
 public:
  explicit Tester(Options o) : o_(std::move(o)) {}

  int main() {
    auto t0 = std::chrono::steady_clock::now();
    for (int k = 0; k < o_.cases; ++k) {
      if (o_.only && *o_.only != k) continue;
      run_case(k);
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const Counts& c = c_;
    std::cout << fmt::format(
        "difftest: seed {}, {:.1f} s: {} verified ({} concrete runs, {} without a start state), {} failed, {} "
        "inconclusive, {} parse errors\n",
        o_.seed, secs, c.verified, c.runs, c.vacuous, c.failed_blocks, c.inconclusive, c.parse_errors);
    std::string conf, unconf;
    for (const auto& [id, n] : c.confirmed_ids) conf += fmt::format(" {}={}", id, n);
    for (const auto& [id, n] : c.unconfirmed_ids) unconf += fmt::format(" {}={}", id, n);
    std::cout << fmt::format("difftest: counterexamples: {} confirmed ({} re-checked here){}; {} not confirmed{}\n",
                             c.confirmed, c.rechecked, conf, c.unconfirmed, unconf);
    std::cout << fmt::format(
        "difftest: {} unsatisfiable preconditions, {} other failures without counterexample, {} inconclusive "
        "failures; undecided evaluations: {} "
        "precondition, {} postcondition; {} runs hit the step limit; {} failed blocks were generated correct\n",
        c.unsatisfiable, c.no_cex, c.inconclusive_failures, c.pre_unknown, c.post_unknown, c.step_limits, c.expected_verified);
    std::cout << fmt::format("{} passed, {} failed\n", c.passed, c.failed);
    return c.failed > 0 ? 1 : 0;
  }

 private:
  Options o_;
  Counts c_;

  // Reports a disagreement; `small` is a minimised program showing the same
  // thing from the same start state (empty: none).
  void disagree(int k, const std::string& what, const std::string& detail, const std::string& text,
                const std::string& small = "", const std::string& small_detail = "") {
    std::cout << fmt::format("DISAGREEMENT in case {} (seed {}): {}\n{}\n--- program ---\n{}---\n", k, o_.seed, what,
                             detail, text);
    if (!small.empty())
      std::cout << fmt::format("--- minimised ---\n{}\n{}---\n", small_detail, small);
    if (!o_.save) return;
    std::error_code ec;
    std::filesystem::create_directories(o_.found_dir, ec);
    auto save = [&](const std::string& file, const std::string& d, const std::string& t) {
      std::ofstream out(file);
      out << "// Found by difftest --seed " << o_.seed << " --case " << k << ": " << what << "\n";
      std::istringstream lines(d);
      for (std::string l; std::getline(lines, l);) out << "// " << l << "\n";
      out << t;
      std::cout << "saved as " << file << "\n";
    };
    std::string base = fmt::format("{}/seed{}_case{}", o_.found_dir, o_.seed, k);
    if (!small.empty()) save(base + ".min.hvsl", small_detail, small);
    save(base + ".hvsl", detail, text);
  }

  void run_case(int k) {
    Rng rng(mix(o_.seed ^ mix(std::uint64_t(k))));
    Program p = Generator(rng).make();
    bool bad = false;

    // One concrete run first (with a trivial postcondition) to have facts
    // about a real final state.
    std::vector<ConcreteRun> runs;
    {
      std::string errors;
      auto m0 = parse(p.text("true"), errors);
      for (int i = 0; m0 && i < 4; ++i) {
        auto s = sample(rng, *m0, p, 200);
        if (!s) break;
        auto r = run(*m0, s->start, s->bindings);
        if (r.mode != hvsl::Mode::Halt) continue;
        ConcreteRun c{s->start, s->bindings, r.final_state.vms[0].regs, {}};
        for (int w = 0; w < kDataWords; ++w) c.final_mem[w] = data_word(r.final_state, kData + Word(w));
        if (p.ptr_reg >= 0) c.final_mem[-1] = data_word(r.final_state, s->start.regs[p.ptr_reg]);
        runs.push_back(std::move(c));
      }
    }
    bool post_true = false;
    std::vector<std::string> post = make_post(rng, p, runs, post_true);
    bool expect_verified = post_true && p.sound;
    std::string text = p.text(join_post(post));
    if (o_.print) std::cout << fmt::format("--- case {} ---\n{}", k, text);
    std::string errors;
    auto m = parse(text, errors);
    if (!m) {
      ++c_.parse_errors;
      ++c_.failed;
      std::cout << fmt::format("case {}: the generated program does not parse:\n{}\n{}", k, errors, text);
      return;
    }
    hvsl::VerifyOptions vo;
    auto blocks = hvsl::verify_machine(*m, hvsl::HvcSpecTable{}, vo);
    if (blocks.size() != 1) {
      ++c_.failed;
      std::cout << fmt::format("case {}: expected one verified block, got {}\n", k, blocks.size());
      return;
    }
    const hvsl::BlockResult& b = blocks[0];
    if (o_.verbose) {
      std::string ids;
      for (const auto& f : b.failures)
        ids += fmt::format(" {}{}", f.id, f.cex ? (f.cex->confirmed ? "(confirmed)" : "(unconfirmed)") : "");
      std::cout << fmt::format("case {}: {} ({} failures, {} paths, {} queries, {:.0f} ms){}\n", k,
                               hvsl::name(b.verdict), b.failures.size(), b.paths, b.queries,
                               std::chrono::duration<double, std::milli>(b.total_time).count(), ids);
    }
    switch (b.verdict) {
      case hvsl::Verdict::Verified: ++c_.verified; bad = !check_verified(k, rng, *m, p, post, runs, text); break;
      case hvsl::Verdict::Failed:
        ++c_.failed_blocks;
        bad = !check_failed(k, rng, *m, p, b, text);
        if (expect_verified && !(b.failures.size() == 1 && b.failures[0].id == "requires.unsatisfiable")) {
          ++c_.expected_verified;
          if (o_.verbose) std::cout << fmt::format("  case {}: every fact was generated true, but it failed\n", k);
        }
        break;
      case hvsl::Verdict::Inconclusive:
        ++c_.inconclusive;
        for (const auto& f : b.failures)
          if (f.inconclusive) ++c_.inconclusive_failures;
        if (o_.verbose)
          for (const auto& f : b.failures) std::cout << fmt::format("  inconclusive: [{}] {}\n", f.id, f.message);
        break;
    }
    (bad ? c_.failed : c_.passed)++;
  }

  // Verified: every sampled start state must halt cleanly with the
  // invariants and the postcondition holding.
  // How a run from `start` (which satisfies the precondition, giving
  // `bindings`) contradicts a verified verdict, or nullopt if it does not.
  std::optional<std::pair<std::string, std::string>> violation(int k, const hvsl::Machine& m, const Start& start,
                                                               const hvsl::Env& bindings, bool count) {
    const auto& vm = m.vms[0];
    auto r = run(m, start, bindings);
    std::string state = show_start(start);
    if (r.ghost_violation)
      return std::pair{std::string("verified, but an invariant or assert does not hold on the interpreter"),
                       state + "\n" + *r.ghost_violation};
    if (r.step_limit) {
      if (count) {
        ++c_.step_limits;  // partial correctness: not a soundness bug
        std::cout << fmt::format("warning: case {}: verified, but the run did not halt within {} steps\n{}\n", k,
                                 kMaxSteps, state);
      }
      return std::nullopt;
    }
    if (r.mode != hvsl::Mode::Halt)
      return std::pair{fmt::format("verified, but the interpreter ends in {}", hvsl::name(r.mode)),
                       state + "\n" + show_final(r.final_state)};
    auto post = hvsl::eval_assertion(vm.spec.ensures->assertion, r.final_state, 0, start.regs, bindings);
    if (post.truth == hvsl::Truth::Fails)
      return std::pair{std::string("verified, but the postcondition does not hold on the interpreter"),
                       state + "\n" + show_final(r.final_state) + "\npostcondition: " + post.reason};
    if (post.truth == hvsl::Truth::Unknown && count) {
      ++c_.post_unknown;
      if (o_.verbose) std::cout << fmt::format("  case {}: postcondition undecided: {}\n", k, post.reason);
    }
    return std::nullopt;
  }

  // Verified: every sampled start state must halt cleanly with the
  // invariants and the postcondition holding.
  bool check_verified(int k, Rng& rng, const hvsl::Machine& m, const Program& p, const std::vector<std::string>& post,
                      const std::vector<ConcreteRun>& runs, const std::string& text) {
    int found = 0;
    for (int i = 0; i < o_.samples; ++i) {
      // The start states of the runs the postcondition was pinned to come first.
      std::optional<Sampled> s;
      if (std::size_t(i) < runs.size()) s = Sampled{runs[i].start, runs[i].bindings};
      else s = sample(rng, m, p, 200, &c_.pre_unknown);
      if (!s) break;  // most likely an unsatisfiable precondition
      ++found;
      ++c_.runs;
      if (auto v = violation(k, m, s->start, s->bindings, true)) {
        auto [small, small_detail] = minimise(k, p, post, s->start);
        disagree(k, v->first, v->second, text, small, small_detail);
        return false;
      }
    }
    if (found == 0) {
      ++c_.vacuous;
      if (o_.verbose) std::cout << fmt::format("  case {}: verified, but no start state satisfies the precondition\n", k);
    }
    return true;
  }

  // Greedy minimisation of a verified-but-violated program: drop code lines,
  // precondition and postcondition conjuncts one at a time while the program
  // still parses, still verifies and `start` still shows a violation.
  std::pair<std::string, std::string> minimise(int k, Program p, std::vector<std::string> post, const Start& start) {
    std::string detail;
    auto still_bad = [&](const Program& q, const std::vector<std::string>& f) {
      std::string errors;
      auto m = parse(q.text(join_post(f)), errors);
      if (!m) return false;
      hvsl::VerifyOptions vo;
      auto blocks = hvsl::verify_machine(*m, hvsl::HvcSpecTable{}, vo);
      if (blocks.size() != 1 || blocks[0].verdict != hvsl::Verdict::Verified) return false;
      const auto& vm = m->vms[0];
      auto pre = hvsl::eval_assertion(vm.spec.requires_, make_state(*m, start, vm.code->base), 0, start.regs);
      if (pre.truth != hvsl::Truth::Holds) return false;
      auto v = violation(k, *m, start, pre.bindings, false);
      if (!v) return false;
      detail = v->first + "\n" + v->second;
      return true;
    };
    if (!still_bad(p, post)) return {};
    for (bool changed = true; changed;) {
      changed = false;
      auto shrink = [&](std::vector<std::string>& list) {
        for (std::size_t i = list.size(); i-- > 0;) {
          auto keep = list;
          list.erase(list.begin() + std::ptrdiff_t(i));
          if (still_bad(p, post)) changed = true;
          else list = std::move(keep);
        }
      };
      shrink(post);
      shrink(p.code);
      shrink(p.pre);
    }
    still_bad(p, post);  // the detail of the final program
    return {p.text(join_post(post)), detail};
  }

  // Failed: confirmed counterexamples are re-checked; unconfirmed ones are
  // warnings.
  bool check_failed(int k, Rng& rng, const hvsl::Machine& m, const Program& p, const hvsl::BlockResult& b,
                    const std::string& text) {
    bool ok = true;
    for (const auto& f : b.failures) {
      if (f.inconclusive) {
        ++c_.inconclusive_failures;
        continue;
      }
      if (f.id == "requires.unsatisfiable") {
        // The generated preconditions never overlap chunks, so a state that
        // satisfies one concretely shows it is satisfiable.
        ++c_.unsatisfiable;
        if (auto s = sample(rng, m, p, 1000)) {
          disagree(k, "the verifier says the precondition is unsatisfiable, but this state satisfies it",
                   show_start(s->start), text);
          ok = false;
        }
        continue;
      }
      if (!f.cex) {
        ++c_.no_cex;
        continue;
      }
      if (!f.cex->confirmed) {
        ++c_.unconfirmed;
        ++c_.unconfirmed_ids[f.id];
        // Ownership failures (permission, witness) cannot be confirmed by
        // running: the concrete machine does not track ownership.
        bool by_design = f.id.ends_with("permission") || f.id.ends_with("witness");
        if (!by_design || o_.verbose)
          std::cout << fmt::format("warning: case {}: unconfirmed counterexample for [{}] {} ({})\n", k, f.id,
                                   f.message, f.cex->replay_note);
        continue;
      }
      ++c_.confirmed;
      ++c_.confirmed_ids[f.id];
      if (!recheck(k, m, f, text)) ok = false;
    }
    return ok;
  }

  // A confirmed counterexample must really show the failure: it satisfies
  // the precondition, and the interpreter run from it faults, or violates an
  // invariant or the postcondition.
  bool recheck(int k, const hvsl::Machine& m, const hvsl::Failure& f, const std::string& text) {
    const auto& vm = m.vms[0];
    Word base = vm.code->base;
    Word start_pc = f.path.empty() ? base : f.path.front().pc;
    if (start_pc != base) return true;  // starts at a loop head: the precondition's names are not in the model
    Start st;
    for (const auto& [n, v] : f.cex->registers)
      if (auto r = hvsl::reg_by_name(n)) st.regs[*r] = v;
    for (const auto& [a, v] : f.cex->memory) st.mem[a] = v;
    auto pre = hvsl::eval_assertion(vm.spec.requires_, make_state(m, st, base), 0, st.regs);
    if (pre.truth == hvsl::Truth::Unknown) return true;
    ++c_.rechecked;
    std::string head = fmt::format("confirmed counterexample for [{}] {}\n{}", f.id, f.message, show_start(st));
    if (pre.truth == hvsl::Truth::Fails) {
      disagree(k, "a confirmed counterexample does not satisfy the precondition", head + "\n" + pre.reason, text);
      return false;
    }
    auto r = run(m, st, pre.bindings);
    std::string what;
    bool shown = false;
    const std::string& id = f.id;
    if (id.ends_with(".fault")) shown = r.mode == hvsl::Mode::FailPageFault;
    else if (id == "fail.reached" || id.starts_with("fetch.")) shown = r.mode == hvsl::Mode::Fail;
    else if (id.starts_with("invariant.") || id.starts_with("assert."))
      shown = r.ghost_violation.has_value() || r.ghost_unknown;
    else if (id.starts_with("postcondition.")) {
      if (r.mode == hvsl::Mode::Halt) {
        auto post = hvsl::eval_assertion(vm.spec.ensures->assertion, r.final_state, 0, st.regs, pre.bindings);
        shown = post.truth != hvsl::Truth::Holds;
      }
    } else {
      return true;  // not a failure this tester knows how to show
    }
    if (shown) return true;
    disagree(k, "a confirmed counterexample does not show its failure on the interpreter",
             head + fmt::format("\nthe interpreter ends in {} after {} steps", hvsl::name(r.mode), r.steps) + "\n" +
                 show_final(r.final_state),
             text);
    return false;
  }
};

int usage(const char* argv0) {
  std::cerr << "usage: " << argv0
            << " [--cases N] [--seed S] [--samples N] [--case K] [--verbose] [--print] [--found-dir DIR] "
               "[--no-save]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    try {
      if (a == "--cases") {
        auto v = value();
        if (!v) return usage(argv[0]);
        o.cases = std::stoi(*v);
      } else if (a == "--seed") {
        auto v = value();
        if (!v) return usage(argv[0]);
        o.seed = std::stoull(*v, nullptr, 0);
      } else if (a == "--samples") {
        auto v = value();
        if (!v) return usage(argv[0]);
        o.samples = std::stoi(*v);
      } else if (a == "--case") {
        auto v = value();
        if (!v) return usage(argv[0]);
        o.only = std::stoi(*v);
        o.cases = std::max(o.cases, *o.only + 1);
      } else if (a == "--found-dir") {
        auto v = value();
        if (!v) return usage(argv[0]);
        o.found_dir = *v;
      } else if (a == "--verbose" || a == "-v") {
        o.verbose = true;
      } else if (a == "--print") {
        o.print = true;
      } else if (a == "--no-save") {
        o.save = false;
      } else {
        return usage(argv[0]);
      }
    } catch (const std::exception&) {
      return usage(argv[0]);
    }
  }
  return Tester(std::move(o)).main();
}
