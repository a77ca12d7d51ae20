#pragma once
// The Z3 facade. This directory is the only place that includes z3++.h; the
// rest of hvsl talks to it in hvsl terms (logic/term.h).
//
// Encodings (exact, per profile):
//  - vmsl:  words are Z3 integers constrained to 0..1,999,999; `+`, `-`, `*`
//           saturate exactly as Profile::add/sub/mult (a result above the
//           largest word, or below 0, is the largest word). Where the
//           query's facts rule saturation out, the saturation `ite` is left
//           out (Options::prune_saturation).
//  - arm64: words are 64-bit bit-vectors with wrapping arithmetic and
//           unsigned comparisons.
//  - sets of words are arrays from words to booleans.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "logic/term.h"

namespace hvsl::smt {

struct Options {
  unsigned timeout_ms = 10'000;  // per query; 0 = none
  unsigned rlimit = 0;           // Z3 resource limit per query (deterministic); 0 = none
  unsigned seed = 0;             // smt.random_seed / sat.random_seed
  std::string dump_dir;          // if set, each query is written there as an SMT-LIB file
  // Fill Outcome::smtlib. Printing a query costs about as much as a tenth of
  // solving it (10,000 straight-line vmsl instructions), so a caller that
  // never reads the text can turn this off; dump_dir writes it either way.
  bool smtlib = true;
  // vmsl: translate `+`, `-`, `*` without their saturation `ite` where the
  // query's own facts (bounds on variables among the top-level conjuncts of
  // the assumptions) prove saturation impossible. Equivalent to the exact
  // encoding in every model of the query (the argument is in solver.cpp);
  // off only to compare with the exact encoding.
  bool prune_saturation = true;
};

enum class Verdict { Valid, Invalid, Unknown };

struct Outcome {
  Verdict verdict = Verdict::Unknown;
  std::string reason;  // for Unknown: Z3's reason ("timeout", "canceled", "incomplete ...")
  Env model;           // for Invalid: a value for every variable of the query
  std::string smtlib;  // the query as SMT-LIB 2 text (empty if Options::smtlib is off)
  std::chrono::nanoseconds time{0};
};

struct Stats {
  std::size_t queries = 0, valid = 0, invalid = 0, unknown = 0;
  std::chrono::nanoseconds time{0};  // time spent inside Z3, including translation
};

class Solver {
 public:
  Solver(const Profile& profile, Options options);
  ~Solver();
  Solver(const Solver&) = delete;
  Solver& operator=(const Solver&) = delete;

  // Is (assumptions[0] && ... ) ==> goal valid? Checks the negation for
  // satisfiability on a fresh solver: unsat gives Valid, sat gives Invalid
  // with a model, anything else gives Unknown (never Valid).
  // `name` labels the dump file (it is sanitised to a file name).
  Outcome check_valid(const std::vector<Term>& assumptions, const Term& goal, const std::string& name);

  // Are the assumptions satisfiable? Valid = satisfiable (with a model in
  // `model`), Invalid = unsatisfiable, Unknown otherwise.
  Outcome check_sat(const std::vector<Term>& assumptions, const std::string& name);

  const Stats& stats() const { return stats_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Stats stats_;
};

}  // namespace hvsl::smt
