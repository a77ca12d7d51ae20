#include "tests/mutation/mutants.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <fmt/format.h>

namespace hvsl::mutation {

const char* name(Operator op) {
  switch (op) {
    case Operator::Imm: return "imm";
    case Operator::Reg: return "reg";
    case Operator::Nop: return "nop";
    case Operator::Delete: return "delete";
    case Operator::Branch: return "branch";
    case Operator::Requires: return "requires";
    case Operator::Ensures: return "ensures";
    case Operator::Receives: return "receives";
  }
  return "?";
}

std::string Mutant::id(const std::string& file) const {
  return fmt::format("{}:{}: {}: {}", file, line, name(op), description);
}

namespace {

// A byte range [begin, end) of the file.
struct Span {
  std::size_t begin = 0, end = 0;
};

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// The span's text on one line, runs of white space as one blank: for
// descriptions, which must fit on one line of survivors.txt.
std::string one_line(const std::string& text, Span s) {
  std::string out;
  for (std::size_t i = s.begin; i < s.end; ++i) {
    if (!is_space(text[i])) out += text[i];
    else if (!out.empty() && out.back() != ' ') out += ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

Span trim(const std::string& text, Span s) {
  while (s.begin < s.end && is_space(text[s.begin])) ++s.begin;
  while (s.end > s.begin && is_space(text[s.end - 1])) --s.end;
  return s;
}

// Replaces the span by `with`, keeping the line breaks it removes.
std::string replace(const std::string& text, Span s, const std::string& with) {
  auto breaks = std::count(text.begin() + std::ptrdiff_t(s.begin), text.begin() + std::ptrdiff_t(s.end), '\n');
  return text.substr(0, s.begin) + with + std::string(std::size_t(breaks), '\n') + text.substr(s.end);
}

// The top-level comma-separated items between the bracket at `open` and its
// match: a tuple of values or the arguments of a predicate instance.
std::vector<Span> items(const std::string& text, std::size_t open, std::size_t limit) {
  std::vector<Span> out;
  int depth = 0;
  std::size_t start = open + 1;
  for (std::size_t i = open; i < limit; ++i) {
    char c = text[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    else if (c == ')' || c == ']' || c == '}') {
      if (--depth == 0) {
        out.push_back(trim(text, {start, i}));
        return out;
      }
    } else if (c == ',' && depth == 1) {
      out.push_back(trim(text, {start, i}));
      start = i + 1;
    }
  }
  return {};  // unbalanced: not what we expected, mutate nothing
}

// A value nobody names ('_') or a binder ('?x', '{?x}'): not a concrete value.
bool is_binder(const std::string& v) { return v == "_" || v.starts_with("?") || v.starts_with("{?"); }

class Generator {
 public:
  Generator(const SourceFile& src, const Machine& m) : text_(src.text()), m_(m) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < text_.size(); ++i)
      if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Mutant> run() {
    for (VmId v = 0; v < m_.vms.size(); ++v) {
      const VmDecl& vm = m_.vms[v];
      if (!vm.known) continue;
      if (vm.code && vm.spec.ensures) {  // a VM hvsl verifies
        code(v);
        preconditions(vm);
        postconditions(vm);
      }
      protocols(vm);
    }
    return std::move(out_);
  }

 private:
  const std::string& text_;
  const Machine& m_;
  std::vector<std::size_t> line_starts_;
  std::vector<Mutant> out_;
  std::set<std::string> ids_;

  Span span(const SourceLoc& loc) const {
    std::size_t b = line_starts_[loc.line - 1] + loc.col - 1;
    return trim(text_, {b, std::min(text_.size(), b + loc.length)});
  }
  std::string str(Span s) const { return text_.substr(s.begin, s.end - s.begin); }
  std::size_t line_of(std::size_t offset) const {
    return std::size_t(std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - line_starts_.begin());
  }

  void add(Operator op, Span s, const std::string& with, const std::string& vm, std::string description) {
    Mutant mu{op, line_of(s.begin), vm, std::move(description), replace(text_, s, with), std::nullopt};
    // Two identical changes on one line (rare) get distinct ids.
    std::string base = mu.description;
    for (int n = 2; !ids_.insert(mu.id("")).second; ++n) mu.description = fmt::format("{} #{}", base, n);
    out_.push_back(std::move(mu));
  }

  // ---- code -----------------------------------------------------------------

  // The registers the VM's code uses, for replacing one by another.
  static std::vector<Reg> used_registers(const CodeBlock& code) {
    std::set<Reg> regs;
    for (const Instr& i : code.instrs) {
      if (i.op == Op::Nop || i.op == Op::Halt || i.op == Op::Fail || i.op == Op::Hvc) continue;
      regs.insert(i.a);
      if (has_two_registers(i)) regs.insert(i.b);
    }
    return {regs.begin(), regs.end()};
  }

  static bool has_two_registers(const Instr& i) {
    return i.op == Op::MovReg || i.op == Op::Ldr || i.op == Op::Str || i.op == Op::CmpReg || i.op == Op::Add ||
           i.op == Op::Sub;
  }

  // The next used register after r (cyclically) that is neither r nor `other`.
  static std::optional<Reg> next_register(const std::vector<Reg>& used, Reg r, std::optional<Reg> other) {
    auto it = std::upper_bound(used.begin(), used.end(), r);
    for (std::size_t n = 0; n < used.size(); ++n, ++it) {
      if (it == used.end()) it = used.begin();
      if (*it != r && *it != other) return *it;
    }
    return std::nullopt;
  }

  // The labels of this VM's code, by address.
  std::map<Word, std::string> labels_of(VmId v) const {
    std::map<Word, std::string> out;
    for (const Label& l : m_.labels)
      if (l.vm == v) out.emplace(l.addr, l.name);
    return out;
  }

  void code(VmId v) {
    const VmDecl& vm = m_.vms[v];
    auto used = used_registers(*vm.code);
    auto labels = labels_of(v);
    for (std::size_t k = 0; k < vm.code->instrs.size(); ++k) {
      const Instr& ins = vm.code->instrs[k];
      Span s = span(vm.code->locs[k]);
      if (ins.op == Op::MovImm && labels.count(ins.imm)) branch_targets(vm, ins, s, labels);
      else immediates(vm, ins, s);
      registers(vm, ins, s, used);
      drops(v, ins, k, s);
    }
  }

  void instruction(Operator op, const VmDecl& vm, Span s, const Instr& to) {
    std::string with = to_string(to);
    add(op, s, with, vm.name, fmt::format("{} -> {}", one_line(text_, s), with));
  }

  // Operator 1: an immediate n becomes n + 1, or 0.
  void immediates(const VmDecl& vm, const Instr& ins, Span s) {
    if (ins.op != Op::MovImm && ins.op != Op::CmpImm && ins.op != Op::Mult) return;
    Instr to = ins;
    if (ins.imm < m_.profile->imm_max) {
      to.imm = ins.imm + 1;
      instruction(Operator::Imm, vm, s, to);
    }
    if (ins.imm != 0) {
      to.imm = 0;
      instruction(Operator::Imm, vm, s, to);
    }
  }

  // Operator 4: 'mov rX, label' (a jump target) gets every other label of the
  // code, and the address after its own.
  void branch_targets(const VmDecl& vm, const Instr& ins, Span s, const std::map<Word, std::string>& labels) {
    const std::string& own = labels.at(ins.imm);
    std::string head = fmt::format("mov {}, ", reg_name(ins.a));
    for (const auto& [addr, label] : labels)
      if (addr != ins.imm) add(Operator::Branch, s, head + label, vm.name, fmt::format("{} -> {}{}", one_line(text_, s), head, label));
    if (!labels.count(ins.imm + 1)) {
      std::string next = head + own + " + 1";
      add(Operator::Branch, s, next, vm.name, fmt::format("{} -> {}", one_line(text_, s), next));
    }
  }

  // Operator 2: swap the two registers; replace one by another the code uses.
  void registers(const VmDecl& vm, const Instr& ins, Span s, const std::vector<Reg>& used) {
    if (ins.op == Op::Nop || ins.op == Op::Halt || ins.op == Op::Fail || ins.op == Op::Hvc) return;
    bool two = has_two_registers(ins);
    if (two) instruction(Operator::Reg, vm, s, Instr{ins.op, ins.b, ins.a, ins.imm});
    if (auto r = next_register(used, ins.a, two ? std::optional<Reg>(ins.b) : std::nullopt))
      instruction(Operator::Reg, vm, s, Instr{ins.op, *r, ins.b, ins.imm});
    if (!two) return;
    if (auto r = next_register(used, ins.b, ins.a)) instruction(Operator::Reg, vm, s, Instr{ins.op, ins.a, *r, ins.imm});
  }

  // Operator 3: the instruction becomes 'nop' (addresses stay), or goes.
  void drops(VmId v, const Instr& ins, std::size_t k, Span s) {
    const VmDecl& vm = m_.vms[v];
    if (ins.op != Op::Nop) instruction(Operator::Nop, vm, s, Instr{Op::Nop});
    add(Operator::Delete, s, "", vm.name, fmt::format("delete {}", one_line(text_, s)));
    out_.back().deleted = std::make_pair(v, k);
  }

  // ---- specs ----------------------------------------------------------------

  // Drops each conjunct of every '&*&' in the assertion (inside forall,
  // exists and if too); a whole clause that is one atom becomes 'emp'.
  void drop_conjuncts(Operator op, const VmDecl& vm, const Assertion& a, bool whole) {
    if (a.kind == Assertion::Kind::Sep) {
      for (std::size_t i = 0; i < a.parts.size(); ++i) drop_conjunct(op, vm, a, i);
    } else if (whole && a.kind != Assertion::Kind::Emp && !(a.kind == Assertion::Kind::Pure && a.text == "true")) {
      Span s = span(a.loc);
      add(op, s, "emp", vm.name, fmt::format("'{}' -> emp", one_line(text_, s)));
    }
    for_children(a, [&](const Assertion& c) { drop_conjuncts(op, vm, c, false); });
  }

  // Removes part i and the '&*&' that joins it to its neighbour.
  void drop_conjunct(Operator op, const VmDecl& vm, const Assertion& sep, std::size_t i) {
    Span part = span(sep.parts[i]->loc);
    Span cut = i + 1 < sep.parts.size() ? Span{part.begin, span(sep.parts[i + 1]->loc).begin}
                                        : Span{span(sep.parts[i - 1]->loc).end, part.end};
    add(op, cut, "", vm.name, fmt::format("drop '{}'", one_line(text_, part)));
  }

  template <class F>
  static void for_children(const Assertion& a, F f) {
    if (a.kind == Assertion::Kind::Sep || a.kind == Assertion::Kind::If)
      for (const auto& p : a.parts) f(*p);
    if ((a.kind == Assertion::Kind::Exists || a.kind == Assertion::Kind::Forall) && a.body) f(*a.body);
  }

  // The spans of a chunk's values (after '|->' and a fraction) or of a
  // predicate instance's arguments, with their sorts.
  std::vector<std::pair<Span, Sort>> values(const Assertion& a) const {
    Span s = span(a.loc);
    std::vector<Span> found;
    const std::vector<Term>& terms = a.kind == Assertion::Kind::Chunk ? a.values : a.args;
    if (a.kind == Assertion::Kind::Chunk) {
      std::size_t p = text_.find("|->", s.begin);
      if (p == std::string::npos || p >= s.end) return {};
      p = trim(text_, {p + 3, s.end}).begin;
      if (text_[p] == '[') p = text_.find(']', p) + 1;  // a fraction
      Span v = trim(text_, {p, s.end});
      if (terms.size() == 1) found.push_back(v);
      else if (text_[v.begin] == '(') found = items(text_, v.begin, s.end);
    } else if (a.kind == Assertion::Kind::Pred) {
      std::size_t open = text_.find('(', s.begin);
      if (open < s.end) found = items(text_, open, s.end);
    }
    std::vector<std::pair<Span, Sort>> out;
    if (found.size() != terms.size()) return out;
    for (std::size_t i = 0; i < found.size(); ++i) out.emplace_back(found[i], terms[i]->sort);
    return out;
  }

  // "'atom' -> 'atom with the value replaced'", for a description.
  std::string rewritten(const Assertion& a, Span value, const std::string& with) const {
    Span atom = span(a.loc);
    std::string after = str({atom.begin, value.begin}) + with + str({value.end, atom.end});
    return fmt::format("'{}' -> '{}'", one_line(text_, atom), one_line(after, {0, after.size()}));
  }

  // Operator 5: weaken the precondition (drop a conjunct, a value becomes '_').
  void preconditions(const VmDecl& vm) {
    if (!vm.spec.requires_) return;
    drop_conjuncts(Operator::Requires, vm, *vm.spec.requires_, true);
    anonymise(vm, *vm.spec.requires_);
  }

  void anonymise(const VmDecl& vm, const Assertion& a) {
    for (const auto& [s, sort] : values(a)) {
      std::string v = str(s);
      if (is_binder(v)) continue;
      add(Operator::Requires, s, "_", vm.name, rewritten(a, s, "_"));
    }
    for_children(a, [&](const Assertion& c) { anonymise(vm, c); });
  }

  // Operator 6: strengthen the postcondition (a value changes, a fact is
  // negated, a conjunct is added).
  void postconditions(const VmDecl& vm) {
    const Postcondition& post = *vm.spec.ensures;
    if (post.never_terminates || !post.assertion) return;
    change_values(vm, *post.assertion);
    Span all = span(post.assertion->loc);
    std::string extra = " &*& r0 == 12345";
    add(Operator::Ensures, Span{all.end, all.end}, extra, vm.name, fmt::format("add '{}'", extra.substr(5)));
  }

  void change_values(const VmDecl& vm, const Assertion& a) {
    if (a.kind == Assertion::Kind::Pure) {
      Span s = span(a.loc);
      std::string to = fmt::format("!({})", str(s));
      add(Operator::Ensures, s, to, vm.name, fmt::format("'{}' -> '{}'", one_line(text_, s), to));
    }
    for (const auto& [s, sort] : values(a)) {
      std::string v = str(s);
      if (is_binder(v)) continue;
      std::string to = sort == Sort::Bool ? fmt::format("!({})", v)
                       : sort == Sort::Set ? fmt::format("{} union {{12345}}", v)
                                           : fmt::format("({}) + 1", v);
      add(Operator::Ensures, s, to, vm.name, rewritten(a, s, to));
    }
    for_children(a, [&](const Assertion& c) { change_values(vm, c); });
  }

  // Operator 7: drop a conjunct of a protocol ('receives', 'receives from').
  void protocols(const VmDecl& vm) {
    if (vm.spec.receives) drop_conjuncts(Operator::Receives, vm, *vm.spec.receives, true);
    for (const auto& [giver, p] : vm.spec.receives_from)
      if (p.assertion) drop_conjuncts(Operator::Receives, vm, *p.assertion, true);
  }
};

}  // namespace

std::vector<Mutant> make_mutants(const SourceFile& src, const Machine& m) { return Generator(src, m).run(); }

}  // namespace hvsl::mutation
