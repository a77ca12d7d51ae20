#pragma once
// Pure terms: hvsl's own representation of values and formulas. vcgen/ builds
// them, smt/ translates them to Z3, and eval() computes them on concrete
// values (to replay counterexamples). Arithmetic is the profile's: `+`, `-`
// and `*` saturate in vmsl and wrap in arm64; comparisons are unsigned.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "logic/profile.h"
#include "logic/word.h"

namespace hvsl {

enum class Sort : std::uint8_t { Bool, Word, Set };  // Set: a finite set of words

enum class Kind : std::uint8_t {
  Lit,      // a word or boolean literal (value)
  Var,      // a named symbol
  Add, Sub, Mul,  // profile arithmetic
  Div, Mod,       // by a nonzero literal (unsigned; never out of range)
  PageOf,   // the base address of the page holding a word
  Eq, Lt, Le,     // Eq on any sort; Lt/Le unsigned on words
  Not, And, Or, Implies,
  Ite,      // if-then-else on any sort
  EmptySet, Insert, Union, Minus, Member,
};

class TermNode;

// An immutable term, shared by value. Equality is structural.
class Term {
 public:
  Term() = default;
  explicit Term(std::shared_ptr<const TermNode> n) : n_(std::move(n)) {}
  const TermNode& operator*() const { return *n_; }
  const TermNode* operator->() const { return n_.get(); }
  bool valid() const { return n_ != nullptr; }
  friend bool operator==(const Term& a, const Term& b);
  friend bool operator<(const Term& a, const Term& b);  // a total order, for maps

 private:
  std::shared_ptr<const TermNode> n_;
};

class TermNode {
 public:
  Kind kind;
  Sort sort;
  Word value = 0;           // Lit: the word, or 0/1 for booleans
  std::string name;         // Var
  std::vector<Term> args;
  std::size_t hash = 0;
};

// Builders. They fold constants with the profile's arithmetic and apply a
// few identities, so straight-line code over known addresses stays literal.
class TermBuilder {
 public:
  explicit TermBuilder(const Profile& p) : p_(p) {}
  const Profile& profile() const { return p_; }

  Term word(Word w) const;
  Term boolean(bool b) const;
  Term var(const std::string& name, Sort s) const;

  Term add(Term a, Term b) const;
  Term sub(Term a, Term b) const;
  Term mul(Term a, Term b) const;
  Term page_of(Term a) const;
  // a / k and a % k for a literal k > 0 (callers check; k = 0 throws).
  Term div(Term a, Term k) const;
  Term mod(Term a, Term k) const;

  Term eq(Term a, Term b) const;
  Term ne(Term a, Term b) const { return not_(eq(std::move(a), std::move(b))); }
  Term lt(Term a, Term b) const;
  Term le(Term a, Term b) const;

  Term not_(Term a) const;
  Term and_(Term a, Term b) const;
  Term and_(const std::vector<Term>& ts) const;
  Term or_(Term a, Term b) const;
  Term implies(Term a, Term b) const;
  Term ite(Term c, Term t, Term e) const;

  Term empty_set() const;
  Term insert(Term set, Term w) const;
  Term set_of(const std::vector<Term>& elems) const;
  Term union_(Term a, Term b) const;
  Term minus(Term a, Term b) const;
  Term member(Term w, Term set) const;

  // `t`'s operator applied to new arguments (folded like the builders above);
  // for rewriting terms (substitution). Leaves keep `t`.
  Term rebuild(const Term& t, std::vector<Term> args) const;

 private:
  const Profile& p_;
  Term make(Kind k, Sort s, std::vector<Term> args, Word value = 0, std::string name = {}) const;
};

inline bool is_lit(const Term& t) { return t->kind == Kind::Lit; }
inline bool is_true(const Term& t) { return t->kind == Kind::Lit && t->sort == Sort::Bool && t->value == 1; }
inline bool is_false(const Term& t) { return t->kind == Kind::Lit && t->sort == Sort::Bool && t->value == 0; }

// The literal elements of a set term built only from EmptySet/Insert/Union
// with literal words, or nullopt.
std::optional<std::set<Word>> literal_set(const Term& t);

// A concrete value of any sort.
struct Value {
  Sort sort = Sort::Word;
  Word word = 0;            // Word, or 0/1 for Bool
  std::set<Word> set;       // Set
  friend bool operator==(const Value&, const Value&) = default;
};

using Env = std::map<std::string, Value>;

// Evaluates a term on concrete values; nullopt if a variable is missing.
std::optional<Value> eval(const Term& t, const Profile& p, const Env& env);

// Every variable in a term, with its sort.
void collect_vars(const Term& t, std::map<std::string, Sort>& out);

// Readable text, for messages: "r1 + 1 == 5".
std::string to_string(const Term& t);

}  // namespace hvsl
