// The conformance checker can fail: deliberately wrong versions of
// specs/ffa.hvsl (each one small edit of the real file's text) must be
// reported, at the call and for the reason the edit breaks. Also the
// extensions of logic/assertion_eval the checker needs ('if' bindings, the
// {?x} pattern, the matched chunks).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "conformance.h"
#include "frontend/diagnostics.h"
#include "frontend/parser.h"
#include "frontend/source.h"
#include "logic/assertion_eval.h"

#ifndef HVSL_SPECS_DIR
#define HVSL_SPECS_DIR "specs"
#endif

namespace {

std::string spec_text() {
  std::ifstream in(std::string(HVSL_SPECS_DIR) + "/ffa.hvsl");
  REQUIRE(in.good());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Replaces `count` occurrences of `from` (all of them: 0) and requires at
// least one, so that a mutant notices when the spec file changes under it.
std::string edit(std::string text, const std::string& from, const std::string& to, int count = 0) {
  int done = 0;
  for (std::size_t at = text.find(from); at != std::string::npos && (count == 0 || done < count);
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
    ++done;
  }
  INFO("the spec text no longer contains: " << from);
  REQUIRE(done > 0);
  return text;
}

struct Found {
  conformance::StepReport report;
  std::uint64_t cases = 0;
  bool found = false;
};

// Runs cases until the first disagreement.
Found first_disagreement(const std::string& text, std::uint64_t cases = 20000) {
  Found f;
  auto st = conformance::run(text, 4242, cases, [&](const conformance::StepReport& r, const conformance::Case&) {
    f.report = r;
    f.found = true;
    return false;
  });
  f.cases = st.cases;
  return f;
}

bool mentions(const conformance::StepReport& r, const std::string& what) {
  for (const auto& f : r.failures)
    if (f.find(what) != std::string::npos) return true;
  return false;
}

void expect_caught(const std::string& text, const std::string& call, const std::string& outcome,
                   const std::string& failure) {
  auto f = first_disagreement(text);
  REQUIRE_MESSAGE(f.found, "no disagreement in " << f.cases << " cases");
  std::string all;
  for (const auto& x : f.report.failures) all += "\n  " + x;
  INFO("caught after " << f.cases << " cases: " << f.report.call << " / " << f.report.outcome << all);
  MESSAGE("caught after " << f.cases << " cases: " << f.report.call << " / " << f.report.outcome << ": "
                          << (f.report.failures.empty() ? "" : f.report.failures[0]));
  CHECK(f.report.call == call);
  if (!outcome.empty()) CHECK(f.report.outcome == outcome);
  CHECK(mentions(f.report, failure));
}

}  // namespace

TEST_CASE("the real spec file conforms (a short run)") {
  auto f = first_disagreement(spec_text(), 2000);
  std::string all;
  for (const auto& x : f.report.failures) all += "\n  " + x;
  INFO(f.report.call << " / " << f.report.outcome << all << "\n" << f.report.details);
  CHECK(!f.found);
}

TEST_CASE("wrong specs are reported") {
  const std::string spec = spec_text();

  SUBCASE("RELINQUISH that forgets to revoke the caller's access") {
    auto t = edit(spec, "ensures r0 == SUCCESS &*& retrieved(r1) |-> false &*& access(caller) |-> acc minus ps",
                  "ensures r0 == SUCCESS &*& retrieved(r1) |-> false");
    expect_caught(t, "RELINQUISH", "ok", "the ensures of 'ok' fails");
  }
  SUBCASE("SHARE that forgets that the page is no longer exclusive") {
    auto t = edit(spec, "ensures r0 == SUCCESS &*& excl(pg) |-> false", "ensures r0 == SUCCESS");
    expect_caught(t, "SHARE", "ok", "excl(pg)");
  }
  SUBCASE("RETRIEVE whose BUSY guard overlaps DENIED") {
    auto t = edit(spec, "outcome busy when rcv == caller && !done && full", "outcome busy when rcv == caller && full");
    expect_caught(t, "RETRIEVE", "denied", "2 outcomes' guards hold: denied, busy");
  }
  SUBCASE("RUN whose INV_PARAM guard misses r1 == VM_COUNT") {
    auto t = edit(spec, "outcome inv_param when caller == 0 && r1 >= VM_COUNT",
                  "outcome inv_param when caller == 0 && r1 > VM_COUNT");
    expect_caught(t, "RUN", "scheduled", "switches to");
  }
  SUBCASE("POLL whose outcomes miss an empty RX of the primary") {
    auto t = edit(spec, "  outcome denied otherwise writes r0, r2 ensures r0 == ERROR &*& r2 == DENIED\n}",
                  "  outcome denied when !full && caller != 0 writes r0, r2 ensures r0 == ERROR &*& r2 == DENIED\n}");
    expect_caught(t, "POLL", "", "no outcome's guard holds");
  }
  SUBCASE("SHARE whose DENIED guard needs the page of a descriptor that is not there") {
    auto t = edit(spec, "outcome denied when !bad && refused", "outcome denied when refused", 1);
    expect_caught(t, "SHARE", "", "the guard of outcome 'denied' cannot be decided");
  }
  SUBCASE("WAIT that does not say it writes r2") {
    auto t = edit(spec, "outcome got when full writes r0, r1, r2", "outcome got when full writes r0, r1", 1);
    expect_caught(t, "WAIT", "got", "r2 is not in the writes of 'got'");
  }
  SUBCASE("YIELD by a secondary without the switch to the primary") {
    auto t = edit(spec, "  outcome scheduled otherwise switch to 0\n}\n\n// ---- messages",
                  "  outcome scheduled otherwise\n}\n\n// ---- messages");
    expect_caught(t, "YIELD", "scheduled", "does not switch VMs");
  }
  SUBCASE("SEND whose footprint leaves out the receiver's first RX word") {
    auto t = edit(spec, "if (r2 >= 1) { mem[t] |->[_] ?w0 &*& mem[rp] |-> _ }", "if (r2 >= 1) { mem[t] |->[_] ?w0 }");
    t = edit(t, "&*& if (r2 >= 1) { mem[rp] |-> w0 } ", "");
    expect_caught(t, "SEND", "", "but the footprint of SEND does not take it");
  }
  SUBCASE("RETRIEVE that only reads the caller's access set but changes it") {
    auto t = edit(spec, "retrieved(r1) |-> ?done\n    &*& access(caller) |-> ?acc &*& rx(caller)",
                  "retrieved(r1) |-> ?done\n    &*& access(caller) |->[_] ?acc &*& rx(caller)");
    expect_caught(t, "RETRIEVE", "", "which the requires does not take (it only reads it: [_])");
  }
}

TEST_CASE("assertion_eval: 'if' bindings, {?x} and the matched chunks") {
  const char* text = R"(
select r0
hypercall RELINQUISH {
  requires trans(r1) |->[_] (?snd, ?rcv, {?pg}, ?kind)
    &*& if (kind == SHARING) { excl(pg) |-> ?e } else { owner(pg) |-> ?o }
  outcome a when kind == SHARING && e
  outcome b otherwise
}
)";
  conformance::AbiCache abis(text, "t.hvsl");
  const auto* abi = abis.get(hvsl::Profile::vmsl(), 2);
  INFO(abis.errors());
  REQUIRE(abi != nullptr);
  const auto& req = abi->calls.at(0).requires_;

  hvsl::Machine m;
  m.vms.resize(2);
  m.pages.push_back({"a", 1000, 0, true, 1, {}});
  m.pages.push_back({"b", 2000, 0, false, 1, {}});
  hvsl::State s;
  s.machine = &m;
  s.vms.resize(2);
  s.pgt = {{0, true, 1}, {0, false, 1}};
  s.mem.assign(2000, 0);
  s.trans[7] = hvsl::Transaction{0, 1, {2000}, hvsl::TransKind::Share, false};
  s.vms[1].regs[1] = 7;
  const hvsl::Env given = {{"caller", hvsl::Value{hvsl::Sort::Word, 1, {}}}};
  hvsl::AssertionEvalOptions opts;
  opts.export_if_bindings = true;

  auto r = hvsl::eval_assertion(req, s, 1, s.vms[1].regs, given, opts);
  REQUIRE(r.truth == hvsl::Truth::Holds);
  CHECK(r.bindings.at("pg").word == 2000);
  CHECK(r.bindings.at("e").word == 0);  // bound in the 'if' branch
  CHECK(!r.bindings.count("o"));        // the branch not taken
  REQUIRE(r.chunks.size() == 2);
  CHECK(r.chunks[0].resource == "trans");
  CHECK(r.chunks[0].read_only);
  CHECK(r.chunks[1].resource == "excl");
  CHECK(r.chunks[1].keys.at(0).word == 2000);
  CHECK(!r.chunks[1].read_only);

  auto plain = hvsl::eval_assertion(req, s, 1, s.vms[1].regs, given);  // VM specs: names stay in the branch
  CHECK(plain.truth == hvsl::Truth::Holds);
  CHECK(!plain.bindings.count("e"));

  s.trans[7]->pages = {1000, 2000};
  auto two = hvsl::eval_assertion(req, s, 1, s.vms[1].regs, given, opts);
  CHECK(two.truth == hvsl::Truth::Fails);
  CHECK(two.reason.find("not one element") != std::string::npos);
}
