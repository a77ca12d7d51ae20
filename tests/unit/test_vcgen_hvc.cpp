// The hvc mechanism of vcgen/: a call is dispatched on the selecting register
// to a spec from a hypercall spec file, with a case split when it is symbolic,
// and each outcome chosen by its guard.
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

// A hypercall spec file, parsed for machine `m`; it must be well-formed.
Abi abi(const Machine& m, const std::string& text) {
  Diagnostics d;
  auto a = parse_abi(SourceFile("t.abi", text), *m.profile, m.vms.size(), d);
  for (const auto& x : d.all()) INFO(render(x, nullptr));
  REQUIRE(a.has_value());
  return std::move(*a);
}

// A call with function id `id` whose single outcome sets r1 to `value`.
std::string set_r1(Word id, Word value) {
  return "hypercall SET" + std::to_string(value) + " = " + std::to_string(id) +
         " {\n outcome ok otherwise writes r1 ensures r1 == " + std::to_string(value) + "\n}\n";
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
    CHECK(verify(m, abi(m, "select r0\n" + set_r1(7, 5))).verdict == Verdict::Verified);
  // the wrong result is caught
  auto wrong = verify(m, abi(m, "select r0\n" + set_r1(7, 6)));
  CHECK(wrong.verdict == Verdict::Failed);
  CHECK(has_failure(wrong, "postcondition.false"));
  // no spec for id 7: a located failure naming the id
  auto none = verify(m, abi(m, "select r0\n" + set_r1(8, 5)));
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
    CHECK(verify(m, abi(m, "select r0\n" + set_r1(7, 5) + set_r1(8, 6))).verdict == Verdict::Verified);
  // only id 7 has a spec: the path with r0 == 8 is reported
  auto half = verify(m, abi(m, "select r0\n" + set_r1(7, 5)));
  CHECK(half.verdict == Verdict::Failed);
  CHECK(has_failure(half, "hvc.no_spec"));
  // both specs exist, but one gives a value the postcondition forbids
  auto bad = verify(m, abi(m, "select r0\n" + set_r1(7, 5) + set_r1(8, 9)));
  CHECK(has_failure(bad, "postcondition.false"));
}

TEST_CASE("hvc: an outcome applies when its guard holds") {
  Machine m = parse(kPage +
                    "vm vm0 {\n requires r1 <= 20\n ensures (old(r1) < 10 ? r2 == 0 : r2 == 1)\n"
                    " code at prog0 {\n mov r0, 3\n hvc\n halt\n }\n}\n");
    std::string good = "select r0\nhypercall CHECK = 3 {\n outcome small when r1 < 10 writes r2 ensures r2 == 0\n"
                     " outcome large when r1 >= 10 writes r2 ensures r2 == 1\n}\n";
  CHECK(verify(m, abi(m, good)).verdict == Verdict::Verified);
  // swapping the outcomes' results breaks the postcondition
  std::string bad = "select r0\nhypercall CHECK = 3 {\n outcome small when r1 < 10 writes r2 ensures r2 == 1\n"
                    " outcome large when r1 >= 10 writes r2 ensures r2 == 1\n}\n";
  CHECK(verify(m, abi(m, bad)).verdict == Verdict::Failed);
}

TEST_CASE("hvc: registers a call writes are unknown afterwards unless its postcondition says") {
  Machine m = parse(kPage + "vm vm0 {\n ensures r3 == 4\n code at prog0 {\n mov r3, 4\n mov r0, 7\n hvc\n halt\n }\n}\n");
    CHECK(verify(m, abi(m, "select r0\n" + set_r1(7, 5))).verdict == Verdict::Verified);  // r3 is not written
  std::string clobber = "select r0\nhypercall CLOBBER = 7 {\n outcome ok otherwise writes r3\n}\n";
  CHECK(verify(m, abi(m, clobber)).verdict == Verdict::Failed);
}
