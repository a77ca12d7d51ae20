#include "logic/term.h"

#include <fmt/format.h>

namespace hvsl {

namespace {

std::size_t combine(std::size_t h, std::size_t v) { return h ^ (v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2)); }

bool same(const TermNode& a, const TermNode& b) {
  if (&a == &b) return true;
  if (a.hash != b.hash || a.kind != b.kind || a.sort != b.sort || a.value != b.value || a.name != b.name ||
      a.args.size() != b.args.size())
    return false;
  for (std::size_t i = 0; i < a.args.size(); ++i)
    if (!(a.args[i] == b.args[i])) return false;
  return true;
}

int compare(const TermNode& a, const TermNode& b) {
  if (&a == &b) return 0;
  if (a.hash != b.hash) return a.hash < b.hash ? -1 : 1;
  if (a.kind != b.kind) return a.kind < b.kind ? -1 : 1;
  if (a.sort != b.sort) return a.sort < b.sort ? -1 : 1;
  if (a.value != b.value) return a.value < b.value ? -1 : 1;
  if (int c = a.name.compare(b.name)) return c;
  if (a.args.size() != b.args.size()) return a.args.size() < b.args.size() ? -1 : 1;
  for (std::size_t i = 0; i < a.args.size(); ++i)
    if (int c = compare(*a.args[i], *b.args[i])) return c;
  return 0;
}

}  // namespace

bool operator==(const Term& a, const Term& b) {
  if (a.n_ == b.n_) return true;
  if (!a.n_ || !b.n_) return false;
  return same(*a.n_, *b.n_);
}

bool operator<(const Term& a, const Term& b) { return compare(*a, *b) < 0; }

Term TermBuilder::make(Kind k, Sort s, std::vector<Term> args, Word value, std::string name) const {
  auto n = std::make_shared<TermNode>();
  n->kind = k;
  n->sort = s;
  n->value = value;
  n->name = std::move(name);
  n->args = std::move(args);
  std::size_t h = combine(std::size_t(k) * 31 + std::size_t(s), std::hash<Word>()(value));
  h = combine(h, std::hash<std::string>()(n->name));
  for (const auto& a : n->args) h = combine(h, a->hash);
  n->hash = h;
  return Term(std::move(n));
}

Term TermBuilder::word(Word w) const { return make(Kind::Lit, Sort::Word, {}, w); }
Term TermBuilder::boolean(bool b) const { return make(Kind::Lit, Sort::Bool, {}, b ? 1 : 0); }
Term TermBuilder::var(const std::string& name, Sort s) const { return make(Kind::Var, s, {}, 0, name); }

Term TermBuilder::add(Term a, Term b) const {
  if (is_lit(a) && is_lit(b)) return word(p_.add(a->value, b->value));
  if (is_lit(b) && b->value == 0) return a;
  if (is_lit(a) && a->value == 0) return b;
  return make(Kind::Add, Sort::Word, {std::move(a), std::move(b)});
}

Term TermBuilder::sub(Term a, Term b) const {
  if (is_lit(a) && is_lit(b)) return word(p_.sub(a->value, b->value));
  if (is_lit(b) && b->value == 0) return a;
  return make(Kind::Sub, Sort::Word, {std::move(a), std::move(b)});
}

Term TermBuilder::mul(Term a, Term b) const {
  if (is_lit(a) && is_lit(b)) return word(p_.mult(a->value, b->value));
  if (is_lit(b) && b->value == 1) return a;
  if (is_lit(a) && a->value == 1) return b;
  if ((is_lit(a) && a->value == 0) || (is_lit(b) && b->value == 0)) return word(0);
  return make(Kind::Mul, Sort::Word, {std::move(a), std::move(b)});
}

Term TermBuilder::div(Term a, Term k) const {
  if (!is_lit(k) || k->value == 0) throw std::invalid_argument("hvsl: division by a term that is not a nonzero literal");
  if (is_lit(a)) return word(a->value / k->value);
  if (k->value == 1) return a;
  return make(Kind::Div, Sort::Word, {std::move(a), std::move(k)});
}

Term TermBuilder::mod(Term a, Term k) const {
  if (!is_lit(k) || k->value == 0) throw std::invalid_argument("hvsl: remainder by a term that is not a nonzero literal");
  if (is_lit(a)) return word(a->value % k->value);
  if (k->value == 1) return word(0);
  return make(Kind::Mod, Sort::Word, {std::move(a), std::move(k)});
}

Term TermBuilder::page_of(Term a) const {
  if (is_lit(a)) return word(p_.page_of(a->value));
  return make(Kind::PageOf, Sort::Word, {std::move(a)});
}

Term TermBuilder::eq(Term a, Term b) const {
  if (a == b) return boolean(true);
  if (is_lit(a) && is_lit(b)) return boolean(a->value == b->value);
  if (a->sort == Sort::Set) {
    auto la = literal_set(a), lb = literal_set(b);
    if (la && lb) return boolean(*la == *lb);
  }
  return make(Kind::Eq, Sort::Bool, {std::move(a), std::move(b)});
}

Term TermBuilder::lt(Term a, Term b) const {
  if (is_lit(a) && is_lit(b)) return boolean(a->value < b->value);
  if (a == b) return boolean(false);
  return make(Kind::Lt, Sort::Bool, {std::move(a), std::move(b)});
}

Term TermBuilder::le(Term a, Term b) const {
  if (is_lit(a) && is_lit(b)) return boolean(a->value <= b->value);
  if (a == b) return boolean(true);
  return make(Kind::Le, Sort::Bool, {std::move(a), std::move(b)});
}

Term TermBuilder::not_(Term a) const {
  if (is_lit(a)) return boolean(a->value == 0);
  if (a->kind == Kind::Not) return a->args[0];
  return make(Kind::Not, Sort::Bool, {std::move(a)});
}

Term TermBuilder::and_(Term a, Term b) const {
  if (is_false(a) || is_true(b)) return a;
  if (is_false(b) || is_true(a)) return b;
  if (a == b) return a;
  return make(Kind::And, Sort::Bool, {std::move(a), std::move(b)});
}

Term TermBuilder::and_(const std::vector<Term>& ts) const {
  Term out = boolean(true);
  for (const auto& t : ts) out = and_(out, t);
  return out;
}

Term TermBuilder::or_(Term a, Term b) const {
  if (is_true(a) || is_false(b)) return a;
  if (is_true(b) || is_false(a)) return b;
  if (a == b) return a;
  return make(Kind::Or, Sort::Bool, {std::move(a), std::move(b)});
}

Term TermBuilder::implies(Term a, Term b) const {
  if (is_true(a)) return b;
  if (is_false(a) || is_true(b)) return boolean(true);
  return make(Kind::Implies, Sort::Bool, {std::move(a), std::move(b)});
}

Term TermBuilder::ite(Term c, Term t, Term e) const {
  if (is_true(c)) return t;
  if (is_false(c)) return e;
  if (t == e) return t;
  Sort s = t->sort;
  return make(Kind::Ite, s, {std::move(c), std::move(t), std::move(e)});
}

Term TermBuilder::empty_set() const { return make(Kind::EmptySet, Sort::Set, {}); }

Term TermBuilder::insert(Term set, Term w) const { return make(Kind::Insert, Sort::Set, {std::move(set), std::move(w)}); }

Term TermBuilder::set_of(const std::vector<Term>& elems) const {
  Term s = empty_set();
  for (const auto& e : elems) s = insert(s, e);
  return s;
}

Term TermBuilder::union_(Term a, Term b) const {
  if (a->kind == Kind::EmptySet) return b;
  if (b->kind == Kind::EmptySet) return a;
  return make(Kind::Union, Sort::Set, {std::move(a), std::move(b)});
}

Term TermBuilder::minus(Term a, Term b) const {
  if (b->kind == Kind::EmptySet || a->kind == Kind::EmptySet) return a;
  auto la = literal_set(a), lb = literal_set(b);
  if (la && lb) {
    std::vector<Term> rest;
    for (Word w : *la)
      if (!lb->count(w)) rest.push_back(word(w));
    return set_of(rest);
  }
  return make(Kind::Minus, Sort::Set, {std::move(a), std::move(b)});
}

Term TermBuilder::member(Term w, Term set) const {
  if (is_lit(w))
    if (auto l = literal_set(set)) return boolean(l->count(w->value) > 0);
  if (set->kind == Kind::EmptySet) return boolean(false);
  // w in {a}: w == a, which later steps can use as a value
  if (set->kind == Kind::Insert && set->args[0]->kind == Kind::EmptySet) return eq(std::move(w), set->args[1]);
  return make(Kind::Member, Sort::Bool, {std::move(w), std::move(set)});
}

Term TermBuilder::rebuild(const Term& t, std::vector<Term> a) const {
  switch (t->kind) {
    case Kind::Add: return add(a[0], a[1]);
    case Kind::Sub: return sub(a[0], a[1]);
    case Kind::Mul: return mul(a[0], a[1]);
    case Kind::PageOf: return page_of(a[0]);
    case Kind::Div: return div(a[0], a[1]);
    case Kind::Mod: return mod(a[0], a[1]);
    case Kind::Eq: return eq(a[0], a[1]);
    case Kind::Lt: return lt(a[0], a[1]);
    case Kind::Le: return le(a[0], a[1]);
    case Kind::Not: return not_(a[0]);
    case Kind::And: return and_(a[0], a[1]);
    case Kind::Or: return or_(a[0], a[1]);
    case Kind::Implies: return implies(a[0], a[1]);
    case Kind::Ite: return ite(a[0], a[1], a[2]);
    case Kind::Insert: return insert(a[0], a[1]);
    case Kind::Union: return union_(a[0], a[1]);
    case Kind::Minus: return minus(a[0], a[1]);
    case Kind::Member: return member(a[0], a[1]);
    default: return t;
  }
}

std::optional<std::set<Word>> literal_set(const Term& t) {
  switch (t->kind) {
    case Kind::EmptySet: return std::set<Word>{};
    case Kind::Insert: {
      if (!is_lit(t->args[1])) return std::nullopt;
      auto s = literal_set(t->args[0]);
      if (s) s->insert(t->args[1]->value);
      return s;
    }
    case Kind::Union: {
      auto a = literal_set(t->args[0]), b = literal_set(t->args[1]);
      if (!a || !b) return std::nullopt;
      a->insert(b->begin(), b->end());
      return a;
    }
    default: return std::nullopt;
  }
}

std::optional<Value> eval(const Term& t, const Profile& p, const Env& env) {
  auto arg = [&](std::size_t i) { return eval(t->args[i], p, env); };
  auto w = [](Word v) { return Value{Sort::Word, v, {}}; };
  auto b = [](bool v) { return Value{Sort::Bool, v ? Word(1) : Word(0), {}}; };
  auto set = [](std::set<Word> s) { return Value{Sort::Set, 0, std::move(s)}; };
  switch (t->kind) {
    case Kind::Lit: return Value{t->sort, t->value, {}};
    case Kind::Var: {
      auto it = env.find(t->name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    }
    case Kind::EmptySet: return set({});
    default: break;
  }
  std::vector<Value> a;
  for (std::size_t i = 0; i < t->args.size(); ++i) {
    // if-then-else and the connectives evaluate only what they need
    if (t->kind == Kind::Ite && i > 0) break;
    auto v = arg(i);
    if (!v) return std::nullopt;
    a.push_back(*v);
  }
  switch (t->kind) {
    case Kind::Add: return w(p.add(a[0].word, a[1].word));
    case Kind::Sub: return w(p.sub(a[0].word, a[1].word));
    case Kind::Mul: return w(p.mult(a[0].word, a[1].word));
    case Kind::PageOf: return w(p.page_of(a[0].word));
    case Kind::Div: return w(a[1].word ? a[0].word / a[1].word : 0);
    case Kind::Mod: return w(a[1].word ? a[0].word % a[1].word : 0);
    case Kind::Eq: return b(a[0] == a[1]);
    case Kind::Lt: return b(a[0].word < a[1].word);
    case Kind::Le: return b(a[0].word <= a[1].word);
    case Kind::Not: return b(!a[0].word);
    case Kind::And: return b(a[0].word && a[1].word);
    case Kind::Or: return b(a[0].word || a[1].word);
    case Kind::Implies: return b(!a[0].word || a[1].word);
    case Kind::Ite: return arg(a[0].word ? 1 : 2);
    case Kind::Insert: {
      auto s = a[0].set;
      s.insert(a[1].word);
      return set(std::move(s));
    }
    case Kind::Union: {
      auto s = a[0].set;
      s.insert(a[1].set.begin(), a[1].set.end());
      return set(std::move(s));
    }
    case Kind::Minus: {
      std::set<Word> s;
      for (Word x : a[0].set)
        if (!a[1].set.count(x)) s.insert(x);
      return set(std::move(s));
    }
    case Kind::Member: return b(a[1].set.count(a[0].word) > 0);
    default: return std::nullopt;
  }
}

void collect_vars(const Term& t, std::map<std::string, Sort>& out) {
  if (t->kind == Kind::Var) out.emplace(t->name, t->sort);
  for (const auto& a : t->args) collect_vars(a, out);
}

namespace {

int precedence(Kind k) {
  switch (k) {
    case Kind::Implies: return 1;
    case Kind::Or: return 2;
    case Kind::And: return 3;
    case Kind::Eq: case Kind::Lt: case Kind::Le: case Kind::Member: return 4;
    case Kind::Add: case Kind::Sub: case Kind::Union: case Kind::Minus: return 5;
    case Kind::Mul: case Kind::Div: case Kind::Mod: return 6;
    default: return 9;
  }
}

std::string show(const Term& t, int outer) {
  auto bin = [&](const char* op) {
    int p = precedence(t->kind);
    std::string s = show(t->args[0], p) + " " + op + " " + show(t->args[1], p + 1);
    return p < outer ? "(" + s + ")" : s;
  };
  switch (t->kind) {
    case Kind::Lit:
      if (t->sort == Sort::Bool) return t->value ? "true" : "false";
      return fmt::format("{}", t->value);
    case Kind::Var: return t->name;
    case Kind::Add: return bin("+");
    case Kind::Sub: return bin("-");
    case Kind::Mul: return bin("*");
    case Kind::PageOf: return "page_of(" + show(t->args[0], 0) + ")";
    case Kind::Div: return bin("/");
    case Kind::Mod: return bin("%");
    case Kind::Eq: return bin("==");
    case Kind::Lt: return bin("<");
    case Kind::Le: return bin("<=");
    case Kind::Not:
      if (t->args[0]->kind == Kind::Eq) {
        // a comparison, bracketed like "==" where its place needs it
        std::string s = show(t->args[0]->args[0], 5) + " != " + show(t->args[0]->args[1], 5);
        return 4 < outer ? "(" + s + ")" : s;
      }
      return fmt::format("!{}", show(t->args[0], 9));  // (not "!" + ...: GCC 12 -Wrestrict false positive at -O3)
    case Kind::And: return bin("&&");
    case Kind::Or: return bin("||");
    case Kind::Implies: return bin("==>");
    case Kind::Ite:
      return fmt::format("({} ? {} : {})", show(t->args[0], 0), show(t->args[1], 0), show(t->args[2], 0));
    case Kind::EmptySet: return "{}";
    case Kind::Insert: case Kind::Union: {
      if (auto l = literal_set(t)) {
        std::string s;
        for (Word x : *l) s += (s.empty() ? "" : ", ") + fmt::format("{}", x);
        return "{" + s + "}";
      }
      if (t->kind == Kind::Insert) return show(t->args[0], 5) + " + {" + show(t->args[1], 0) + "}";
      return bin("union");
    }
    case Kind::Minus: return bin("minus");
    case Kind::Member: return bin("in");
  }
  return "?";
}

}  // namespace

std::string to_string(const Term& t) { return show(t, 0); }

}  // namespace hvsl
