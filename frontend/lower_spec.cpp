#include "frontend/lower_spec.h"

#include <functional>

#include <fmt/format.h>

#include "logic/instruction.h"

namespace hvsl {

namespace x3 = boost::spirit::x3;

namespace {

int precedence(const std::string& op) {
  if (op == "?" || op == ":") return 0;
  if (op == "==>") return 1;
  if (op == "||") return 2;
  if (op == "&&") return 3;
  if (op == "==" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=" || op == "in") return 4;
  if (op == "+" || op == "-" || op == "union" || op == "minus") return 5;
  return 6;  // "*", "/", "%"
}

const char* sort_name(Sort s) {
  switch (s) {
    case Sort::Bool: return "a boolean";
    case Sort::Word: return "a word";
    case Sort::Set: return "a set";
  }
  return "?";
}

// The pattern of an expression that is exactly "?x", if it is one.
const ast::SPattern* as_pattern(const ast::SExpr& e) {
  if (!e.rest.empty()) return nullptr;
  return boost::get<ast::SPattern>(&e.first);
}

// The pattern of an expression that is exactly "{?x}", if it is one.
const ast::SPattern* as_singleton_pattern(const ast::SExpr& e) {
  if (!e.rest.empty()) return nullptr;
  auto* set = boost::get<ast::SSet>(&e.first);
  if (!set || set->elems.size() != 1) return nullptr;
  return as_pattern(set->elems[0]);
}

// The name of an expression that is exactly "x", if it is one.
const ast::Name* as_name(const ast::SExpr& e) {
  if (!e.rest.empty()) return nullptr;
  return boost::get<ast::Name>(&e.first);
}

}  // namespace

SpecLowering::SpecLowering(const SourceFile& src, Diagnostics& diags, const Profile& p, ConstantLookup constant)
    : src_(src), diags_(diags), p_(p), tb_(p), constant_(std::move(constant)) {}

SourceLoc SpecLowering::loc(const ast::Node& n) const {
  return src_.loc(n.begin, n.end > n.begin ? n.end - n.begin : 1);
}

bool SpecLowering::check_sort(const Term& t, Sort want, const ast::Node& at, const char* what) {
  if (t->sort == want) return true;
  diags_.error(loc(at), fmt::format("{} must be {}, but this is {}", what, sort_name(want), sort_name(t->sort)));
  return false;
}

// ---- expressions --------------------------------------------------------------

std::optional<Term> SpecLowering::primary(const ast::SPrimary& p, Scope& scope, std::optional<Sort> hint) {
  if (auto* n = boost::get<ast::Number>(&p)) {
    std::string digits;
    for (char c : n->text)
      if (c != '_') digits += c;
    bool hex = digits.size() > 2 && (digits[1] == 'x' || digits[1] == 'X');
    unsigned __int128 v = 0;
    for (std::size_t i = hex ? 2 : 0; i < digits.size(); ++i) {
      int d = std::isdigit(static_cast<unsigned char>(digits[i])) ? digits[i] - '0' : std::tolower(digits[i]) - 'a' + 10;
      v = v * (hex ? 16 : 10) + unsigned(d);
      if (v > p_.word_max) {
        diags_.error(loc(*n), fmt::format("the number {} is larger than the largest word of profile {} ({})", n->text,
                                          p_.name, p_.word_max));
        return std::nullopt;
      }
    }
    return tb_.word(Word(v));
  }
  if (auto* r = boost::get<ast::RegName>(&p)) {
    if (!scope.registers) {
      diags_.error(loc(*r), scope.no_registers);
      return std::nullopt;
    }
    if (r->text == "pc") {
      diags_.error(loc(*r), "'pc' cannot be used in an assertion: the code position is the assertion's position");
      return std::nullopt;
    }
    auto reg = reg_by_name(r->text);
    if (!reg) {
      diags_.error(loc(*r), fmt::format("'{}' is not a register: the registers are r0..r30 and nz", r->text));
      return std::nullopt;
    }
    return tb_.var(in_old_ ? "old." + r->text : r->text, Sort::Word);
  }
  if (auto* c = boost::get<ast::SCall>(&p)) {
    if (c->args.size() != 1) {
      diags_.error(loc(*c), fmt::format("'{}' takes one argument", c->fn));
      return std::nullopt;
    }
    if (c->fn == "old") {
      if (in_old_) {
        diags_.error(loc(*c), "'old' cannot be nested");
        return std::nullopt;
      }
      in_old_ = true;
      auto t = expr(c->args[0], scope, hint);
      in_old_ = false;
      return t;
    }
    auto t = expr(c->args[0], scope, Sort::Word);
    if (!t || !check_sort(*t, Sort::Word, c->args[0], "the argument of page_of")) return std::nullopt;
    return tb_.page_of(*t);
  }
  if (auto* pat = boost::get<ast::SPattern>(&p)) {
    diags_.error(loc(*pat), fmt::format("a pattern '?{}' can only be a whole value of a points-to or a predicate "
                                        "argument",
                                        pat->name.text));
    return std::nullopt;
  }
  if (auto* b = boost::get<ast::SBool>(&p)) return tb_.boolean(b->text == "true");
  if (auto* n = boost::get<ast::Name>(&p)) {
    if (auto let = scope.lets.find(n->text); let != scope.lets.end()) return let->second;
    auto it = scope.vars.find(n->text);
    if (it != scope.vars.end()) {
      scope.undetermined.erase(n->text);  // used: its sort is fixed now
      return tb_.var(n->text, it->second);
    }
    if (auto v = constant_(n->text)) return tb_.word(*v);
    diags_.error(loc(*n), fmt::format("unknown name '{}'", n->text));
    return std::nullopt;
  }
  if (auto* s = boost::get<ast::SSet>(&p)) {
    std::vector<Term> elems;
    for (const auto& e : s->elems) {
      auto t = expr(e, scope, Sort::Word);
      if (!t || !check_sort(*t, Sort::Word, e, "a set element")) return std::nullopt;
      elems.push_back(*t);
    }
    return tb_.set_of(elems);
  }
  if (auto* n = boost::get<x3::forward_ast<ast::SNot>>(&p)) {
    auto t = primary(n->get().operand, scope, Sort::Bool);
    if (!t || !check_sort(*t, Sort::Bool, n->get(), "the operand of '!'")) return std::nullopt;
    return tb_.not_(*t);
  }
  return expr(boost::get<x3::forward_ast<ast::SExpr>>(p).get(), scope, hint);
}

std::optional<Term> SpecLowering::binary(const std::string& op, Term a, Term b, const ast::Node& at) {
  auto need = [&](Sort sa, Sort sb) {
    if (a->sort == sa && b->sort == sb) return true;
    diags_.error(loc(at), fmt::format("'{}' needs {} and {}, not {} and {}", op, sort_name(sa), sort_name(sb),
                                      sort_name(a->sort), sort_name(b->sort)));
    return false;
  };
  if (op == "==" || op == "!=") {
    if (a->sort != b->sort) {
      diags_.error(loc(at), fmt::format("'{}' compares {} with {}", op, sort_name(a->sort), sort_name(b->sort)));
      return std::nullopt;
    }
    return op == "==" ? tb_.eq(a, b) : tb_.ne(a, b);
  }
  if (op == "+" || op == "-" || op == "*") {
    if (!need(Sort::Word, Sort::Word)) return std::nullopt;
    return op == "+" ? tb_.add(a, b) : op == "-" ? tb_.sub(a, b) : tb_.mul(a, b);
  }
  if (op == "/" || op == "%") {
    if (!need(Sort::Word, Sort::Word)) return std::nullopt;
    if (!is_lit(b) || b->value == 0) {
      diags_.error(loc(at), fmt::format("'{}' needs a nonzero constant on its right (hvsl divides only by constants)", op));
      return std::nullopt;
    }
    return op == "/" ? tb_.div(a, b) : tb_.mod(a, b);
  }
  if (op == "<" || op == "<=" || op == ">" || op == ">=") {
    if (!need(Sort::Word, Sort::Word)) return std::nullopt;
    if (op == "<") return tb_.lt(a, b);
    if (op == "<=") return tb_.le(a, b);
    if (op == ">") return tb_.lt(b, a);
    return tb_.le(b, a);
  }
  if (op == "&&" || op == "||" || op == "==>") {
    if (!need(Sort::Bool, Sort::Bool)) return std::nullopt;
    return op == "&&" ? tb_.and_(a, b) : op == "||" ? tb_.or_(a, b) : tb_.implies(a, b);
  }
  if (op == "in") {
    if (!need(Sort::Word, Sort::Set)) return std::nullopt;
    return tb_.member(a, b);
  }
  if (!need(Sort::Set, Sort::Set)) return std::nullopt;
  return op == "union" ? tb_.union_(a, b) : tb_.minus(a, b);
}

std::optional<Term> SpecLowering::expr(const ast::SExpr& e, Scope& scope, std::optional<Sort> expected) {
  // Precedence climbing over the flat chain: operand k follows operator k-1.
  std::size_t next_op = 0;
  bool ok = true;
  std::function<std::optional<Term>(int)> climb = [&](int min_prec) -> std::optional<Term> {
    const ast::SPrimary& first = next_op == 0 ? e.first : e.rest[next_op - 1].operand;
    auto lhs = primary(first, scope, e.rest.empty() ? expected : std::nullopt);
    if (!lhs) return std::nullopt;
    while (next_op < e.rest.size()) {
      const ast::SBinOp& op = e.rest[next_op];
      int p = precedence(op.op);
      if (op.op == ":" || p < min_prec) break;
      ++next_op;
      if (op.op == "?") {
        if (!check_sort(*lhs, Sort::Bool, e, "the condition of '?'")) return std::nullopt;
        auto then_ = climb(0);
        if (!then_) return std::nullopt;
        if (next_op >= e.rest.size() || e.rest[next_op].op != ":") {
          diags_.error(loc(op), "'?' without a matching ':'");
          return std::nullopt;
        }
        ++next_op;
        auto else_ = climb(0);
        if (!else_) return std::nullopt;
        if ((*then_)->sort != (*else_)->sort) {
          diags_.error(loc(op), "the two branches of '?' have different sorts");
          return std::nullopt;
        }
        lhs = tb_.ite(*lhs, *then_, *else_);
        continue;
      }
      bool right_assoc = op.op == "==>";
      auto rhs = climb(right_assoc ? p : p + 1);
      if (!rhs) return std::nullopt;
      lhs = binary(op.op, *lhs, *rhs, op);
      if (!lhs) return std::nullopt;
    }
    return lhs;
  };
  auto t = climb(0);
  if (t && next_op < e.rest.size()) {
    diags_.error(loc(e.rest[next_op]), fmt::format("unexpected '{}'", e.rest[next_op].op));
    ok = false;
  }
  if (!t || !ok) return std::nullopt;
  return t;
}

// ---- assertions -------------------------------------------------------------------

std::optional<Perm> SpecLowering::fraction(const ast::Frac& f) {
  std::uint64_t n = 0, d = 1;
  try {
    n = std::stoull(f.num.text, nullptr, 0);
    d = f.den ? std::stoull(f.den->text, nullptr, 0) : 1;
  } catch (const std::exception&) {
    n = 0;
  }
  if (n == 0 || d == 0 || n > d || d > 1'000'000) {
    diags_.error(loc(f), "a fraction must be in (0, 1] with a denominator up to 1,000,000, such as [1/2]");
    return std::nullopt;
  }
  return Perm::make(n, d);
}

AssertionPtr SpecLowering::predicate_instance(const ast::PredA& p, Scope& scope) {
  auto it = predicate_arity_.find(p.name.text);
  if (it == predicate_arity_.end()) {
    diags_.error(loc(p.name), fmt::format("unknown predicate '{}'", p.name.text));
    return nullptr;
  }
  if (p.args.size() != it->second) {
    diags_.error(loc(p), fmt::format("predicate '{}' takes {} argument{}, not {}", p.name.text, it->second,
                                     it->second == 1 ? "" : "s", p.args.size()));
    return nullptr;
  }
  auto a = std::make_shared<Assertion>();
  a->kind = Assertion::Kind::Pred;
  a->loc = loc(p);
  a->name = p.name.text;
  const auto& sorts = predicate_sorts_[p.name.text];
  for (std::size_t i = 0; i < p.args.size(); ++i) {
    Sort want = i < sorts.size() ? sorts[i] : Sort::Word;
    if (auto* n = as_name(p.args[i]); n && n->text == "_") {
      std::string anon = fmt::format("_{}", ++anonymous_);
      scope.vars[anon] = want;
      a->args.push_back(tb_.var(anon, want));
      continue;
    }
    if (auto* pat = as_pattern(p.args[i])) {
      scope.vars[pat->name.text] = want;
      a->args.push_back(tb_.var(pat->name.text, want));
      continue;
    }
    auto t = expr(p.args[i], scope, want);
    if (!t) return nullptr;
    if (broken_predicates_.count(p.name.text)) return nullptr;  // its declaration's error says enough
    if (!check_sort(*t, want, p.args[i], "this argument")) return nullptr;
    a->args.push_back(*t);
  }
  if (p.frac) {
    auto perm = fraction(*p.frac);
    if (!perm) return nullptr;
    a->perm = *perm;
  }
  return a;
}

AssertionPtr SpecLowering::atom(const ast::AssertAtom& at, Scope& scope) {
  auto a = std::make_shared<Assertion>();
  if (auto* e = boost::get<ast::EmpA>(&at)) {
    a->loc = loc(*e);
    return a;
  }
  if (auto* pa = boost::get<ast::PureA>(&at)) {
    a->kind = Assertion::Kind::Pure;
    a->loc = loc(pa->expr);
    a->text = src_.text().substr(pa->expr.begin, pa->expr.end - pa->expr.begin);
    while (!a->text.empty() && std::isspace(static_cast<unsigned char>(a->text.back()))) a->text.pop_back();
    auto t = expr(pa->expr, scope, Sort::Bool);
    if (!t || !check_sort(*t, Sort::Bool, pa->expr, "a pure assertion")) return nullptr;
    a->cond = *t;
    return a;
  }
  if (auto* pt = boost::get<ast::PointsToA>(&at)) {
    a->kind = Assertion::Kind::Chunk;
    a->loc = loc(*pt);
    a->name = pt->head.resource;
    const ResourceInfo* info = resource_info(a->name);
    if (pt->head.keys.size() != info->keys.size()) {
      diags_.error(loc(pt->head), fmt::format("'{}' takes {} argument{}", a->name, info->keys.size(),
                                              info->keys.size() == 1 ? "" : "s"));
      return nullptr;
    }
    for (std::size_t i = 0; i < info->keys.size(); ++i) {
      if (auto* pat = as_pattern(pt->head.keys[i]); pat && scope.key_patterns && !scope.vars.count(pat->name.text)) {
        scope.vars[pat->name.text] = info->keys[i];
        a->args.push_back(tb_.var(pat->name.text, info->keys[i]));
        continue;
      }
      auto t = expr(pt->head.keys[i], scope, info->keys[i]);
      if (!t || !check_sort(*t, info->keys[i], pt->head.keys[i], "this argument")) return nullptr;
      a->args.push_back(*t);
    }
    if (pt->values.size() != info->values.size()) {
      diags_.error(loc(*pt), fmt::format("'{}' holds {} value{}, written as {}", a->name, info->values.size(),
                                         info->values.size() == 1 ? "" : "s",
                                         info->values.size() == 1 ? "one expression" : "a tuple '(a, b, ...)'"));
      return nullptr;
    }
    for (std::size_t i = 0; i < info->values.size(); ++i) {
      Sort want = info->values[i];
      if (auto* n = as_name(pt->values[i]); n && n->text == "_") {
        // "_": any value; a binder no one can refer to
        std::string anon = fmt::format("_{}", ++anonymous_);
        scope.vars[anon] = want;
        a->values.push_back(tb_.var(anon, want));
        continue;
      }
      if (auto* pat = as_pattern(pt->values[i])) {
        if (scope.vars.count(pat->name.text)) {
          diags_.error(loc(*pat), fmt::format("'{}' is already bound; use '{}' without '?' to refer to it",
                                              pat->name.text, pat->name.text));
          return nullptr;
        }
        scope.vars[pat->name.text] = want;
        a->values.push_back(tb_.var(pat->name.text, want));
        continue;
      }
      if (auto* pat = as_singleton_pattern(pt->values[i]); pat && want == Sort::Set) {
        // "{?x}": the set has one element, bound to x
        if (scope.vars.count(pat->name.text)) {
          diags_.error(loc(*pat), fmt::format("'{}' is already bound; use '{}' without '?' to refer to it",
                                              pat->name.text, pat->name.text));
          return nullptr;
        }
        scope.vars[pat->name.text] = Sort::Word;
        a->values.push_back(tb_.insert(tb_.empty_set(), tb_.var(pat->name.text, Sort::Word)));
        continue;
      }
      // A name whose sort is open takes the sort of the first slot it fills.
      if (auto* n = as_name(pt->values[i]); n && scope.undetermined.count(n->text)) scope.vars[n->text] = want;
      auto t = expr(pt->values[i], scope, want);
      if (!t || !check_sort(*t, want, pt->values[i], "this value")) return nullptr;
      a->values.push_back(*t);
    }
    if (pt->frac && pt->frac->num.text == "_") {
      if (!scope.read_only) {
        diags_.error(loc(*pt->frac), "'[_]' (some fraction, only read) is for the requires clause of a hypercall");
        return nullptr;
      }
      a->read_only = true;
    } else if (pt->frac) {
      auto perm = fraction(*pt->frac);
      if (!perm) return nullptr;
      a->perm = *perm;
    }
    return a;
  }
  if (auto* pr = boost::get<ast::PredA>(&at)) return predicate_instance(*pr, scope);
  if (auto* ex = boost::get<ast::ExistsA>(&at)) {
    a->kind = Assertion::Kind::Exists;
    a->loc = loc(*ex);
    Scope inner = scope;
    for (const auto& v : ex->vars) {
      if (inner.vars.count(v.text) || constant_(v.text)) {
        diags_.error(loc(v), fmt::format("'{}' is already a name here; choose another", v.text));
        return nullptr;
      }
      inner.vars[v.text] = Sort::Word;
      inner.undetermined.insert(v.text);
    }
    a->body = assertion(ex->body.get(), inner);
    if (!a->body) return nullptr;
    for (const auto& v : ex->vars) a->vars.emplace_back(v.text, inner.vars[v.text]);
    return a;
  }
  if (auto* fa = boost::get<ast::ForallA>(&at)) {
    a->kind = Assertion::Kind::Forall;
    a->loc = loc(*fa);
    auto lo = expr(fa->lo, scope, Sort::Word), hi = expr(fa->hi, scope, Sort::Word);
    if (!lo || !hi) return nullptr;
    if (!is_lit(*lo) || !is_lit(*hi)) {
      diags_.error(loc(*fa), "the bounds of 'forall' must be constants (such as 0 .. PAGE_SIZE)");
      return nullptr;
    }
    if ((*hi)->value > (*lo)->value && (*hi)->value - (*lo)->value > 1'000'000) {
      diags_.error(loc(*fa), "a 'forall' may range over at most 1,000,000 values");
      return nullptr;
    }
    a->lo = *lo;
    a->hi = *hi;
    if (scope.vars.count(fa->var.text) || constant_(fa->var.text)) {
      diags_.error(loc(fa->var), fmt::format("'{}' is already a name here; choose another", fa->var.text));
      return nullptr;
    }
    Scope inner = scope;
    inner.vars[fa->var.text] = Sort::Word;
    inner.undetermined.erase(fa->var.text);
    a->vars.emplace_back(fa->var.text, Sort::Word);
    a->body = assertion(fa->body.get(), inner);
    if (!a->body) return nullptr;
    return a;
  }
  const auto& ifa = boost::get<ast::IfA>(at);
  a->kind = Assertion::Kind::If;
  a->loc = loc(ifa);
  auto c = expr(ifa.cond, scope, Sort::Bool);
  if (!c || !check_sort(*c, Sort::Bool, ifa.cond, "the condition of 'if'")) return nullptr;
  a->cond = *c;
  Scope then_scope = scope, else_scope = scope;
  auto t = assertion(ifa.then_.get(), then_scope);
  if (!t) return nullptr;
  a->parts.push_back(t);
  auto e = std::make_shared<Assertion>();
  if (ifa.else_) {
    auto ea = assertion(ifa.else_->get(), else_scope);
    if (!ea) return nullptr;
    a->parts.push_back(ea);
  } else {
    a->parts.push_back(e);
  }
  // In a hypercall's requires, names bound in a branch stay visible (the
  // outcome guards use them only where that branch was taken).
  if (scope.read_only)
    for (const auto* branch : {&then_scope, &else_scope})
      for (const auto& [n, sort] : branch->vars) scope.vars.emplace(n, sort);
  return a;
}

AssertionPtr SpecLowering::assertion(const ast::Assertion& as, Scope& scope) {
  auto a = std::make_shared<Assertion>();
  a->kind = Assertion::Kind::Sep;
  a->loc = loc(as);
  bool ok = true;
  for (const auto& c : as.conjuncts) {
    auto part = atom(c, scope);
    if (!part) ok = false;
    else a->parts.push_back(part);
  }
  if (!ok) return nullptr;
  if (a->parts.size() == 1) return a->parts[0];
  return a;
}

// ---- predicates -------------------------------------------------------------------

void SpecLowering::declare_predicate(const ast::PredicateDecl& d) {
  predicate_arity_[d.name.text] = d.params.size();
}

std::optional<Predicate> SpecLowering::lower_predicate(const ast::PredicateDecl& d) {
  Predicate p;
  p.name = d.name.text;
  p.loc = loc(d.name);
  Scope scope;
  scope.registers = false;
  for (const auto& param : d.params) {
    if (scope.vars.count(param.text)) {
      diags_.error(loc(param), fmt::format("parameter '{}' is given twice", param.text));
      return std::nullopt;
    }
    scope.vars[param.text] = Sort::Word;
    scope.undetermined.insert(param.text);
  }
  p.body = assertion(d.body, scope);
  if (!p.body) {
    broken_predicates_.insert(p.name);
    return std::nullopt;
  }
  for (const auto& param : d.params) p.params.emplace_back(param.text, scope.vars[param.text]);
  std::vector<Sort> sorts;
  for (const auto& [n, s] : p.params) sorts.push_back(s);
  predicate_sorts_[p.name] = sorts;
  return p;
}

}  // namespace hvsl
