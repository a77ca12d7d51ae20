// The Z3 facade (smt/solver.h). One query is:
//   translate the hvsl terms (memoised per TermNode, iteratively, so deep or
//   heavily shared DAGs cost their size, not their unfolding; in vmsl
//   without the saturation ites NoSaturation shows cannot matter)
//   -> a fresh z3::solver with the range constraints, the assumptions and,
//      for validity, the negated goal
//   -> sat: read a model back as hvsl values and replay it with hvsl::eval
//      (the self-check); unsat: Valid/Invalid; anything else: Unknown.
// This file is the only one in hvsl that includes z3++.h.
#include "smt/solver.h"

#include <z3++.h>

#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace hvsl::smt {

namespace {

using Clock = std::chrono::steady_clock;

// Z3's messages can be long (an unknown parameter lists every legal one):
// keep the first line.
std::runtime_error z3_error(const z3::exception& e) {
  std::string msg = e.msg();
  if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl) + " ...";
  return std::runtime_error("z3: " + msg);
}

// A query name as a file-name part: [A-Za-z0-9._-] kept, the rest '_'.
std::string sanitise(const std::string& name) {
  std::string out;
  for (char c : name) {
    bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    out += keep ? c : '_';
    if (out.size() == 96) break;
  }
  return out.empty() ? "query" : out;
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Lit: return "Lit";
    case Kind::Var: return "Var";
    case Kind::Add: return "Add";
    case Kind::Sub: return "Sub";
    case Kind::Mul: return "Mul";
    case Kind::PageOf: return "PageOf";
    case Kind::Div: return "Div";
    case Kind::Mod: return "Mod";
    case Kind::Eq: return "Eq";
    case Kind::Lt: return "Lt";
    case Kind::Le: return "Le";
    case Kind::Not: return "Not";
    case Kind::And: return "And";
    case Kind::Or: return "Or";
    case Kind::Implies: return "Implies";
    case Kind::Ite: return "Ite";
    case Kind::EmptySet: return "EmptySet";
    case Kind::Insert: return "Insert";
    case Kind::Union: return "Union";
    case Kind::Minus: return "Minus";
    case Kind::Member: return "Member";
  }
  return "?";
}

// The argument sorts and the result sort of each kind (Eq and Ite are
// polymorphic and checked separately).
bool well_sorted(const TermNode& n) {
  auto args = [&](std::initializer_list<Sort> ss) {
    if (n.args.size() != ss.size()) return false;
    std::size_t i = 0;
    for (Sort s : ss)
      if (!n.args[i].valid() || n.args[i++]->sort != s) return false;
    return true;
  };
  for (const auto& a : n.args)
    if (!a.valid()) return false;
  switch (n.kind) {
    case Kind::Lit: return n.args.empty() && n.sort != Sort::Set;
    case Kind::Var: return n.args.empty() && !n.name.empty();
    case Kind::Add: case Kind::Sub: case Kind::Mul:
      return n.sort == Sort::Word && args({Sort::Word, Sort::Word});
    case Kind::PageOf: return n.sort == Sort::Word && args({Sort::Word});
    case Kind::Div: case Kind::Mod:
      return n.sort == Sort::Word && args({Sort::Word, Sort::Word}) && n.args[1]->kind == Kind::Lit &&
             n.args[1]->value != 0;
    case Kind::Eq: return n.sort == Sort::Bool && n.args.size() == 2 && n.args[0]->sort == n.args[1]->sort;
    case Kind::Lt: case Kind::Le: return n.sort == Sort::Bool && args({Sort::Word, Sort::Word});
    case Kind::Not: return n.sort == Sort::Bool && args({Sort::Bool});
    case Kind::And: case Kind::Or: case Kind::Implies:
      return n.sort == Sort::Bool && args({Sort::Bool, Sort::Bool});
    case Kind::Ite:
      return n.args.size() == 3 && n.args[0]->sort == Sort::Bool && n.args[1]->sort == n.sort &&
             n.args[2]->sort == n.sort;
    case Kind::EmptySet: return n.sort == Sort::Set && n.args.empty();
    case Kind::Insert: return n.sort == Sort::Set && args({Sort::Set, Sort::Word});
    case Kind::Union: case Kind::Minus: return n.sort == Sort::Set && args({Sort::Set, Sort::Set});
    case Kind::Member: return n.sort == Sort::Bool && args({Sort::Word, Sort::Set});
  }
  return false;
}

// ---------------------------------------------------------------------------
// vmsl: saturation that cannot happen.
//
// The exact vmsl encoding of `a + b` is ite(a + b > max, max, a + b), and
// `-` and `*` likewise. A word computed by many instructions nests hundreds
// of these, and Z3 case-splits through them even where the query's own
// bounds rule saturation out (10,000 straight-line instructions: 3.6 s with
// every ite, 0.6 s without). This analysis finds the operations that cannot
// saturate in any model of the query, and the translator encodes those as
// the plain operation; and where such a plain sum is used by anything but
// another plain sum, as its linear form (see Translator::flat).
//
// Per word node, bottom-up over the DAG (each node once, in the translator's
// post-order), it computes
//  - an interval [lo, hi] that holds the node's value, and
//  - a linear form k + sum c_i * t_i over atoms t_i (word variables, by
//    name, and nodes it does not look into) equal to the node's value,
// both valid in every model of R && F, where R is the range constraints
// (0 <= x <= max for every word variable, asserted by every vmsl query) and
// F the facts: the top-level conjuncts of the assumptions (And flattened)
// of the forms x <= c, x < c, c <= x, c < x, x == c, c == x, or a negated
// <, <= (x a word variable, c a literal). Nothing under Or, Implies, Ite or
// a negated And, and nothing from the goal, is a fact: those do not hold in
// every model of the query. An atom's value lies in its own interval, so a
// linear form is bounded by k + sum (c_i > 0 ? c_i * lo_i : c_i * hi_i) and
// the same with hi and lo swapped.
//  - a + b is plain when hi(a + b) <= max, a * b when hi(a * b) <= max, and
//    a - b when lo(a - b) >= 0, each taking the tighter of interval
//    arithmetic and the linear form's bound. The linear form is what sees
//    sub(add(x, y), y) >= 0 (an interval cannot).
// Soundness: F contains no arithmetic, so it is translated the same either
// way. By induction over the DAG, in every model of R && F each node has
// the same value in both encodings and that value lies in the node's
// interval and equals its linear form: where an operation is encoded
// plainly, the bounds show that the exact encoding's ite takes its
// non-saturating branch in that model, which is the plain operation. So
// every assumption and the goal mean the same in both encodings in every
// model of R && F, and since every query asserts R && F, the simplified
// query has exactly the models of the exact one: the same verdict, and a
// model Z3 returns is a model of the exact query (which the self-check then
// confirms with hvsl::eval). If the facts contradict each other (an empty
// interval) the analysis does nothing; Z3 finds the contradiction.
// Writing a plain node as its linear form changes nothing either: a plain
// node's plain translation is built from +, - and * by a constant over its
// atoms' translations, and the linear form is that polynomial, normalised
// (equal in every interpretation, not only in models of R && F).
//
// Numbers are __int128; linear forms are capped (atoms, coefficients,
// constant) so that no bound computation can overflow: a node whose form
// would exceed a cap becomes an atom itself.
class NoSaturation {
 public:
  __extension__ using Num = __int128;

  explicit NoSaturation(Word max) : max_(Num(max)) {}

  struct Lin {
    std::vector<std::pair<unsigned, Num>> terms;  // (atom, coefficient != 0), by atom
    Num k = 0;
    bool ok = true;  // false: no linear form (too big, or not linear)
  };

  // Whether n is an Add, Sub or Mul that cannot saturate and has a linear
  // form (not an atom of its own); its form, and the node an atom stands for.
  bool flat(const TermNode& n) const {
    auto it = info_.find(&n);
    return it != info_.end() && it->second.flat;
  }
  const Lin& lin(const TermNode& n) const { return info_.at(&n).lin; }
  const TermNode& atom_node(unsigned atom) const { return *atom_nodes_[atom]; }

  // Reads the facts of one assumption. Call for every assumption before
  // analysing any node.
  void add_facts(const Term& assumption) {
    std::vector<const TermNode*> todo{&*assumption};
    while (!todo.empty()) {
      const TermNode* n = todo.back();
      todo.pop_back();
      if (n->kind == Kind::And) {
        for (const auto& a : n->args)
          if (a.valid()) todo.push_back(&*a);
      } else {
        fact(*n);
      }
    }
  }

  // Analyses a word node whose word arguments have been analysed; returns
  // whether it is an Add, Sub or Mul that cannot saturate.
  bool analyse(const TermNode& n) {
    if (!enabled()) return false;
    Info out;
    bool plain = false;
    switch (n.kind) {
      case Kind::Lit:
        out.lo = out.hi = Num(n.value);
        out.lin.k = Num(n.value);
        break;
      case Kind::Var: {
        auto [it, fresh] = var_ids_.try_emplace(n.name, unsigned(atoms_.size()));
        if (fresh) {
          auto f = facts_.find(n.name);
          atoms_.push_back(f != facts_.end() ? f->second : std::pair<Num, Num>{0, max_});
          atom_nodes_.push_back(&n);
        }
        out.lo = atoms_[it->second].first;
        out.hi = atoms_[it->second].second;
        out.lin.terms.emplace_back(it->second, 1);
        break;
      }
      case Kind::Add: case Kind::Sub: case Kind::Mul: {
        const Info& a = info(n.args[0]);
        const Info& b = info(n.args[1]);
        Lin lin;
        if (n.kind == Kind::Add) {
          out.lo = a.lo + b.lo;
          out.hi = a.hi + b.hi;
          lin = combine(a.lin, 1, b.lin, 1);
        } else if (n.kind == Kind::Sub) {
          out.lo = a.lo - b.hi;
          out.hi = a.hi - b.lo;
          lin = combine(a.lin, 1, b.lin, -1);
        } else if (a.hi > kFactorCap || b.hi > kFactorCap) {
          out.lo = 0;
          out.hi = max_ + 1;  // only decides "may saturate"; not kept
          lin.ok = false;
        } else {
          out.lo = a.lo * b.lo;
          out.hi = a.hi * b.hi;
          if (a.lin.terms.empty()) lin = combine(b.lin, a.lin.k, Lin{}, 0);
          else if (b.lin.terms.empty()) lin = combine(a.lin, b.lin.k, Lin{}, 0);
          else lin.ok = false;
        }
        if (lin.ok) {
          auto [lo, hi] = bounds(lin);
          out.lo = std::max(out.lo, lo);
          out.hi = std::min(out.hi, hi);
        }
        plain = n.kind == Kind::Sub ? out.lo >= 0 : out.hi <= max_;
        if (plain) {
          out.lin = std::move(lin);
          out.flat = out.lin.ok;
        } else {
          // Saturates in some model: the value is the largest word there,
          // the plain result elsewhere (for Sub, at most a's value).
          out.lo = n.kind == Kind::Sub ? 0 : std::min(std::max(out.lo, Num(0)), max_);
          out.hi = n.kind == Kind::Sub ? std::max(max_, a.hi) : max_;
          out.lin.ok = false;
        }
        break;
      }
      case Kind::Div:  // between 0 and a
      case Kind::Mod:  // between 0 and a (and below k)
      case Kind::PageOf:  // a - a mod page_size: between 0 and a
        out.lo = 0;
        out.hi = info(n.args[0]).hi;
        out.lin.ok = false;
        break;
      case Kind::Ite: {
        const Info& a = info(n.args[1]);
        const Info& b = info(n.args[2]);
        out.lo = std::min(a.lo, b.lo);
        out.hi = std::max(a.hi, b.hi);
        out.lin.ok = false;
        break;
      }
      default:
        out.lo = 0;
        out.hi = max_;
        out.lin.ok = false;
        break;
    }
    out.lo = std::max(out.lo, Num(0));  // every word value is at least 0
    if (!out.lin.ok) {  // an atom of its own
      out.lin = Lin{};
      out.lin.terms.emplace_back(unsigned(atoms_.size()), 1);
      atoms_.emplace_back(out.lo, out.hi);
      atom_nodes_.push_back(&n);
    }
    info_.emplace(&n, std::move(out));
    return plain;
  }

 private:
  struct Info {
    Num lo = 0, hi = 0;
    Lin lin;
    bool flat = false;
  };

  // Caps: with at most kMaxAtoms atoms, |coefficient| <= 2^40, |k| <= 2^66
  // and every atom's bounds within 0..2^64, a bound is below 2^110.
  static constexpr std::size_t kMaxAtoms = 32;
  static constexpr Num kCoefCap = Num(1) << 40, kConstCap = Num(1) << 66, kFactorCap = Num(1) << 62;

  bool enabled() const { return !contradictory_; }

  const Info& info(const Term& t) const { return info_.at(&*t); }

  static Num abs(Num v) { return v < 0 ? -v : v; }

  // ca * a + cb * b, or !ok if a cap is exceeded. Every ok form keeps the
  // caps, so with |ca|, |cb| <= 2^40 nothing here overflows.
  static Lin combine(const Lin& a, Num ca, const Lin& b, Num cb) {
    Lin out;
    if (!a.ok || !b.ok || abs(ca) > kCoefCap || abs(cb) > kCoefCap) {
      out.ok = false;
      return out;
    }
    std::size_t i = 0, j = 0;
    while (i < a.terms.size() || j < b.terms.size()) {
      unsigned atom;
      Num c = 0;
      if (j == b.terms.size() || (i < a.terms.size() && a.terms[i].first < b.terms[j].first)) {
        atom = a.terms[i].first;
        c = ca * a.terms[i++].second;
      } else if (i == a.terms.size() || b.terms[j].first < a.terms[i].first) {
        atom = b.terms[j].first;
        c = cb * b.terms[j++].second;
      } else {
        atom = a.terms[i].first;
        c = ca * a.terms[i++].second + cb * b.terms[j++].second;
      }
      if (abs(c) > kCoefCap) out.ok = false;
      if (c != 0) out.terms.emplace_back(atom, c);
    }
    out.k = ca * a.k + cb * b.k;
    if (out.terms.size() > kMaxAtoms || abs(out.k) > kConstCap) out.ok = false;
    if (!out.ok) out.terms.clear();
    return out;
  }

  std::pair<Num, Num> bounds(const Lin& l) const {
    Num lo = l.k, hi = l.k;
    for (const auto& [atom, c] : l.terms) {
      const auto& [alo, ahi] = atoms_[atom];
      lo += c * (c > 0 ? alo : ahi);
      hi += c * (c > 0 ? ahi : alo);
    }
    return {lo, hi};
  }

  // One top-level conjunct: a bound on a word variable, or nothing.
  void fact(const TermNode& n) {
    const TermNode* f = &n;
    bool neg = false;
    if (f->kind == Kind::Not && f->args.size() == 1 && f->args[0].valid()) {
      neg = true;
      f = &*f->args[0];
    }
    if ((f->kind != Kind::Lt && f->kind != Kind::Le && f->kind != Kind::Eq) || f->args.size() != 2 ||
        !f->args[0].valid() || !f->args[1].valid())
      return;
    const TermNode& l = *f->args[0];
    const TermNode& r = *f->args[1];
    if (l.sort != Sort::Word || r.sort != Sort::Word) return;
    bool var_lit = l.kind == Kind::Var && r.kind == Kind::Lit;
    bool lit_var = l.kind == Kind::Lit && r.kind == Kind::Var;
    if (!var_lit && !lit_var) return;
    const std::string& x = var_lit ? l.name : r.name;
    Num c = Num(var_lit ? r.value : l.value);
    Num lo = 0, hi = max_;
    if (f->kind == Kind::Eq) {
      if (neg) return;
      lo = hi = c;
    } else {
      // As "x < c" / "x <= c" (var_lit) or "c < x" / "c <= x" (lit_var);
      // negated, "c <= x" / "c < x" or "x <= c" / "x < c".
      bool strict = f->kind == Kind::Lt;
      bool upper = var_lit != neg;           // the fact bounds x from above
      if (neg) strict = !strict;
      if (upper) hi = strict ? c - 1 : c;
      else lo = strict ? c + 1 : c;
    }
    auto [it, fresh] = facts_.try_emplace(x, std::pair<Num, Num>{0, max_});
    (void)fresh;
    it->second.first = std::max(it->second.first, lo);
    it->second.second = std::min(it->second.second, hi);
    if (it->second.first > it->second.second) contradictory_ = true;
  }

  Num max_;
  std::unordered_map<std::string, std::pair<Num, Num>> facts_;  // word variable -> bounds from F and R
  std::unordered_map<std::string, unsigned> var_ids_;           // word variable -> its atom
  std::vector<std::pair<Num, Num>> atoms_;                       // atom -> bounds
  std::vector<const TermNode*> atom_nodes_;                      // atom -> a node it stands for
  std::unordered_map<const TermNode*, Info> info_;
  bool contradictory_ = false;
};

// ---------------------------------------------------------------------------
// Translation: hvsl terms -> Z3 expressions, for one query.
//
//            vmsl (words: Int, 0..max)                 arm64 (words: BV64)
//   a + b    ite(a+b > max, max, a+b)                  bvadd
//   a - b    ite(a < b, max, a-b)                      bvsub
//   a * b    ite(a*b > max, max, a*b)                  bvmul
//            (vmsl: a+b, a-b, a*b where NoSaturation shows the query's
//            facts rule saturation out, as linear forms; see above)
//   page_of  a - a mod page_size                       a - bvurem(a, page_size)
//   <, <=    integer                                   bvult, bvule
//   sets     (Array Word Bool): const false, store, union, difference, select
class Translator {
 public:
  struct Var {
    Sort sort;
    z3::expr expr;
  };

  // prune: leave out the saturation ites NoSaturation shows impossible
  // (vmsl); call facts() with every assumption before translating anything.
  Translator(z3::context& ctx, const Profile& p, bool prune)
      : ctx_(ctx),
        p_(p),
        vmsl_(p.kind == ProfileKind::Vmsl),
        prune_(vmsl_ && prune),
        word_(vmsl_ ? ctx.int_sort() : ctx.bv_sort(64)),
        set_(ctx.array_sort(word_, ctx.bool_sort())),
        max_(word(p.word_max)),
        sat_(p.word_max) {}

  void facts(const Term& assumption) {
    if (prune_) sat_.add_facts(assumption);
  }

  // How many Add/Sub/Mul were translated with and without the ite (vmsl).
  std::size_t saturating() const { return saturating_; }
  std::size_t pruned() const { return pruned_; }

  const z3::sort& word_sort() const { return word_; }
  z3::expr word(Word w) const { return vmsl_ ? ctx_.int_val(w) : ctx_.bv_val(w, 64); }

  // Counts the parents of every node below `root`; call it for every root of
  // the query before translating any, so that chains of And/Or that nothing
  // else shares become one n-ary Z3 term (TermBuilder::and_ builds
  // left-deep chains; nested binary ands cost Z3 several times more).
  void count(const Term& root) {
    if (!root.valid()) throw std::runtime_error("hvsl::smt: an empty term in a query");
    std::vector<const TermNode*> todo{&*root};
    if (parents_[&*root]++ > 0) return;
    while (!todo.empty()) {
      const TermNode* n = todo.back();
      todo.pop_back();
      for (const auto& a : n->args) {
        if (!a.valid()) throw std::runtime_error(std::string("hvsl::smt: an ill-formed ") + kind_name(n->kind) + " term");
        if (parents_[&*a]++ == 0) todo.push_back(&*a);
      }
    }
  }

  z3::expr operator()(const Term& root) {
    if (!root.valid()) throw std::runtime_error("hvsl::smt: an empty term in a query");
    std::vector<std::pair<const TermNode*, bool>> stack{{&*root, false}};
    while (!stack.empty()) {
      auto [n, expanded] = stack.back();
      if (memo_.count(n)) {
        stack.pop_back();
        continue;
      }
      if (!expanded) {
        check(*n);
        stack.back().second = true;
        for (const TermNode* a : operands(*n))
          if (!memo_.count(a)) stack.emplace_back(a, false);
        continue;
      }
      stack.pop_back();
      memo_.emplace(n, build(*n));
    }
    return memo_.at(&*root);
  }

  // 0 <= x <= max for every word variable (vmsl; BV64 needs none).
  std::vector<z3::expr> range_constraints() const {
    std::vector<z3::expr> out;
    if (!vmsl_) return out;
    for (const auto& [name, v] : vars_)
      if (v.sort == Sort::Word) out.push_back(ctx_.int_val(0) <= v.expr && v.expr <= max_);
    return out;
  }

  const std::map<std::string, Var>& vars() const { return vars_; }

  bool uses_sets() const { return sets_; }
  bool nonlinear() const { return nonlinear_; }

  // Every word-sorted subterm translated so far.
  std::vector<z3::expr> word_terms() const {
    std::vector<z3::expr> out;
    for (const auto& [n, e] : memo_)
      if (n->sort == Sort::Word) out.push_back(e);
    return out;
  }

 private:
  z3::sort sort_of(Sort s) const {
    switch (s) {
      case Sort::Bool: return ctx_.bool_sort();
      case Sort::Word: return word_;
      case Sort::Set: return set_;
    }
    throw std::runtime_error("hvsl::smt: unknown sort");
  }

  static void check(const TermNode& n) {
    if (!well_sorted(n))
      throw std::runtime_error(std::string("hvsl::smt: an ill-formed ") + kind_name(n.kind) + " term");
  }

  // The nodes n's translation is built from: its arguments, or for And/Or
  // the operands of the whole chain of same-kind nodes below n that have no
  // other parent (left to right). Computed once per node.
  const std::vector<const TermNode*>& operands(const TermNode& n) {
    auto [it, fresh] = operands_.try_emplace(&n);
    if (!fresh) return it->second;
    auto& out = it->second;
    if (n.kind != Kind::And && n.kind != Kind::Or) {
      for (const auto& a : n.args) out.push_back(&*a);
      return out;
    }
    std::vector<const TermNode*> todo{&n};
    while (!todo.empty()) {
      const TermNode* m = todo.back();
      todo.pop_back();
      if (m == &n || (m->kind == n.kind && parents_[m] == 1 && !memo_.count(m))) {
        check(*m);
        for (auto a = m->args.rbegin(); a != m->args.rend(); ++a) todo.push_back(&**a);
      } else {
        out.push_back(m);
      }
    }
    return out;
  }

  // A plain Add/Sub/Mul with a linear form, as that form over its atoms
  // (k + c1 * t1 + ..., equal to its plain translation as a polynomial):
  // what a node that is not such a sum itself sees of it. So Z3 gets one
  // short sum per use (at most 32 atoms), not a DAG of thousands of nested
  // ones to normalise in every query (half its work at 10,000 straight-line
  // vmsl instructions). The nested translation is still built, and is what
  // word_terms() returns, but nothing asserted refers to it.
  z3::expr flat(const TermNode& n) {
    auto it = flat_.find(&n);
    if (it != flat_.end()) return it->second;
    const auto& l = sat_.lin(n);
    z3::expr_vector ts(ctx_);
    for (const auto& [atom, c] : l.terms) {
      z3::expr e = memo_.at(&sat_.atom_node(atom));
      ts.push_back(c == 1 ? e : num(c) * e);
    }
    if (l.k != 0 || ts.empty()) ts.push_back(num(l.k));
    z3::expr e = ts.size() == 1 ? ts[0] : z3::sum(ts);
    flat_.emplace(&n, e);
    return e;
  }

  // An integer literal; a linear form's constant can exceed 64 bits (the
  // caps keep it below 2^67).
  z3::expr num(NoSaturation::Num v) const {
    if (v >= INT64_MIN && v <= INT64_MAX) return ctx_.int_val(std::int64_t(v));
    bool neg = v < 0;
    std::string digits;
    for (NoSaturation::Num m = neg ? -v : v; m > 0; m /= 10) digits.insert(digits.begin(), char('0' + int(m % 10)));
    return ctx_.int_val((neg ? "-" + digits : digits).c_str());
  }

  z3::expr build(const TermNode& n) {
    if (n.sort == Sort::Set) sets_ = true;
    if (n.kind == Kind::Mul && !is_lit(n.args[0]) && !is_lit(n.args[1])) nonlinear_ = true;
    bool plain = prune_ && n.sort == Sort::Word && sat_.analyse(n);
    bool flat_parent = prune_ && sat_.flat(n);
    auto a = [&](std::size_t i) {
      const TermNode& c = *n.args[i];
      if (prune_ && !flat_parent && c.sort == Sort::Word && sat_.flat(c)) return flat(c);
      return memo_.at(&c);
    };
    if (vmsl_ && (n.kind == Kind::Add || n.kind == Kind::Sub || n.kind == Kind::Mul)) ++(plain ? pruned_ : saturating_);
    switch (n.kind) {
      case Kind::Lit: return n.sort == Sort::Bool ? ctx_.bool_val(n.value != 0) : word(n.value);
      case Kind::Var: {
        auto it = vars_.find(n.name);
        if (it == vars_.end())
          it = vars_.emplace(n.name, Var{n.sort, ctx_.constant(n.name.c_str(), sort_of(n.sort))}).first;
        else if (it->second.sort != n.sort)
          throw std::runtime_error("hvsl::smt: variable '" + n.name + "' is used with two sorts");
        return it->second.expr;
      }
      case Kind::Add: {
        if (!vmsl_ || plain) return a(0) + a(1);
        z3::expr sum = a(0) + a(1);
        return z3::ite(sum > max_, max_, sum);
      }
      case Kind::Sub:
        if (!vmsl_ || plain) return a(0) - a(1);
        return z3::ite(a(0) < a(1), max_, a(0) - a(1));  // VMSL: below zero is the largest word
      case Kind::Mul: {
        if (!vmsl_ || plain) return a(0) * a(1);
        z3::expr prod = a(0) * a(1);
        return z3::ite(prod > max_, max_, prod);
      }
      case Kind::Div: return vmsl_ ? z3::expr(a(0) / a(1)) : z3::udiv(a(0), a(1));
      case Kind::Mod: return vmsl_ ? z3::mod(a(0), a(1)) : z3::urem(a(0), a(1));
      case Kind::PageOf:
        if (!vmsl_) return a(0) - z3::urem(a(0), word(p_.page_size));
        return a(0) - z3::mod(a(0), word(p_.page_size));
      case Kind::Eq: return a(0) == a(1);
      case Kind::Lt: return vmsl_ ? a(0) < a(1) : z3::ult(a(0), a(1));
      case Kind::Le: return vmsl_ ? a(0) <= a(1) : z3::ule(a(0), a(1));
      case Kind::Not: return !a(0);
      case Kind::And: case Kind::Or: {
        z3::expr_vector ops(ctx_);
        for (const TermNode* o : operands_.at(&n)) ops.push_back(memo_.at(o));
        return n.kind == Kind::And ? z3::mk_and(ops) : z3::mk_or(ops);
      }
      case Kind::Implies: return z3::implies(a(0), a(1));
      case Kind::Ite: return z3::ite(a(0), a(1), a(2));
      case Kind::EmptySet: return z3::const_array(word_, ctx_.bool_val(false));
      case Kind::Insert: return z3::store(a(0), a(1), ctx_.bool_val(true));
      case Kind::Union: return z3::set_union(a(0), a(1));
      case Kind::Minus: return z3::set_difference(a(0), a(1));
      case Kind::Member: return z3::select(a(1), a(0));
    }
    throw std::runtime_error("hvsl::smt: unknown term kind");
  }

  z3::context& ctx_;
  const Profile& p_;
  bool vmsl_, prune_;
  z3::sort word_, set_;
  z3::expr max_;
  NoSaturation sat_;
  std::size_t saturating_ = 0, pruned_ = 0;
  std::unordered_map<const TermNode*, z3::expr> memo_, flat_;
  std::unordered_map<const TermNode*, std::size_t> parents_;
  std::unordered_map<const TermNode*, std::vector<const TermNode*>> operands_;
  std::map<std::string, Var> vars_;
  bool sets_ = false, nonlinear_ = false;
};

// ---------------------------------------------------------------------------
// Models: Z3's values -> hvsl values.
//
// Words and booleans are read with model completion. A set variable is an
// array Word -> Bool in Z3's model, possibly infinite (a `true` default, a
// lambda) and, in vmsl, possibly true at integers that are not words. It is
// turned into a finite set of words that agrees with Z3's model on every
// evaluation the query can make:
//  - the query only looks inside a set at the values of its word subterms
//    (Member, Insert) and, through set equality, at any point where two set
//    terms differ;
//  - Z3's array values are built from finitely many numerals (store indices,
//    function-interpretation entries, lambda bodies); away from those
//    numerals every array is constant, so all of that region behaves like
//    one representative word g that is neither a term value nor a numeral;
//  - a vmsl numeral outside 0..max (an integer that is not a word) is given
//    a fresh word of its own, so a difference Z3 placed there is kept.
// So the candidate points are: the values of the word subterms, every
// numeral n (and n-1, n+1, so interval-shaped lambdas keep their regions),
// the fresh words and g. A set variable's finite set is the candidates at
// which Z3's array is true. A cofinite array is thus reported as the finite
// set of its relevant members plus g. Arrays that do not fit this picture
// (lambdas with non-numeral structure) are caught by the replay below.
class ModelReader {
 public:
  ModelReader(z3::context& ctx, z3::model& m, const Profile& p, const Translator& tr)
      : ctx_(ctx), m_(m), p_(p), tr_(tr), vmsl_(p.kind == ProfileKind::Vmsl) {}

  // Throws std::runtime_error if a value is not a literal (it cannot be with
  // model completion; the caller turns that into Unknown).
  Env read() {
    Env env;
    bool any_set = false;
    for (const auto& [name, v] : tr_.vars()) {
      z3::expr val = m_.eval(v.expr, true);
      switch (v.sort) {
        case Sort::Word: env[name] = Value{Sort::Word, word_of(val, name), {}}; break;
        case Sort::Bool:
          if (!val.is_true() && !val.is_false()) throw std::runtime_error("no boolean value for '" + name + "'");
          env[name] = Value{Sort::Bool, val.is_true() ? Word(1) : Word(0), {}};
          break;
        case Sort::Set: any_set = true; break;
      }
    }
    if (!any_set) return env;

    // The candidate points, as (index probed in Z3, word reported).
    std::set<Word> words;
    for (const auto& t : tr_.word_terms()) words.insert(word_of(m_.eval(t, true), "a word term"));
    for (const auto& [name, v] : tr_.vars())
      if (v.sort == Sort::Set) collect_numerals(m_.eval(v.expr, true));
    for (const auto& n : numerals_) {
      for (int d : {-1, 0, 1}) {
        if (vmsl_) {
          std::int64_t i = 0;
          if (!n.is_numeral_i64(i) || (d < 0 && i == INT64_MIN) || (d > 0 && i == INT64_MAX)) continue;
          i += d;
          if (i >= 0 && Word(i) <= p_.word_max)
            words.insert(Word(i));
          else
            outside_.insert(i);
        } else {
          std::uint64_t w = 0;
          if (!n.is_numeral_u64(w) || (d < 0 && w == 0) || (d > 0 && w == p_.word_max)) continue;
          words.insert(w + d);
        }
      }
    }
    std::vector<std::pair<z3::expr, Word>> probes;
    for (Word w : words) probes.emplace_back(tr_.word(w), w);
    Word next = 0;
    auto fresh = [&]() {
      while (words.count(next)) ++next;  // there are far more words than candidates
      words.insert(next);
      return next;
    };
    for (std::int64_t i : outside_) probes.emplace_back(ctx_.int_val(i), fresh());
    Word g = fresh();
    probes.emplace_back(tr_.word(g), g);

    for (const auto& [name, v] : tr_.vars()) {
      if (v.sort != Sort::Set) continue;
      Value s{Sort::Set, 0, {}};
      for (const auto& [index, w] : probes) {
        z3::expr in = m_.eval(z3::select(v.expr, index), true);
        if (!in.is_true() && !in.is_false()) throw std::runtime_error("no membership value for set '" + name + "'");
        if (in.is_true()) s.set.insert(w);
      }
      env[name] = std::move(s);
    }
    return env;
  }

 private:
  Word word_of(const z3::expr& val, const std::string& what) const {
    std::uint64_t w = 0;
    if (!val.is_numeral() || !val.is_numeral_u64(w)) throw std::runtime_error("no word value for " + what);
    return w;
  }

  void collect_func_interp(const z3::func_decl& f) {
    if (!m_.has_interp(f)) return;
    z3::func_interp fi = m_.get_func_interp(f);
    for (unsigned i = 0; i < fi.num_entries(); ++i) {
      z3::func_entry e = fi.entry(i);
      for (unsigned j = 0; j < e.num_args(); ++j) collect_numerals(e.arg(j));
      collect_numerals(e.value());
    }
    collect_numerals(fi.else_value());
  }

  // Every numeral of the word sort in an array value, through stores,
  // as-array function interpretations and lambda bodies.
  void collect_numerals(const z3::expr& root) {
    std::vector<z3::expr> todo{root};
    while (!todo.empty()) {
      z3::expr e = todo.back();
      todo.pop_back();
      if (!seen_.insert(e.id()).second) continue;
      if (e.is_numeral()) {
        if (z3::eq(e.get_sort(), tr_.word_sort())) numerals_.push_back(e);
      } else if (e.is_quantifier()) {  // a lambda
        todo.push_back(e.body());
      } else if (e.is_app()) {
        z3::func_decl f = e.decl();
        if (f.decl_kind() == Z3_OP_AS_ARRAY) {
          collect_func_interp(z3::func_decl(ctx_, Z3_get_as_array_func_decl(ctx_, e)));
        } else if (f.decl_kind() == Z3_OP_UNINTERPRETED && f.arity() > 0 && !func_seen_.count(f.id())) {
          func_seen_.insert(f.id());
          collect_func_interp(f);
        }
        for (unsigned i = 0; i < e.num_args(); ++i) todo.push_back(e.arg(i));
      }
    }
  }

  z3::context& ctx_;
  z3::model& m_;
  const Profile& p_;
  const Translator& tr_;
  bool vmsl_;
  std::vector<z3::expr> numerals_;
  std::set<std::int64_t> outside_;  // vmsl: integers that are not words
  std::unordered_set<unsigned> seen_, func_seen_;
};

// ---------------------------------------------------------------------------
// The self-check: evaluates terms on a model with hvsl::eval, the reference
// semantics. Each node is evaluated once (a copy whose arguments are
// placeholders bound to the arguments' values), so shared subterms are not
// unfolded and deep terms need no deep recursion.
class Replay {
 public:
  Replay(const Profile& p, const Env& env) : p_(p), env_(env) {}

  std::optional<Value> operator()(const Term& root) {
    std::vector<std::pair<const TermNode*, bool>> stack{{&*root, false}};
    while (!stack.empty()) {
      auto [n, expanded] = stack.back();
      if (memo_.count(n)) {
        stack.pop_back();
        continue;
      }
      if (!expanded && !n->args.empty()) {
        stack.back().second = true;
        for (const auto& a : n->args)
          if (!memo_.count(&*a)) stack.emplace_back(&*a, false);
        continue;
      }
      stack.pop_back();
      std::optional<Value> v;
      if (n->args.empty()) {
        v = eval(Term(std::shared_ptr<const TermNode>(std::shared_ptr<const TermNode>{}, n)), p_, env_);
      } else {
        auto shallow = std::make_shared<TermNode>(*n);
        Env local;
        for (std::size_t i = 0; i < n->args.size(); ++i) {
          auto ph = std::make_shared<TermNode>();
          ph->kind = Kind::Var;
          ph->sort = n->args[i]->sort;
          ph->name = "#" + std::to_string(i);
          local[ph->name] = memo_.at(&*n->args[i]);
          shallow->args[i] = Term(std::move(ph));
        }
        v = eval(Term(std::move(shallow)), p_, local);
      }
      if (!v) return std::nullopt;
      memo_.emplace(n, std::move(*v));
    }
    return memo_.at(&*root);
  }

 private:
  const Profile& p_;
  const Env& env_;
  std::unordered_map<const TermNode*, Value> memo_;
};

bool replays_to(Replay& replay, const Term& t, bool expected) {
  auto v = replay(t);
  return v && v->sort == Sort::Bool && (v->word != 0) == expected;
}

}  // namespace

// ---------------------------------------------------------------------------
// Which Z3 solver a query gets. Z3's default solver costs ~10 ms to set up
// per fresh solver; a logic-specific one or the bare SMT core well under
// 1 ms. But each is only right for some queries (measured on Z3 4.8.12):
//  - vmsl, linear:  QF_AUFLIA, with or without sets;
//  - vmsl, a product of two non-literals: QF_NIA; with sets the default
//    solver (the linear configurations time out on nonlinear unsat queries);
//  - arm64 without sets: QF_BV (bit-blasting);
//  - arm64 with sets: the bare SMT core ("simple"); QF_AUFBV and QF_ABV give
//    up on the array maps that union and minus become, and QF_BV even
//    answers sat with a bogus model.
// A first attempt that gives up ("incomplete", "tactic failed") or whose
// model fails the self-check is retried once with the default solver, within
// what is left of the time limit.
struct Strategy {
  enum Kind { Logic, Simple, Default } kind;
  const char* logic;  // for Logic
  std::string describe() const {
    switch (kind) {
      case Logic: return std::string("the ") + logic + " solver";
      case Simple: return "the SMT core (simple solver)";
      case Default: return "the default solver";
    }
    return "?";
  }
};

Strategy choose(const Profile& p, const Translator& tr) {
  if (p.kind == ProfileKind::Arm64) return tr.uses_sets() ? Strategy{Strategy::Simple, nullptr} : Strategy{Strategy::Logic, "QF_BV"};
  if (!tr.nonlinear()) return {Strategy::Logic, "QF_AUFLIA"};
  return tr.uses_sets() ? Strategy{Strategy::Default, nullptr} : Strategy{Strategy::Logic, "QF_NIA"};
}

// For the dump's header: how many saturating operations lost their ite.
std::string pruned(const Translator& tr) {
  std::size_t all = tr.pruned() + tr.saturating();
  if (all == 0) return "";
  return ", " + std::to_string(tr.pruned()) + " of " + std::to_string(all) +
         " saturating +, -, * written without their ite (they cannot saturate)";
}

bool gave_up(const std::string& reason) {
  return reason.find("incomplete") != std::string::npos || reason.find("tactic failed") != std::string::npos;
}

// ---------------------------------------------------------------------------

struct Solver::Impl {
  z3::context ctx;  // first, so it is destroyed last: every Z3 object refers to it
  const Profile& profile;
  Options options;
  unsigned dumped = 0;

  Impl(const Profile& p, Options o) : profile(p), options(std::move(o)) {}

  // `goal` null: a satisfiability query.
  Outcome run(const std::vector<Term>& assumptions, const Term* goal, const std::string& name, Stats& stats);
  void dump(const std::string& name, const std::string& what, const std::string& smtlib);
};

void Solver::Impl::dump(const std::string& name, const std::string& what, const std::string& smtlib) {
  namespace fs = std::filesystem;
  ++dumped;
  char number[16];
  std::snprintf(number, sizeof number, "%04u", dumped);
  fs::path dir(options.dump_dir);
  fs::path file = dir / (std::string(number) + "-" + sanitise(name) + ".smt2");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create the SMT-LIB dump directory '" + dir.string() + "': " + ec.message());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  std::string label = name;
  for (char& c : label)
    if (c == '\n' || c == '\r') c = ' ';
  out << "; hvsl query " << number << ": " << label << "\n"
      << "; profile " << profile.name << ", " << what << "\n"
      << "; options: timeout_ms=" << options.timeout_ms << " rlimit=" << options.rlimit
      << " seed=" << options.seed << "\n"
      << smtlib;
  out.close();
  if (!out) throw std::runtime_error("cannot write the SMT-LIB dump '" + file.string() + "'");
}

Outcome Solver::Impl::run(const std::vector<Term>& assumptions, const Term* goal, const std::string& name,
                          Stats& stats) {
  auto start = Clock::now();
  Outcome out;
  try {
    Translator tr(ctx, profile, options.prune_saturation);
    for (const auto& a : assumptions) tr.count(a);
    if (goal) tr.count(*goal);
    for (const auto& a : assumptions) tr.facts(a);
    std::vector<z3::expr> asserted;
    for (const auto& a : assumptions) {
      if (!a.valid() || a->sort != Sort::Bool) throw std::runtime_error("hvsl::smt: an assumption is not a formula");
      asserted.push_back(tr(a));
    }
    if (goal) {
      if (!goal->valid() || (*goal)->sort != Sort::Bool) throw std::runtime_error("hvsl::smt: the goal is not a formula");
      asserted.push_back(!tr(*goal));
    }

    std::vector<z3::expr> all = tr.range_constraints();
    all.insert(all.end(), asserted.begin(), asserted.end());
    auto make = [&](const Strategy& st, unsigned timeout_ms) {
      z3::solver s = st.kind == Strategy::Logic    ? z3::solver(ctx, st.logic)
                     : st.kind == Strategy::Simple ? z3::solver(ctx, z3::solver::simple())
                                                   : z3::solver(ctx);
      z3::params params(ctx);
      if (timeout_ms != 0) params.set("timeout", timeout_ms);
      if (options.rlimit != 0) params.set("rlimit", options.rlimit);
      params.set("random_seed", options.seed);
      s.set(params);
      for (const auto& e : all) s.add(e);
      return s;
    };

    // Fresh solvers per query: no push/pop, no state carried over.
    Strategy first = choose(profile, tr);
    z3::solver s = make(first, options.timeout_ms);
    if (options.smtlib || !options.dump_dir.empty()) {
      std::string text =
          (first.kind == Strategy::Logic ? std::string("(set-logic ") + first.logic + ")\n" : "") + s.to_smt2();
      if (!options.dump_dir.empty())
        dump(name,
             std::string(goal ? "check_valid (the last assertion is the negated goal)" : "check_sat") + ", " +
                 first.describe() + pruned(tr),
             text);
      if (options.smtlib) out.smtlib = std::move(text);
    }

    std::vector<Strategy> attempts{first};
    if (first.kind != Strategy::Default) attempts.push_back({Strategy::Default, nullptr});
    for (std::size_t i = 0; i < attempts.size(); ++i) {
      bool last = i + 1 == attempts.size();
      if (i > 0) {
        unsigned left = 0;
        if (options.timeout_ms != 0) {
          auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
          if (spent >= options.timeout_ms) break;  // keep the first attempt's Unknown
          left = options.timeout_ms - unsigned(spent);
        }
        s = make(attempts[i], left);
      }
      z3::check_result r = s.check();
      if (r == z3::unsat) {
        out.verdict = goal ? Verdict::Valid : Verdict::Invalid;
        out.reason.clear();
        break;
      }
      if (r == z3::unknown) {
        out.verdict = Verdict::Unknown;
        out.reason = s.reason_unknown();
        if (out.reason.empty()) out.reason = "unknown";
        if (gave_up(out.reason) && !last) continue;
        break;
      }
      // sat: read the model back, then the self-check: the model must
      // satisfy what Z3 claims it satisfies, under hvsl::eval.
      z3::model m = s.get_model();
      out.model.clear();
      try {
        out.model = ModelReader(ctx, m, profile, tr).read();
      } catch (const std::runtime_error& e) {
        out.verdict = Verdict::Unknown;
        out.reason = std::string("unreadable model from ") + attempts[i].describe() + ": " + e.what();
        if (!last) continue;
        break;
      }
      Replay replay(profile, out.model);
      bool ok = true;
      for (const auto& a : assumptions) ok = ok && replays_to(replay, a, true);
      if (goal) ok = ok && replays_to(replay, *goal, false);
      if (ok) {
        out.verdict = goal ? Verdict::Invalid : Verdict::Valid;
        out.reason.clear();
        break;
      }
      out.verdict = Verdict::Unknown;
      out.reason = "model self-check failed: the model from " + attempts[i].describe() +
                   " does not replay with hvsl::eval";
      if (!last) continue;
      break;
    }
  } catch (const z3::exception& e) {
    throw z3_error(e);
  }
  out.time = Clock::now() - start;
  ++stats.queries;
  switch (out.verdict) {
    case Verdict::Valid: ++stats.valid; break;
    case Verdict::Invalid: ++stats.invalid; break;
    case Verdict::Unknown: ++stats.unknown; break;
  }
  stats.time += out.time;
  return out;
}

Solver::Solver(const Profile& profile, Options options) {
  try {
    impl_ = std::make_unique<Impl>(profile, std::move(options));
  } catch (const z3::exception& e) {
    throw z3_error(e);
  }
}

Solver::~Solver() = default;

Outcome Solver::check_valid(const std::vector<Term>& assumptions, const Term& goal, const std::string& name) {
  return impl_->run(assumptions, &goal, name, stats_);
}

Outcome Solver::check_sat(const std::vector<Term>& assumptions, const std::string& name) {
  return impl_->run(assumptions, nullptr, name, stats_);
}

}  // namespace hvsl::smt
