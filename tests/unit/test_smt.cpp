// The Z3 facade (smt/solver.h): the encodings agree with the profiles'
// concrete arithmetic, counterexample models replay with hvsl::eval, and the
// options (limits, seed, dumping) and statistics do what they say.
#include <regex>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "logic/profile.h"
#include "logic/term.h"
#include "smt/solver.h"

using hvsl::Kind;
using hvsl::Profile;
using hvsl::Sort;
using hvsl::Term;
using hvsl::TermBuilder;
using hvsl::Value;
using hvsl::Word;
using hvsl::smt::Options;
using hvsl::smt::Outcome;
using hvsl::smt::Solver;
using hvsl::smt::Verdict;

namespace {

const Profile* const kProfiles[] = {&Profile::vmsl(), &Profile::arm64()};

// Edge cases first, then reproducible random words.
std::vector<Word> sample_words(const Profile& p, std::size_t random_count) {
  std::vector<Word> out{0, 1, 2, 3, 999, 1000, 1001, 4095, 4096, 4097, 999'999, 1'000'000, p.word_max - 1, p.word_max};
  if (p.kind == hvsl::ProfileKind::Arm64)
    for (Word w : {Word(1) << 32, (Word(1) << 32) - 1, Word(1) << 63, (Word(1) << 63) - 1}) out.push_back(w);
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<Word> any(0, p.word_max), small(0, 3000);
  for (std::size_t i = 0; i < random_count; ++i) out.push_back(i % 2 ? any(rng) : small(rng));
  return out;
}

// Checks that `o` is Invalid and that its model makes every assumption true
// and the goal false under hvsl::eval (the model self-check).
void check_counterexample(const Profile& p, const std::vector<Term>& assumptions, const Term& goal, const Outcome& o) {
  REQUIRE(o.verdict == Verdict::Invalid);
  for (const auto& a : assumptions) {
    auto v = hvsl::eval(a, p, o.model);
    REQUIRE(v.has_value());
    CHECK_MESSAGE(v->word == 1, hvsl::to_string(a));
  }
  auto g = hvsl::eval(goal, p, o.model);
  REQUIRE(g.has_value());
  CHECK_MESSAGE(g->word == 0, hvsl::to_string(goal));
}

// check_valid, and for Invalid the model self-check.
Verdict validity(Solver& s, const Profile& p, const std::vector<Term>& assumptions, const Term& goal) {
  Outcome o = s.check_valid(assumptions, goal, "q");
  CHECK(!o.smtlib.empty());
  if (o.verdict == Verdict::Invalid) check_counterexample(p, assumptions, goal, o);
  if (o.verdict == Verdict::Unknown) MESSAGE("unknown: " << o.reason << " for " << hvsl::to_string(goal));
  return o.verdict;
}

struct Ctx {
  const Profile& p;
  TermBuilder b;
  Solver s;
  Term x, y, z, c, S, T;
  explicit Ctx(const Profile& prof, Options o = {})
      : p(prof),
        b(prof),
        s(prof, std::move(o)),
        x(b.var("x", Sort::Word)),
        y(b.var("y", Sort::Word)),
        z(b.var("z", Sort::Word)),
        c(b.var("c", Sort::Bool)),
        S(b.var("S", Sort::Set)),
        T(b.var("T", Sort::Set)) {}
  Verdict valid(const std::vector<Term>& as, const Term& goal) { return validity(s, p, as, goal); }
};

using BinOp = Term (TermBuilder::*)(Term, Term) const;
using WordOp = Word (Profile::*)(Word, Word) const;

// For every pair: {x == a, y == b} |= op(x, y) == op(a, b) is Valid, and
// op(x, y) == op(a, b) + 1 is Invalid with x == a, y == b in the model.
void check_binop(const Profile& p, BinOp op, WordOp concrete, std::size_t random_count) {
  Ctx t(p);
  auto words = sample_words(p, random_count);
  for (std::size_t i = 0; i < words.size(); ++i) {
    for (std::size_t j = 0; j < words.size(); ++j) {
      // all edge pairs, and each random word against a few others
      if (i >= 14 && j >= 14 && (i + j) % 5 != 0) continue;
      Word a = words[i], bw = words[j];
      Word r = (p.*concrete)(a, bw);
      std::vector<Term> as{t.b.eq(t.x, t.b.word(a)), t.b.eq(t.y, t.b.word(bw))};
      Term lhs = (t.b.*op)(t.x, t.y);
      INFO(p.name, ": a=", a, " b=", bw, " r=", r);
      CHECK(t.valid(as, t.b.eq(lhs, t.b.word(r))) == Verdict::Valid);
      Outcome o = t.s.check_valid(as, t.b.eq(lhs, t.b.word(r + 1)), "off by one");
      check_counterexample(p, as, t.b.eq(lhs, t.b.word(r + 1)), o);
      CHECK(o.model.at("x") == Value{Sort::Word, a, {}});
      CHECK(o.model.at("y") == Value{Sort::Word, bw, {}});
    }
  }
}

}  // namespace

TEST_CASE("smt: add agrees with Profile::add") {
  for (const Profile* p : kProfiles) check_binop(*p, &TermBuilder::add, &Profile::add, 16);
}

TEST_CASE("smt: sub agrees with Profile::sub (incl. the VMSL underflow rule)") {
  for (const Profile* p : kProfiles) check_binop(*p, &TermBuilder::sub, &Profile::sub, 16);
  Ctx v(Profile::vmsl());
  CHECK(v.valid({v.b.eq(v.x, v.b.word(3)), v.b.eq(v.y, v.b.word(5))}, v.b.eq(v.b.sub(v.x, v.y), v.b.word(1'999'999))) ==
        Verdict::Valid);
  // symbolically: below zero gives the largest word in vmsl, wraps in arm64
  for (const Profile* p : kProfiles) {
    Ctx t(*p);
    Term goal = t.b.implies(t.b.lt(t.x, t.y), t.b.eq(t.b.sub(t.x, t.y), t.b.word(p->word_max)));
    CHECK(t.valid({}, goal) == (p->saturating ? Verdict::Valid : Verdict::Invalid));
  }
}

TEST_CASE("smt: mul agrees with Profile::mult") {
  for (const Profile* p : kProfiles) check_binop(*p, &TermBuilder::mul, &Profile::mult, 16);
}

TEST_CASE("smt: page_of agrees with Profile::page_of") {
  for (const Profile* p : kProfiles) {
    Ctx t(*p);
    for (Word a : sample_words(*p, 40)) {
      INFO(p->name, ": a=", a);
      std::vector<Term> as{t.b.eq(t.x, t.b.word(a))};
      CHECK(t.valid(as, t.b.eq(t.b.page_of(t.x), t.b.word(p->page_of(a)))) == Verdict::Valid);
      CHECK(t.valid(as, t.b.eq(t.b.page_of(t.x), t.b.word(p->page_of(a) + 1))) == Verdict::Invalid);
    }
    // symbolically: page_of(x) is aligned, at most x, and within a page of x
    Term px = t.b.page_of(t.x);
    CHECK(t.valid({}, t.b.le(px, t.x)) == Verdict::Valid);
    CHECK(t.valid({}, t.b.eq(t.b.page_of(px), px)) == Verdict::Valid);
    CHECK(t.valid({}, t.b.lt(t.b.sub(t.x, px), t.b.word(p->page_size))) == Verdict::Valid);
    CHECK(t.valid({}, t.b.lt(t.b.sub(t.x, px), t.b.word(p->page_size - 1))) == Verdict::Invalid);
  }
}

TEST_CASE("smt: lt and le are unsigned comparisons") {
  for (const Profile* p : kProfiles) {
    Ctx t(*p);
    auto words = sample_words(*p, 6);
    for (Word a : words)
      for (Word bw : words) {
        INFO(p->name, ": a=", a, " b=", bw);
        std::vector<Term> as{t.b.eq(t.x, t.b.word(a)), t.b.eq(t.y, t.b.word(bw))};
        CHECK(t.valid(as, t.b.lt(t.x, t.y)) == (a < bw ? Verdict::Valid : Verdict::Invalid));
        CHECK(t.valid(as, t.b.le(t.x, t.y)) == (a <= bw ? Verdict::Valid : Verdict::Invalid));
      }
    // every word is at most the largest word; the vmsl range constraint is what makes this valid
    CHECK(t.valid({}, t.b.le(t.x, t.b.word(p->word_max))) == Verdict::Valid);
    CHECK(t.valid({}, t.b.le(t.b.word(0), t.x)) == Verdict::Valid);
  }
  Ctx v(Profile::vmsl());
  CHECK(v.valid({}, v.b.lt(v.x, v.b.word(2'000'000))) == Verdict::Valid);
  CHECK(v.valid({}, v.b.lt(v.x, v.b.word(1'999'999))) == Verdict::Invalid);
}

TEST_CASE("smt: ite on words, booleans and sets") {
  for (const Profile* p : kProfiles) {
    Ctx t(*p);
    auto& b = t.b;
    for (bool cv : {false, true}) {
      std::vector<Term> as{cv ? t.c : b.not_(t.c), b.eq(t.x, b.word(7)), b.eq(t.y, b.word(p->word_max))};
      Word expect = cv ? 7 : p->word_max;
      CHECK(t.valid(as, b.eq(b.ite(t.c, t.x, t.y), b.word(expect))) == Verdict::Valid);
      CHECK(t.valid(as, b.eq(b.ite(t.c, t.x, t.y), b.word(cv ? p->word_max : 7))) == Verdict::Invalid);
      Term bi = b.ite(t.c, b.lt(t.x, t.y), b.lt(t.y, t.x));
      CHECK(t.valid(as, cv ? bi : b.not_(bi)) == Verdict::Valid);
      Term si = b.ite(t.c, b.set_of({t.x}), b.set_of({t.y}));
      CHECK(t.valid(as, b.member(b.word(expect), si)) == Verdict::Valid);
      CHECK(t.valid(as, b.member(b.word(cv ? p->word_max : 7), si)) == Verdict::Invalid);
    }
    CHECK(t.valid({}, b.eq(b.ite(t.c, t.x, t.y), t.x)) == Verdict::Invalid);
    CHECK(t.valid({}, b.or_(b.eq(b.ite(t.c, t.x, t.y), t.x), b.eq(b.ite(t.c, t.x, t.y), t.y))) == Verdict::Valid);
  }
}

TEST_CASE("smt: sets (member, insert, union, minus, equality)") {
  for (const Profile* p : kProfiles) {
    Ctx t(*p);
    auto& b = t.b;
    Term S = t.S, T = t.T, x = t.x, y = t.y;
    // laws
    CHECK(t.valid({}, b.member(x, b.insert(S, x))) == Verdict::Valid);
    CHECK(t.valid({}, b.not_(b.member(x, b.minus(S, b.set_of({x}))))) == Verdict::Valid);
    CHECK(t.valid({}, b.eq(b.member(x, b.union_(S, T)), b.or_(b.member(x, S), b.member(x, T)))) == Verdict::Valid);
    CHECK(t.valid({}, b.eq(b.member(x, b.minus(S, T)), b.and_(b.member(x, S), b.not_(b.member(x, T))))) ==
          Verdict::Valid);
    CHECK(t.valid({}, b.eq(b.union_(S, T), b.union_(T, S))) == Verdict::Valid);
    CHECK(t.valid({b.member(x, S)}, b.eq(b.insert(S, x), S)) == Verdict::Valid);
    CHECK(t.valid({}, b.eq(b.union_(b.minus(S, T), T), b.union_(S, T))) == Verdict::Valid);
    CHECK(t.valid({b.ne(x, y)}, b.member(x, b.minus(b.insert(S, x), b.set_of({y})))) == Verdict::Valid);
    CHECK(t.valid({}, b.not_(b.member(x, b.minus(b.set_of({x}), S)))) == Verdict::Invalid);
    // counterexamples, each replayed with hvsl::eval by t.valid
    CHECK(t.valid({}, b.member(x, S)) == Verdict::Invalid);
    CHECK(t.valid({}, b.not_(b.member(x, S))) == Verdict::Invalid);
    CHECK(t.valid({}, b.eq(S, T)) == Verdict::Invalid);
    CHECK(t.valid({}, b.ne(S, T)) == Verdict::Invalid);
    CHECK(t.valid({}, b.eq(b.union_(S, T), S)) == Verdict::Invalid);
    CHECK(t.valid({}, b.eq(b.minus(S, T), S)) == Verdict::Invalid);
    CHECK(t.valid({b.member(x, S)}, b.eq(b.insert(T, x), b.union_(T, S))) == Verdict::Invalid);
    CHECK(t.valid({b.ne(S, T), b.member(x, S), b.member(x, T)}, b.eq(b.minus(S, b.set_of({x})), T)) ==
          Verdict::Invalid);
    // concrete membership against literal sets
    Term lit = b.set_of({b.word(1), b.word(5), b.word(p->word_max)});
    for (Word a : {Word(0), Word(1), Word(4), Word(5), Word(6), p->word_max - 1, p->word_max}) {
      bool in = a == 1 || a == 5 || a == p->word_max;
      std::vector<Term> as{b.eq(S, lit), b.eq(x, b.word(a))};
      INFO(p->name, ": a=", a);
      CHECK(t.valid(as, b.member(x, S)) == (in ? Verdict::Valid : Verdict::Invalid));
      CHECK(t.valid(as, b.member(x, b.minus(S, b.set_of({b.word(5)})))) ==
            (in && a != 5 ? Verdict::Valid : Verdict::Invalid));
      CHECK(t.valid(as, b.member(x, b.union_(S, b.set_of({b.word(4)})))) ==
            (in || a == 4 ? Verdict::Valid : Verdict::Invalid));
    }
    // set models: S == {1, 5, max} is read back exactly
    Outcome o = t.s.check_sat({b.eq(S, lit)}, "set model");
    REQUIRE(o.verdict == Verdict::Valid);
    CHECK(o.model.at("S") == Value{Sort::Set, 0, {1, 5, p->word_max}});
    o = t.s.check_sat({b.eq(S, b.empty_set())}, "empty set model");
    REQUIRE(o.verdict == Verdict::Valid);
    CHECK(o.model.at("S") == Value{Sort::Set, 0, {}});
  }
}

TEST_CASE("smt: valid symbolic identities the builder does not fold") {
  for (const Profile* p : kProfiles) {
    Ctx t(*p);
    auto& b = t.b;
    CHECK(t.valid({b.eq(t.z, b.word(0))}, b.eq(b.add(t.x, t.z), t.x)) == Verdict::Valid);
    CHECK(t.valid({b.eq(t.z, b.word(1))}, b.eq(b.mul(t.x, t.z), t.x)) == Verdict::Valid);
    CHECK(t.valid({}, b.eq(b.add(t.x, t.y), b.add(t.y, t.x))) == Verdict::Valid);
    CHECK(t.valid({}, b.eq(b.mul(t.x, t.y), b.mul(t.y, t.x))) == Verdict::Valid);
    CHECK(t.valid({}, b.eq(b.sub(t.x, t.x), b.word(0))) == Verdict::Valid);
    // (x + y) - y == x: true for wrapping words, false once vmsl saturates
    CHECK(t.valid({}, b.eq(b.sub(b.add(t.x, t.y), t.y), t.x)) ==
          (p->saturating ? Verdict::Invalid : Verdict::Valid));
  }
}

TEST_CASE("smt: an Invalid model replays with hvsl::eval (x < x + 1 fails only at the largest word)") {
  for (const Profile* p : kProfiles) {
    Ctx t(*p);
    Term goal = t.b.lt(t.x, t.b.add(t.x, t.b.word(1)));
    Outcome o = t.s.check_valid({}, goal, "x < x + 1");
    check_counterexample(*p, {}, goal, o);
    CHECK(o.model.at("x") == Value{Sort::Word, p->word_max, {}});
    auto neg = hvsl::eval(t.b.not_(goal), *p, o.model);
    REQUIRE(neg.has_value());
    CHECK(neg->word == 1);
    CHECK(o.time.count() > 0);
  }
}

TEST_CASE("smt: every variable of the query gets a model value") {
  for (const Profile* p : kProfiles) {
    Ctx t(*p);
    auto& b = t.b;
    // c, y and T only occur in the assumptions' irrelevant parts
    std::vector<Term> as{b.or_(t.c, b.le(t.y, t.z)), b.or_(b.eq(b.add(t.y, t.z), t.z), b.member(t.x, t.T))};
    Outcome o = t.s.check_valid(as, b.lt(t.x, b.word(10)), "all vars");
    check_counterexample(*p, as, b.lt(t.x, b.word(10)), o);
    for (const char* v : {"x", "y", "z", "c", "T"}) CHECK_MESSAGE(o.model.count(v) == 1, v);
    CHECK(o.model.at("c").sort == Sort::Bool);
    CHECK(o.model.at("c").word <= 1);
    CHECK(o.model.at("T").sort == Sort::Set);
  }
}

TEST_CASE("smt: variable names with '!' and '.' are kept as they are") {
  for (const Profile* p : kProfiles) {
    Ctx t(*p);
    Term r = t.b.var("r1!3.pre", Sort::Word), q = t.b.var("vm.0|x", Sort::Word);
    Outcome o = t.s.check_valid({t.b.eq(r, t.b.word(42))}, t.b.eq(r, q), "odd names");
    REQUIRE(o.verdict == Verdict::Invalid);
    CHECK(o.model.at("r1!3.pre") == Value{Sort::Word, 42, {}});
    CHECK(o.model.count("vm.0|x") == 1);
    CHECK(o.smtlib.find("r1!3.pre") != std::string::npos);
  }
}

TEST_CASE("smt: check_sat") {
  for (const Profile* p : kProfiles) {
    Ctx t(*p);
    auto& b = t.b;
    std::vector<Term> as{b.lt(t.x, t.y), b.lt(t.y, b.word(3)), b.member(t.y, t.S)};
    Outcome o = t.s.check_sat(as, "sat");
    REQUIRE(o.verdict == Verdict::Valid);
    for (const auto& a : as) CHECK(hvsl::eval(a, *p, o.model)->word == 1);
    o = t.s.check_sat({b.lt(t.x, t.y), b.lt(t.y, t.x)}, "unsat");
    CHECK(o.verdict == Verdict::Invalid);
    CHECK(o.model.empty());
    CHECK(o.smtlib.find("(check-sat)") != std::string::npos);
    // sets that differ: in vmsl Z3 may put the difference at an integer that
    // is not a word; the model still shows two different finite sets
    o = t.s.check_sat({b.ne(t.S, t.T)}, "different sets");
    REQUIRE(o.verdict == Verdict::Valid);
    CHECK(o.model.at("S") != o.model.at("T"));
  }
}

TEST_CASE("smt: Unknown on a resource limit, never Valid") {
  Options opts;
  opts.rlimit = 1;
  Ctx t(Profile::vmsl(), opts);
  auto& b = t.b;
  // nonlinear and saturating: x*y == 1234567 with x, y > 1
  Term goal = b.not_(b.and_({b.eq(b.mul(t.x, t.y), b.word(1'234'567)), b.lt(b.word(1), t.x), b.lt(b.word(1), t.y)}));
  Outcome o = t.s.check_valid({}, goal, "rlimit");
  CHECK(o.verdict == Verdict::Unknown);
  CHECK(!o.reason.empty());
  CHECK(!o.smtlib.empty());
  MESSAGE("rlimit=1 gives: " << o.reason);
  // a valid goal under the same limit: Unknown or Valid, never Invalid
  o = t.s.check_valid({}, b.eq(b.mul(t.x, t.y), b.mul(t.y, t.x)), "rlimit valid");
  CHECK(o.verdict != Verdict::Invalid);
  CHECK(t.s.stats().unknown >= 1);
}

TEST_CASE("smt: a timeout gives Unknown, never a verdict it did not reach") {
  Options opts;
  opts.timeout_ms = 1;
  Ctx t(Profile::arm64(), opts);
  auto& b = t.b;
  // factoring a 64-bit product of two 32-bit primes: far beyond 1 ms
  Term xy = b.mul(t.x, t.y);
  Term goal = b.not_(b.and_({b.eq(xy, b.word(4'294'967'291ULL * 4'294'967'279ULL)), b.lt(b.word(1), t.x), b.lt(b.word(1), t.y),
                             b.lt(t.x, b.word(Word(1) << 32)), b.lt(t.y, b.word(Word(1) << 32))}));
  Outcome o = t.s.check_valid({}, goal, "timeout");
  if (o.verdict == Verdict::Invalid)  // only if Z3 really found factors within the time
    check_counterexample(Profile::arm64(), {}, goal, o);
  else
    CHECK(o.verdict == Verdict::Unknown);
  MESSAGE("timeout_ms=1 gives: " << (o.verdict == Verdict::Unknown ? o.reason : "a model"));
}

TEST_CASE("smt: deep and shared terms") {
  for (const Profile* p : kProfiles) {
    Ctx t(*p);
    auto& b = t.b;
    // 2^200 leaves when unfolded; 200 nodes as a DAG
    Term d = t.x;
    for (int i = 0; i < 200; ++i) d = b.add(d, d);
    CHECK(t.valid({b.eq(t.x, b.word(0))}, b.eq(d, b.word(0))) == Verdict::Valid);
    Outcome o = t.s.check_valid({b.eq(t.x, b.word(1))}, b.eq(d, b.word(0)), "shared");
    if (p->saturating) {
      CHECK(o.verdict == Verdict::Invalid);  // saturates at the largest word
      CHECK(o.model.at("x").word == 1);
    } else {
      CHECK(o.verdict == Verdict::Valid);  // 2^200 wraps to 0
    }
    // a chain of 3,000 conjunctions (TermBuilder::and_ nests them 3,000 deep)
    std::vector<Term> conj;
    for (int i = 0; i < 3000; ++i) conj.push_back(b.le(t.x, b.add(t.y, b.word(Word(i)))));
    Term chain = b.and_(conj);
    // (t.valid would print or eval the chain recursively; the facade does neither)
    o = t.s.check_valid({b.eq(t.y, b.word(5)), b.le(t.x, b.word(5))}, chain, "chain");
    CHECK_MESSAGE(o.verdict == Verdict::Valid, o.reason);
    o = t.s.check_valid({b.eq(t.y, b.word(5)), b.le(t.x, b.word(6))}, chain, "chain");
    REQUIRE_MESSAGE(o.verdict == Verdict::Invalid, o.reason);
    CHECK(o.model.at("x").word == 6);
    // a deep sum: x + y + y + ... (20,000 deep in arm64; vmsl's saturating
    // adds are slower for Z3, so 1,000 there); the Invalid model is replayed
    // by the facade's self-check without recursion
    Term sum = t.x;
    for (int i = 0; i < (p->saturating ? 1000 : 20'000); ++i) sum = b.add(sum, t.y);
    o = t.s.check_valid({b.eq(t.y, b.word(0)), b.eq(t.x, b.word(3))}, b.eq(sum, b.word(3)), "deep sum");
    CHECK_MESSAGE(o.verdict == Verdict::Valid, o.reason);
    o = t.s.check_valid({b.eq(t.y, b.word(1)), b.eq(t.x, b.word(3))}, b.eq(sum, b.word(3)), "deep sum");
    REQUIRE_MESSAGE(o.verdict == Verdict::Invalid, o.reason);
    CHECK(o.model.at("y").word == 1);
  }
}

TEST_CASE("smt: dump_dir writes one SMT-LIB file per query") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("hvsl_smt_dump_" + std::to_string(std::random_device{}()));
  fs::remove_all(dir);
  {
    Options opts;
    opts.dump_dir = (dir / "nested").string();
    Ctx t(Profile::vmsl(), opts);
    Outcome o1 = t.s.check_valid({}, t.b.le(t.x, t.b.add(t.x, t.y)), "vm0: pc 3/assert #1");
    Outcome o2 = t.s.check_sat({t.b.member(t.x, t.S)}, "");
    CHECK(o1.verdict == Verdict::Valid);
    CHECK(o2.verdict == Verdict::Valid);
    fs::path f1 = dir / "nested" / "0001-vm0__pc_3_assert__1.smt2";
    fs::path f2 = dir / "nested" / "0002-query.smt2";
    REQUIRE(fs::exists(f1));
    REQUIRE(fs::exists(f2));
    std::ifstream in(f1);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str().find(o1.smtlib) != std::string::npos);
    CHECK(text.str().find("(check-sat)") != std::string::npos);
    CHECK(text.str().find("(declare-fun x () Int)") != std::string::npos);
    CHECK(text.str().find("1999999") != std::string::npos);  // the range constraint
  }
  {
    // a dump that cannot be written is a clear std::runtime_error, not a crash
    fs::path file = dir / "plain-file";
    std::ofstream(file) << "x";
    Options opts;
    opts.dump_dir = (file / "sub").string();
    Ctx t(Profile::arm64(), opts);
    CHECK_THROWS_AS(t.s.check_valid({}, t.b.le(t.x, t.y), "q"), std::runtime_error);
  }
  fs::remove_all(dir);
}

TEST_CASE("smt: statistics, timing and determinism") {
  Options opts;
  opts.seed = 7;
  Ctx t(Profile::vmsl(), opts);
  auto& b = t.b;
  CHECK(t.s.check_valid({}, b.eq(b.add(t.x, t.y), b.add(t.y, t.x)), "v").verdict == Verdict::Valid);
  Term goal = b.not_(b.and_({b.eq(b.mul(t.x, t.y), b.word(1'000'000)), b.lt(b.word(1), t.x), b.lt(t.x, t.y)}));
  Outcome a = t.s.check_valid({}, goal, "i");
  check_counterexample(t.p, {}, goal, a);
  CHECK(t.s.check_sat({b.lt(t.x, t.x)}, "u").verdict == Verdict::Invalid);
  const auto& st = t.s.stats();
  CHECK(st.queries == 3);
  CHECK(st.valid == 1);
  CHECK(st.invalid == 2);
  CHECK(st.unknown == 0);
  CHECK(st.time.count() > 0);
  CHECK(st.time >= a.time);
  // Determinism: a Solver with the same options given the same queries in
  // the same order answers the same, text and models. (Z3's let-names and
  // choices depend on the context's history, so a query repeated within one
  // Solver may print and solve differently; its verdict does not change.)
  Outcome again = t.s.check_valid({}, goal, "i");
  check_counterexample(t.p, {}, goal, again);
  auto sequence = [&](Ctx& w) {
    std::vector<Outcome> out;
    out.push_back(w.s.check_valid({}, w.b.eq(w.b.add(w.x, w.y), w.b.add(w.y, w.x)), "v"));
    // (A linear query here: on a loaded machine the nonlinear one can fall
    // back to another Z3 solver, which prints differently.)
    out.push_back(w.s.check_valid({}, w.b.not_(w.b.and_(w.b.lt(w.b.word(1), w.x), w.b.lt(w.x, w.y))), "i"));
    out.push_back(w.s.check_sat({w.b.ne(w.S, w.T), w.b.member(w.x, w.S)}, "s"));
    out.push_back(w.s.check_valid({w.b.lt(w.y, w.x)}, w.b.lt(w.b.sub(w.x, w.y), w.x), "j"));
    return out;
  };
  // Without a time limit: a query that runs out of time on a loaded machine
  // is retried differently, which is not what this checks.
  Options untimed = opts;
  untimed.timeout_ms = 0;
  Ctx v1(Profile::vmsl(), untimed), v2(Profile::vmsl(), untimed);
  auto r1 = sequence(v1), r2 = sequence(v2);
  for (std::size_t i = 0; i < r1.size(); ++i) {
    CHECK(r1[i].verdict == r2[i].verdict);
    // Z3 numbers its let-names ($x24 for formulas, ?x12 for terms) from its
    // own history (ids are reused as terms are freed), which can vary between
    // runs; the structure of the query must not.
    static const std::regex let_name("[$?][a-z]+[0-9]+");
    CHECK(std::regex_replace(r1[i].smtlib, let_name, "$") == std::regex_replace(r2[i].smtlib, let_name, "$"));
    CHECK(r1[i].model == r2[i].model);
  }
  CHECK(r1[1].verdict == Verdict::Invalid);
  CHECK(r1[2].verdict == Verdict::Valid);
  CHECK(r1[3].verdict == Verdict::Invalid);  // y == 0
}

TEST_CASE("smt: malformed queries are std::runtime_error") {
  Ctx t(Profile::arm64());
  auto bad = std::make_shared<hvsl::TermNode>();
  bad->kind = Kind::Add;
  bad->sort = Sort::Word;
  bad->args = {t.c, t.x};  // a boolean operand
  CHECK_THROWS_AS(t.s.check_valid({}, t.b.eq(Term(bad), t.x), "bad"), std::runtime_error);
  CHECK_THROWS_AS(t.s.check_valid({}, t.x, "not a formula"), std::runtime_error);
  CHECK_THROWS_AS(t.s.check_valid({}, t.b.eq(t.b.var("x", Sort::Bool), t.b.lt(t.x, t.y)), "two sorts"),
                  std::runtime_error);
  // the solver is still usable afterwards
  CHECK(t.s.check_valid({}, t.b.le(t.x, t.b.word(t.p.word_max)), "ok").verdict == Verdict::Valid);
}

// ---------------------------------------------------------------------------
// vmsl: `+`, `-`, `*` lose their saturation ite only where the query's facts
// (bounds on variables among the top-level conjuncts of the assumptions)
// rule saturation out. Each query below is answered by the exact encoding;
// the ones marked "saturates" would get the other verdict if the ite were
// left out where it is needed (a wrong Valid, or a model that fails the
// self-check and gives Unknown).

namespace {

constexpr Word kVmslMax = 1'999'999;

// A vmsl solver with pruning (the default) and one with the exact encoding.
struct Pruning {
  Ctx on{Profile::vmsl()};
  Ctx off{Profile::vmsl(), [] {
            Options o;
            o.prune_saturation = false;
            return o;
          }()};
  std::size_t pruned = 0;  // queries whose pruned text has fewer ites
  // The verdict of both encodings, which must agree; Invalid models must
  // replay with hvsl::eval.
  Verdict valid(const std::vector<Term>& as, const Term& goal) {
    Outcome a = on.s.check_valid(as, goal, "pruned"), b = off.s.check_valid(as, goal, "exact");
    for (const Outcome* o : {&a, &b})
      if (o->verdict == Verdict::Invalid) check_counterexample(on.p, as, goal, *o);
    // Both decided: they must agree. (The exact encoding is the slower one;
    // on a loaded machine it can hit the time limit, which is not a
    // disagreement.)
    if (a.verdict != Verdict::Unknown && b.verdict != Verdict::Unknown) CHECK(a.verdict == b.verdict);
    if (ites(a.smtlib) < ites(b.smtlib)) ++pruned;
    return a.verdict;
  }
  static std::size_t ites(const std::string& text) {
    std::size_t n = 0;
    for (auto at = text.find("(ite "); at != std::string::npos; at = text.find("(ite ", at + 1)) ++n;
    return n;
  }
  // Whether the pruned query still has a saturation ite.
  bool has_ite(const std::vector<Term>& as, const Term& goal) {
    return on.s.check_valid(as, goal, "ite?").smtlib.find("(ite ") != std::string::npos;
  }
};

}  // namespace

TEST_CASE("smt: vmsl saturation pruning: add and sub at the boundary") {
  Pruning t;
  auto& b = t.on.b;
  Term x = t.on.x, y = t.on.y;
  auto w = [&](Word v) { return b.word(v); };
  // (x + y) - y == x holds exactly when x + y does not saturate
  Term back = b.eq(b.sub(b.add(x, y), y), x);
  CHECK(t.valid({}, back) == Verdict::Invalid);
  CHECK(t.valid({b.le(x, w(1000)), b.le(y, w(1000))}, back) == Verdict::Valid);
  CHECK(!t.has_ite({b.le(x, w(1000)), b.le(y, w(1000))}, back));
  CHECK(t.has_ite({}, back));
  // hi(x) + hi(y) == max: cannot saturate; one more: saturates
  CHECK(t.valid({b.le(x, w(999'999)), b.le(y, w(1'000'000))}, back) == Verdict::Valid);
  CHECK(!t.has_ite({b.le(x, w(999'999)), b.le(y, w(1'000'000))}, back));
  CHECK(t.valid({b.le(x, w(1'000'000)), b.le(y, w(1'000'000))}, back) == Verdict::Invalid);
  CHECK(t.valid({b.le(x, w(999'999)), b.le(y, w(1'000'001))}, back) == Verdict::Invalid);
  // every form of a bound: <, <=, ==, either side, negated
  Term ybound = b.le(y, w(1'000'000));
  CHECK(t.valid({b.lt(x, w(1'000'000)), ybound}, back) == Verdict::Valid);
  CHECK(t.valid({b.lt(x, w(1'000'001)), ybound}, back) == Verdict::Invalid);
  CHECK(t.valid({b.eq(x, w(999'999)), ybound}, back) == Verdict::Valid);
  CHECK(t.valid({b.eq(w(999'999), x), ybound}, back) == Verdict::Valid);
  CHECK(t.valid({b.eq(w(1'000'000), x), ybound}, back) == Verdict::Invalid);
  CHECK(t.valid({b.not_(b.le(w(1'000'000), x)), ybound}, back) == Verdict::Valid);  // x < 1,000,000
  CHECK(t.valid({b.not_(b.lt(w(1'000'000), x)), ybound}, back) == Verdict::Invalid);  // x <= 1,000,000
  CHECK(t.valid({b.not_(b.lt(w(999'999), x)), ybound}, back) == Verdict::Valid);  // x <= 999,999
  // lower bounds do not keep a sum from saturating
  CHECK(t.valid({b.le(w(5), x), b.lt(w(5), y), ybound}, back) == Verdict::Invalid);
  CHECK(t.valid({b.not_(b.lt(x, w(5))), b.not_(b.le(y, w(5))), ybound}, back) == Verdict::Invalid);
  // a fact inside a conjunction is a fact
  CHECK(t.valid({b.and_({b.le(x, w(1000)), t.on.c, b.le(y, w(1000))})}, back) == Verdict::Valid);
  CHECK(t.valid({b.and_(b.le(x, w(1000)), b.not_(b.eq(x, y))), b.le(y, w(1000))}, back) == Verdict::Valid);
  // contradictory facts: nothing to prune, and the query is valid
  CHECK(t.valid({b.le(x, w(5)), b.le(w(6), x)}, back) == Verdict::Valid);
  CHECK(t.valid({b.lt(x, w(0))}, back) == Verdict::Valid);
  // a saturating sum's own bound: min(x + y, max) >= 1,999,000 when x is
  CHECK(t.valid({b.le(w(1'999'000), x)}, b.le(w(1'999'000), b.add(x, y))) == Verdict::Valid);
}

TEST_CASE("smt: vmsl saturation pruning: bounds that do not hold in every model are not facts") {
  Pruning t;
  auto& b = t.on.b;
  Term x = t.on.x, y = t.on.y, c = t.on.c;
  auto w = [&](Word v) { return b.word(v); };
  Term back = b.eq(b.sub(b.add(x, y), y), x);
  Term small_y = b.le(y, w(1000));
  // under a disjunction, an implication, a negated conjunction, an ite
  CHECK(t.valid({b.or_(b.le(x, w(1000)), c), small_y}, back) == Verdict::Invalid);
  CHECK(t.valid({b.implies(c, b.le(x, w(1000))), small_y}, back) == Verdict::Invalid);
  CHECK(t.valid({b.not_(b.and_(b.lt(w(1000), x), c)), small_y}, back) == Verdict::Invalid);
  CHECK(t.valid({b.ite(c, b.le(x, w(1000)), b.le(w(1000), x)), small_y}, back) == Verdict::Invalid);
  CHECK(t.valid({b.not_(b.eq(x, w(1'999'999))), small_y}, back) == Verdict::Invalid);
  // a bound on a term, not a variable (x is unbounded when c is false)
  CHECK(t.valid({b.le(b.ite(c, x, w(0)), w(1000)), small_y}, back) == Verdict::Invalid);
  // in the goal: with y == 1000, x + y saturates exactly when x >= 1,999,000,
  // so this is valid; were the goal's x < 1,999,000 taken as a fact, the sum
  // would be plain and the negated goal would have a (bogus) model
  Term goal = b.or_(b.lt(x, w(1'999'000)), b.eq(b.add(x, y), w(kVmslMax)));
  CHECK(t.valid({b.eq(y, w(1000))}, goal) == Verdict::Valid);
  CHECK(t.has_ite({b.eq(y, w(1000))}, goal));
  // the same bound as a real fact: nothing saturates
  CHECK(t.valid({b.eq(y, w(1000)), b.lt(x, w(1'999'000))}, goal) == Verdict::Valid);
  // the assumptions hold only where x + y saturates (x >= 1,999,000), so
  // x <= 5 is not implied; were the goal's bound a fact, the sum would be
  // plain, the assumptions false, and the query (wrongly) valid
  std::vector<Term> saturated{b.eq(y, w(1000)), b.lt(b.sub(b.add(x, y), y), x)};
  CHECK(t.valid(saturated, b.le(x, w(5))) == Verdict::Invalid);
  CHECK(t.valid(saturated, b.and_(b.le(x, w(5)), b.le(y, w(1000)))) == Verdict::Invalid);
  CHECK(t.valid(saturated, b.le(w(1'999'000), x)) == Verdict::Valid);
  // a goal that says the sum does not saturate is still invalid
  CHECK(t.valid({b.le(w(1), y)}, b.lt(x, b.add(x, y))) == Verdict::Invalid);
  CHECK(t.valid({b.eq(y, w(1)), b.le(x, w(1'999'998))}, b.lt(x, b.add(x, y))) == Verdict::Valid);
  // check_sat: the facts of the assumptions prune, a disjunction does not
  Term sat = b.lt(b.sub(b.add(x, y), y), x);  // only if x + y saturates
  CHECK(t.on.s.check_sat({sat, small_y}, "sat").verdict == Verdict::Valid);
  CHECK(t.on.s.check_sat({sat, small_y, b.le(x, w(1'000'000))}, "unsat").verdict == Verdict::Invalid);
  CHECK(t.on.s.check_sat({sat, small_y, b.or_(b.le(x, w(1'000'000)), c)}, "sat").verdict == Verdict::Valid);
}

TEST_CASE("smt: vmsl saturation pruning: sub needs its minuend to dominate") {
  Pruning t;
  auto& b = t.on.b;
  Term x = t.on.x, y = t.on.y, z = t.on.z;
  auto w = [&](Word v) { return b.word(v); };
  std::vector<Term> small{b.le(x, w(1000)), b.le(y, w(1000)), b.le(z, w(1000))};
  // (x + 2y + 3) - (y + 3) and (3x + y) * 2 - (x + y): the coefficients of
  // the difference are all >= 0, so it is x + y resp. 5x + y
  Term d1 = b.sub(b.add(b.add(x, b.mul(y, w(2))), w(3)), b.add(y, w(3)));
  CHECK(t.valid(small, b.eq(d1, b.add(x, y))) == Verdict::Valid);
  CHECK(!t.has_ite(small, b.eq(d1, b.add(x, y))));
  Term d2 = b.sub(b.mul(b.add(b.mul(x, w(3)), y), w(2)), b.add(x, y));
  CHECK(t.valid(small, b.eq(d2, b.add(b.mul(x, w(5)), y))) == Verdict::Valid);
  CHECK(!t.has_ite(small, b.eq(d2, b.add(b.mul(x, w(5)), y))));
  // (x + y) - (y + 1) is x - 1: below zero at x == 0, where it is the
  // largest word, so it is not always below x
  Term d3 = b.sub(b.add(x, y), b.add(y, w(1)));
  CHECK(t.valid(small, b.lt(d3, x)) == Verdict::Invalid);
  CHECK(t.valid(small, b.or_(b.eq(x, w(0)), b.lt(d3, x))) == Verdict::Valid);
  CHECK(t.valid({small[0], small[1], b.le(w(1), x)}, b.lt(d3, x)) == Verdict::Valid);  // now x - 1 >= 0
  CHECK(!t.has_ite({small[0], small[1], b.le(w(1), x)}, b.lt(d3, x)));
  // x - y: no dominance
  CHECK(t.valid(small, b.le(b.sub(x, y), x)) == Verdict::Invalid);
  // (x + y) - z: z is not a summand
  CHECK(t.valid(small, b.le(b.sub(b.add(x, y), z), b.add(x, y))) == Verdict::Invalid);
  // interval dominance: lo(x) >= hi(y)
  CHECK(t.valid({b.le(w(1000), x), small[1]}, b.le(b.sub(x, y), x)) == Verdict::Valid);
  CHECK(t.valid({b.le(w(999), x), small[1]}, b.le(b.sub(x, y), x)) == Verdict::Invalid);
  // x + max is the largest word (it saturates unless x == 0, and is max
  // then too); it is not x + max as a linear form, and (x + max) - x does
  // not saturate (its interval, lo == max, is above x's)
  Term sat = b.add(x, w(1'999'999));
  CHECK(t.valid(small, b.eq(b.sub(sat, x), b.sub(w(1'999'999), x))) == Verdict::Valid);
  CHECK(t.valid(small, b.eq(b.sub(sat, x), w(1'999'999))) == Verdict::Invalid);
}

TEST_CASE("smt: vmsl saturation pruning: mul") {
  Pruning t;
  auto& b = t.on.b;
  Term x = t.on.x, y = t.on.y;
  auto w = [&](Word v) { return b.word(v); };
  // 1000 * 1999 fits, 1001 * 1999 saturates
  Term g = b.eq(b.sub(b.mul(x, w(1999)), x), b.mul(x, w(1998)));
  CHECK(t.valid({b.le(x, w(1000))}, g) == Verdict::Valid);
  CHECK(!t.has_ite({b.le(x, w(1000))}, g));
  CHECK(t.valid({b.le(x, w(1001))}, g) == Verdict::Invalid);
  // a product of two variables: by intervals
  Term g2 = b.eq(b.sub(b.mul(x, y), y), b.mul(b.sub(x, w(1)), y));
  CHECK(t.valid({b.le(w(1), x), b.le(x, w(1000)), b.le(y, w(1999))}, g2) == Verdict::Valid);
  CHECK(t.valid({b.le(w(1), x), b.le(x, w(1000)), b.le(y, w(2000))}, g2) == Verdict::Invalid);
  // huge literal factors do not overflow the bounds
  Term g3 = b.eq(b.mul(b.mul(x, w(1'999'999)), w(1'999'999)), w(kVmslMax));
  CHECK(t.valid({b.le(w(1), x)}, g3) == Verdict::Valid);
  CHECK(t.valid({}, g3) == Verdict::Invalid);  // x == 0
  CHECK(t.valid({b.eq(x, w(0))}, b.eq(b.mul(b.mul(x, w(1'999'999)), w(1'999'999)), w(0))) == Verdict::Valid);
}

TEST_CASE("smt: vmsl saturation pruning: plain sums reach Z3 as short linear forms") {
  Pruning t;
  auto& b = t.on.b;
  Term x = t.on.x, y = t.on.y, c = t.on.c;
  auto w = [&](Word v) { return b.word(v); };
  // 200 steps of + y and of + 1 - y over x, y <= 1000: 300 nested plain
  // operations, one linear form, x + 100
  Term v = x;
  for (int i = 0; i < 200; ++i) v = i % 2 ? b.sub(b.add(v, w(1)), y) : b.add(v, y);
  std::vector<Term> small{b.le(x, w(1000)), b.le(y, w(1000))};
  CHECK(t.valid(small, b.eq(v, b.add(x, w(100)))) == Verdict::Valid);
  CHECK(t.valid(small, b.eq(v, b.add(x, w(101)))) == Verdict::Invalid);
  Outcome o = t.on.s.check_valid(small, b.eq(v, b.add(x, w(100))), "flat");
  CHECK(o.smtlib.find("(ite ") == std::string::npos);
  CHECK(o.smtlib.size() < 2000);
  // a constant beyond 64 bits in a linear form: 2^63 - ite(c, 2^63, 2^63 - 5)
  Term big = b.word(Word(1) << 63);
  Term d = b.sub(big, b.ite(c, big, b.word((Word(1) << 63) - 5)));
  CHECK(t.valid({}, b.eq(d, b.ite(c, w(0), w(5)))) == Verdict::Valid);
  CHECK(t.valid({}, b.eq(d, w(5))) == Verdict::Invalid);
}

TEST_CASE("smt: vmsl saturation pruning agrees with the exact encoding on random queries") {
  // Random terms over x, y, z (+, -, * by literals, ite, page_of; products
  // of variables are in the test above, and slow here) under random bounds,
  // some of them facts and some under a disjunction; both encodings must
  // give the same verdict, and Invalid models must replay.
  Pruning t;
  auto& b = t.on.b;
  std::mt19937_64 rng(2026);
  auto pick = [&](std::size_t n) { return std::size_t(rng() % n); };
  const Word lits[] = {0, 1, 2, 3, 7, 999, 1000, 1001, 999'999, 1'000'000, 1'999'998, kVmslMax};
  Term vars[] = {t.on.x, t.on.y, t.on.z};
  auto lit = [&] { return b.word(pick(2) ? lits[pick(std::size(lits))] : Word(pick(3000))); };
  // (Each operand in its own statement: the order of the random draws must
  // not depend on the compiler's order of evaluating arguments.)
  std::function<Term(int)> term = [&](int depth) -> Term {
    if (depth == 0 || pick(4) == 0) return pick(3) ? vars[pick(3)] : lit();
    std::size_t op = pick(8);
    Term l = term(depth - 1);
    Term r = op == 4 || op == 5 ? lit() : term(depth - 1);
    switch (op) {
      case 0: case 1: return b.add(l, r);
      case 2: case 3: return b.sub(l, r);
      case 4: case 5: return b.mul(l, r);
      case 6: {
        Term e = term(depth - 1);
        return b.ite(b.lt(l, r), r, e);
      }
      default: return b.page_of(l);
    }
  };
  auto bound = [&] {
    Term v = vars[pick(3)];
    Term c = lit();
    switch (pick(5)) {
      case 0: return b.le(v, c);
      case 1: return b.lt(v, c);
      case 2: return b.le(c, v);
      case 3: return b.not_(b.lt(c, v));
      default: return b.eq(v, c);
    }
  };
  std::size_t counts[3] = {0, 0, 0};
  for (int i = 0; i < 400; ++i) {
    std::vector<Term> as;
    for (std::size_t k = pick(4); k > 0; --k) as.push_back(bound());
    if (pick(3) == 0) {
      Term f1 = bound();
      as.push_back(b.or_(f1, bound()));
    }
    if (pick(3) == 0) {
      Term f1 = bound(), l = term(2);
      as.push_back(b.and_(f1, b.le(l, term(2))));
    }
    Term l = term(3);
    Term r = term(3);
    Term goal = pick(3) == 0 ? b.eq(l, r) : pick(2) ? b.le(l, r) : b.lt(l, r);
    INFO("query ", i, ": goal ", hvsl::to_string(goal));
    Verdict v = t.valid(as, goal);
    CHECK(v != Verdict::Unknown);
    ++counts[int(v)];
  }
  MESSAGE("valid " << counts[0] << ", invalid " << counts[1] << ", unknown " << counts[2] << "; pruned "
                    << t.pruned);
  CHECK(counts[0] > 40);
  CHECK(counts[1] > 40);
  CHECK(t.pruned > 40);
}

TEST_CASE("smt: Options::smtlib off leaves Outcome::smtlib empty; dump_dir still writes every query") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("hvsl_smt_nosmtlib_" + std::to_string(std::random_device{}()));
  fs::remove_all(dir);
  Options opts;
  opts.smtlib = false;
  Ctx t(Profile::vmsl(), opts);
  Term goal = t.b.le(t.x, t.b.add(t.x, t.y));
  Outcome o = t.s.check_valid({}, goal, "q");
  CHECK(o.verdict == Verdict::Valid);
  CHECK(o.smtlib.empty());
  o = t.s.check_valid({}, t.b.lt(t.x, t.b.add(t.x, t.y)), "q");  // a model, no text
  CHECK(o.verdict == Verdict::Invalid);
  CHECK(o.smtlib.empty());
  opts.dump_dir = dir.string();
  Ctx d(Profile::vmsl(), opts);
  o = d.s.check_valid({d.b.le(d.x, d.b.word(10)), d.b.le(d.y, d.b.word(10))}, goal, "dumped");
  CHECK(o.verdict == Verdict::Valid);
  CHECK(o.smtlib.empty());
  fs::path f = dir / "0001-dumped.smt2";
  REQUIRE(fs::exists(f));
  std::ifstream in(f);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str().find("(check-sat)") != std::string::npos);
  CHECK(text.str().find("1 of 1 saturating +, -, * written without their ite") != std::string::npos);
  CHECK(text.str().find("(ite ") == std::string::npos);
  fs::remove_all(dir);
}
