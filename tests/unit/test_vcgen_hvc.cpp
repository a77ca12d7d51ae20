// The hvc mechanism of vcgen/: a call is dispatched on r0 to a spec from the
// table, with a case split when r0 is symbolic, and each outcome selected by
// the pure facts of its precondition. (Spec files fill the table later; here
// the table is built in C++.)
#include <doctest/doctest.h>

#include "frontend/parser.h"
#include "vcgen/verifier.h"

using namespace hvsl;

namespace {

Machine parse(const std::string& text) {
  Diagnostics d;
  auto m = parse_machine(SourceFile("t.hvsl", text), d);
  REQUIRE(m.has_value());
  return std::move(*m);
}

AssertionPtr pure(Term t) {
  auto a = std::make_shared<Assertion>();
  a->kind = Assertion::Kind::Pure;
  a->cond = std::move(t);
  return a;
}

// A call with function id `id` whose single outcome sets r1 to `value`.
HvcSpec set_r1(const TermBuilder& tb, Word id, Word value) {
  HvcOutcome ok{"ok", pure(tb.boolean(true)), pure(tb.eq(tb.var("r1", Sort::Word), tb.word(value))), {1}};
  return HvcSpec{"SET" + std::to_string(value), id, {ok}};
}

BlockResult verify(const Machine& m, const HvcSpecTable& table) {
  VerifyOptions opts;
  auto blocks = verify_machine(m, table, opts);
  REQUIRE(blocks.size() == 1);
  return blocks[0];
}

bool has_failure(const BlockResult& b, const std::string& id) {
  for (const auto& f : b.failures)
    if (f.id == id) return true;
  return false;
}

const std::string kPage = "page prog0 at 1000 owner vm0 exclusive access {vm0}\n";

}  // namespace

TEST_CASE("hvc: the spec chosen by a literal r0 decides the result") {
  Machine m = parse(kPage + "vm vm0 {\n ensures r1 == 5\n code at prog0 {\n mov r0, 7\n hvc\n halt\n }\n}\n");
  TermBuilder tb(*m.profile);
  CHECK(verify(m, {set_r1(tb, 7, 5)}).verdict == Verdict::Verified);
  // the wrong result is caught
  auto wrong = verify(m, {set_r1(tb, 7, 6)});
  CHECK(wrong.verdict == Verdict::Failed);
  CHECK(has_failure(wrong, "postcondition.false"));
  // no spec for id 7: a located failure naming the id
  auto none = verify(m, {set_r1(tb, 8, 5)});
  CHECK(none.verdict == Verdict::Failed);
  REQUIRE(has_failure(none, "hvc.no_spec"));
  for (const auto& f : none.failures)
    if (f.id == "hvc.no_spec") {
      CHECK(f.message.find("r0 = 7") != std::string::npos);
      CHECK(f.loc.line == 6);
    }
}

TEST_CASE("hvc: a symbolic r0 splits over every spec and the ids without one") {
  Machine m = parse(kPage +
                    "vm vm0 {\n requires r0 == 7 || r0 == 8\n ensures r1 == 5 || r1 == 6\n"
                    " code at prog0 {\n hvc\n halt\n }\n}\n");
  TermBuilder tb(*m.profile);
  CHECK(verify(m, {set_r1(tb, 7, 5), set_r1(tb, 8, 6)}).verdict == Verdict::Verified);
  // only id 7 has a spec: the path with r0 == 8 is reported
  auto half = verify(m, {set_r1(tb, 7, 5)});
  CHECK(half.verdict == Verdict::Failed);
  CHECK(has_failure(half, "hvc.no_spec"));
  // both specs exist, but one gives a value the postcondition forbids
  auto bad = verify(m, {set_r1(tb, 7, 5), set_r1(tb, 8, 9)});
  CHECK(has_failure(bad, "postcondition.false"));
}

TEST_CASE("hvc: an outcome applies when the pure facts of its precondition hold") {
  Machine m = parse(kPage +
                    "vm vm0 {\n requires r1 <= 20\n ensures (old(r1) < 10 ? r2 == 0 : r2 == 1)\n"
                    " code at prog0 {\n mov r0, 3\n hvc\n halt\n }\n}\n");
  TermBuilder tb(*m.profile);
  Term r1 = tb.var("r1", Sort::Word), r2 = tb.var("r2", Sort::Word);
  HvcOutcome small{"small", pure(tb.lt(r1, tb.word(10))), pure(tb.eq(r2, tb.word(0))), {2}};
  HvcOutcome large{"large", pure(tb.le(tb.word(10), r1)), pure(tb.eq(r2, tb.word(1))), {2}};
  CHECK(verify(m, {HvcSpec{"CHECK", 3, {small, large}}}).verdict == Verdict::Verified);
  // swapping the outcomes' results breaks the postcondition
  HvcOutcome small_bad{"small", pure(tb.lt(r1, tb.word(10))), pure(tb.eq(r2, tb.word(1))), {2}};
  CHECK(verify(m, {HvcSpec{"CHECK", 3, {small_bad, large}}}).verdict == Verdict::Failed);
}

TEST_CASE("hvc: registers a call writes are unknown afterwards unless its postcondition says") {
  Machine m = parse(kPage + "vm vm0 {\n ensures r3 == 4\n code at prog0 {\n mov r3, 4\n mov r0, 7\n hvc\n halt\n }\n}\n");
  TermBuilder tb(*m.profile);
  CHECK(verify(m, {set_r1(tb, 7, 5)}).verdict == Verdict::Verified);  // r3 is not written
  HvcOutcome clobber{"ok", pure(tb.boolean(true)), pure(tb.boolean(true)), {3}};
  CHECK(verify(m, {HvcSpec{"CLOBBER", 7, {clobber}}}).verdict == Verdict::Failed);
}
