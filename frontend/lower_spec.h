#pragma once
// Lowers specification syntax (expressions, assertions, predicates) to the
// resolved forms of logic/spec.h, checking names, sorts and resources.
#include <functional>
#include <map>
#include <set>
#include <optional>
#include <string>

#include "frontend/ast.h"
#include "frontend/diagnostics.h"
#include "logic/spec.h"

namespace hvsl {

class SpecLowering {
 public:
  // `constant` gives the value of a machine name (page, VM, label, const,
  // built-in), or nullopt if there is none by that name.
  using ConstantLookup = std::function<std::optional<Word>(const std::string&)>;

  SpecLowering(const SourceFile& src, Diagnostics& diags, const Profile& p, ConstantLookup constant);

  // Logical variables in scope, with their sorts.
  struct Scope {
    std::map<std::string, Sort> vars;
    // Names (exists variables, predicate parameters) whose sort is not fixed
    // yet: the first use fixes it, and only a whole value can make it a set
    // or a boolean.
    std::set<std::string> undetermined;
    bool registers = true;  // false inside predicate bodies and protocols
    const char* no_registers = "a predicate body cannot mention registers; pass the value as a parameter";
    bool read_only = false; // '[_]' chunks allowed (a hypercall's requires)
    bool key_patterns = false;  // '?x' allowed as a key (a spec file's invariant)
    std::map<std::string, Term> lets;  // abbreviations (a hypercall's 'let')
  };

  // Pass 1 declares every predicate's name and arity; pass 2 lowers bodies.
  void declare_predicate(const ast::PredicateDecl& d);
  std::optional<Predicate> lower_predicate(const ast::PredicateDecl& d);

  // Lowers an assertion; binders (?x, exists) it introduces at top level are
  // added to `scope`, so a precondition's names are visible afterwards.
  AssertionPtr assertion(const ast::Assertion& a, Scope& scope);
  AssertionPtr predicate_instance(const ast::PredA& p, Scope& scope);

  // Lowers a pure expression; `expected` guides the sort of open names.
  std::optional<Term> expr(const ast::SExpr& e, Scope& scope, std::optional<Sort> expected);
  SourceLoc loc(const ast::Node& n) const;

 private:
  const SourceFile& src_;
  Diagnostics& diags_;
  const Profile& p_;
  TermBuilder tb_;
  ConstantLookup constant_;
  std::map<std::string, std::size_t> predicate_arity_;
  std::map<std::string, std::vector<Sort>> predicate_sorts_;
  std::set<std::string> broken_predicates_;  // declared with an error: uses are not checked again
  bool in_old_ = false;
  unsigned anonymous_ = 0;  // numbers the "_" patterns

  std::optional<Term> primary(const ast::SPrimary& p, Scope& scope, std::optional<Sort> hint);
  std::optional<Term> binary(const std::string& op, Term a, Term b, const ast::Node& at);
  AssertionPtr atom(const ast::AssertAtom& a, Scope& scope);
  std::optional<Perm> fraction(const ast::Frac& f);
  bool check_sort(const Term& t, Sort want, const ast::Node& at, const char* what);
};

}  // namespace hvsl
