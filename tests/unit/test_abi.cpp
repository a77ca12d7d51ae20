// Hypercall spec files: the bundled FF-A file parses and passes the outcome
// checks for both profiles; the give-back rule; the checks find overlaps
// and gaps.
#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "frontend/parser.h"
#include "vcgen/abi_check.h"

using namespace hvsl;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Machine machine(const std::string& profile) {
  Diagnostics d;
  std::string text = "profile " + profile + "\npage prog0 at " + (profile == "arm64" ? "4096" : "1000") +
                     " owner vm0 exclusive access {vm0}\nvm vm0 { code at prog0 { halt } }\nvm vm1 { }\n";
  auto m = parse_machine(SourceFile("m.hvsl", text), d);
  REQUIRE(m.has_value());
  return std::move(*m);
}

std::optional<Abi> abi(const Machine& m, const std::string& text, Diagnostics& d) {
  return parse_abi(SourceFile("t.abi", text), *m.profile, m.vms.size(), d);
}

std::vector<AbiProblem> check(const Machine& m, const Abi& a) {
  smt::Solver solver(*m.profile, smt::Options{});
  return check_abi(a, *m.profile, m.vms.size(), solver);
}

}  // namespace

TEST_CASE("specs/ffa.hvsl parses and its outcomes are disjoint and exhaustive, in both profiles") {
  std::string text = read(std::string(HVSL_SOURCE_DIR) + "/specs/ffa.hvsl");
  REQUIRE(!text.empty());
  for (const char* profile : {"vmsl", "arm64"}) {
    CAPTURE(profile);
    Machine m = machine(profile);
    Diagnostics d;
    auto a = abi(m, text, d);
    for (const auto& x : d.all()) INFO(render(x, nullptr));
    REQUIRE(a.has_value());
    CHECK(a->calls.size() == 11);  // all of VMSL's hypercalls
    auto problems = check(m, *a);
    for (const auto& p : problems) INFO(p.message);
    CHECK(problems.empty());
  }
}

TEST_CASE("an outcome gives back the footprint it does not mention") {
  Machine m = machine("vmsl");
  Diagnostics d;
  auto a = abi(m, "select r0\nhypercall YIELD {\n requires mem[r1] |-> ?v &*& mem[r2] |-> ?w\n"
                  " outcome same when v == 0\n outcome set otherwise ensures mem[r1] |-> 7\n}\n", d);
  REQUIRE(a.has_value());
  const auto& outs = a->calls[0].outcomes;
  REQUIRE(outs.size() == 2);
  // "same" gives back both words; "set" gives back only the one it does not set
  auto count_chunks = [](const AssertionPtr& x) {
    std::function<int(const AssertionPtr&)> n = [&](const AssertionPtr& y) -> int {
      if (y->kind == Assertion::Kind::Chunk) return 1;
      int s = 0;
      if (y->kind == Assertion::Kind::Sep)
        for (const auto& p : y->parts) s += n(p);
      return s;
    };
    return n(x);
  };
  CHECK(count_chunks(outs[0].ensures) == 2);
  CHECK(count_chunks(outs[1].ensures) == 2);  // the new mem[r1] and the given-back mem[r2]
}

TEST_CASE("the outcome checks find an overlap and a gap, and accept 'otherwise'") {
  Machine m = machine("vmsl");
  Diagnostics d;
  auto overlap = abi(m, "select r0\nhypercall YIELD {\n outcome a when r1 < 5\n outcome b when r1 > 3\n}\n", d);
  REQUIRE(overlap.has_value());
  auto p1 = check(m, *overlap);
  CHECK(p1.size() == 1);
  CHECK(p1.at(0).message.find("overlap") != std::string::npos);
  auto gap = abi(m, "select r0\nhypercall YIELD {\n outcome a when r1 < 5\n outcome b when r1 > 5\n}\n", d);
  REQUIRE(gap.has_value());
  auto p2 = check(m, *gap);
  CHECK(p2.size() == 1);
  CHECK(p2.at(0).message.find("r1 = 5") != std::string::npos);
  auto fine = abi(m, "select r0\nhypercall YIELD {\n outcome a when r1 < 5\n outcome b otherwise\n}\n", d);
  REQUIRE(fine.has_value());
  CHECK(check(m, *fine).empty());
}

TEST_CASE("a spec file's facts narrow the coverage check") {
  Machine m = machine("vmsl");
  Diagnostics d;
  // r1 <= 3 is a precondition of the call, so r1 > 5 never needs an outcome
  auto a = abi(m, "select r0\nhypercall YIELD {\n requires r1 <= 3\n outcome a when r1 < 2\n"
                  " outcome b when r1 >= 2 && r1 <= 3\n}\n", d);
  REQUIRE(a.has_value());
  CHECK(check(m, *a).empty());
}
