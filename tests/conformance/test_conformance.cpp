// The conformance checker can fail: deliberately wrong versions of
// specs/ffa.hvsl and specs/nova.hvsl (each one small edit of the real file's
// text) must be reported, at the call and for the reason the edit breaks; so must wrong
// invariants ('invariant A implies e'), on well-formed states before a call
// and, when those are only skipped, on the states after one. Also the
// extensions of logic/assertion_eval the checker needs ('if' bindings, the
// {?x} pattern, the matched chunks), and the invariant matcher against
// assertion_eval.
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

std::string spec_text(const std::string& file = "ffa.hvsl") {
  std::ifstream in(std::string(HVSL_SPECS_DIR) + "/" + file);
  REQUIRE(in.good());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string nova_spec_text() { return spec_text("nova.hvsl"); }

conformance::RunOptions nova_run() {
  conformance::RunOptions o;
  o.abi = hvsl::AbiKind::Nova;
  return o;
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
Found first_disagreement(const std::string& text, std::uint64_t cases = 20000,
                         const conformance::RunOptions& opts = {}) {
  Found f;
  auto st = conformance::run(
      text, 4242, cases,
      [&](const conformance::StepReport& r, const conformance::Case&) {
        f.report = r;
        f.found = true;
        return false;
      },
      opts);
  f.cases = st.cases;
  return f;
}

bool mentions(const conformance::StepReport& r, const std::string& what) {
  for (const auto& f : r.failures)
    if (f.find(what) != std::string::npos) return true;
  return false;
}

void expect_caught(const std::string& text, const std::string& call, const std::string& outcome,
                   const std::string& failure, const conformance::RunOptions& opts = {}) {
  auto f = first_disagreement(text, 20000, opts);
  REQUIRE_MESSAGE(f.found, "no disagreement in " << f.cases << " cases");
  std::string all;
  for (const auto& x : f.report.failures) all += "\n  " + x;
  INFO("caught after " << f.cases << " cases: " << f.report.call << " / " << f.report.outcome << all);
  MESSAGE("caught after " << f.cases << " cases: " << f.report.call << " / " << f.report.outcome << ": "
                          << (f.report.failures.empty() ? "" : f.report.failures[0]));
  if (!call.empty()) CHECK(f.report.call == call);
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

TEST_CASE("the real NOVA spec file conforms (a short run)") {
  auto f = first_disagreement(nova_spec_text(), 2000, nova_run());
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

// specs/nova.hvsl on 'abi nova' machines (generate_nova.cpp).
TEST_CASE("wrong NOVA specs are reported") {
  const std::string spec = nova_spec_text();
  const auto nova = nova_run();

  SUBCASE("IPC_CALL that forgets the PT_CALL permission") {
    auto t = edit(spec, "if (kind == CAP_PT && perms / 2 % 2 == 1) {", "if (kind == CAP_PT) {", 1);
    t = edit(t, "let bad = kind != CAP_PT || perms / 2 % 2 == 0", "let bad = kind != CAP_PT", 1);
    expect_caught(t, "IPC_CALL", "", "the ensures of '", nova);
  }
  SUBCASE("CTRL_SM up that does not check OVRFLOW") {
    auto t = edit(
        spec, "  outcome overflow when !bad && !down && q == 0 && n == WORD_MAX writes r0 ensures r0 == OVRFLOW\n", "");
    t = edit(t, "outcome up when !bad && !down && q == 0 && n < WORD_MAX", "outcome up when !bad && !down && q == 0");
    expect_caught(t, "CTRL_SM", "up", "the ensures of 'up' fails", nova);
  }
  SUBCASE("CTRL_SM release that forgets the queue shrinks") {
    auto t = edit(spec, "ensures r0 == SUCCESS &*& sm(s) |-> (n, q - 1)", "ensures r0 == SUCCESS");
    expect_caught(t, "CTRL_SM", "release", "the ensures of 'release' fails", nova);
  }
  SUBCASE("CREATE_SM whose new semaphore starts at 0, not at the count in r2") {
    auto t = edit(spec, "sm(ns) |-> (old(r2), 0)", "sm(ns) |-> (0, 0)");
    expect_caught(t, "CREATE_SM", "created", "the ensures of 'created' fails", nova);
  }
  SUBCASE("IPC_REPLY without the switch to the caller it replies to") {
    auto t =
        edit(spec, "outcome replied otherwise writes r0, r1 switch to back", "outcome replied otherwise writes r0, r1");
    expect_caught(t, "IPC_REPLY", "replied", "does not switch VMs", nova);
  }
  SUBCASE("CTRL_PT that only reads the portal it changes") {
    auto t = edit(spec, "if (k == CAP_PT && p % 2 == 1) { portal(o) |-> (?e, ?id) }",
                  "if (k == CAP_PT && p % 2 == 1) { portal(o) |->[_] (?e, ?id) }");
    expect_caught(t, "CTRL_PT", "ok", "which the requires does not take (it only reads it: [_])", nova);
  }
}

// A wrong invariant breaks on the well-formed states the generator makes
// (VMSL §3.1's consistency): reported on the state before the first one.
// With those only skipped (RunOptions::well_formed_findings off, as for the
// deliberately inconsistent ones), it is reported on the state after a call
// that makes a state it matches from one it does not.
TEST_CASE("wrong invariants are reported") {
  const std::string spec = spec_text();
  conformance::RunOptions lenient;
  lenient.well_formed_findings = false;

  SUBCASE("a shared page is exclusive (SHARING and LENDING swapped)") {
    auto t = edit(spec, "excl(p) |->[_] ?e implies e == (k != SHARING)", "excl(p) |->[_] ?e implies e == (k == SHARING)");
    expect_caught(t, "", "", "a state the generator made well-formed breaks the invariant at ffa.hvsl:");
    auto f = first_disagreement(t, 20000, lenient);
    REQUIRE(f.found);
    INFO(f.report.failures.at(0));
    MESSAGE("lenient: caught after " << f.cases << " cases: " << f.report.call << " / " << f.report.outcome << ": "
                                     << f.report.failures.at(0));
    CHECK((f.report.call == "SHARE" || f.report.call == "LEND" || f.report.call == "DONATE"));
    CHECK(f.report.outcome == "ok");
    CHECK(mentions(f.report, "does not keep the invariant at ffa.hvsl:"));
    CHECK(mentions(f.report, "excl(p) |->[_] e implies e == (k == "));
    // most well-formed states with a one-page transaction break it: skipped
    auto st = conformance::run(t, 4242, 2000, [](const auto&, const auto&) { return true; }, lenient);
    MESSAGE("lenient, 2000 cases: " << st.well_formed_broken << " of " << st.well_formed
                                    << " well-formed states break it; " << st.disagreements << " disagreements");
    CHECK(st.well_formed_broken * 2 > st.well_formed);
    CHECK(st.disagreements > 0);
  }
  SUBCASE("a retrieved lending cannot be (LENDING for DONATION)") {
    auto t = edit(spec, "implies !(re && k == DONATION)", "implies !(re && k == LENDING)");
    expect_caught(t, "", "", "a state the generator made well-formed breaks the invariant at ffa.hvsl:");
    expect_caught(t, "RETRIEVE", "ok", "does not keep the invariant at ffa.hvsl:", lenient);
  }
}

TEST_CASE("invariants: matching on a hand-made state, and against assertion_eval") {
  conformance::AbiCache abis(spec_text());
  const auto* abi = abis.get(hvsl::Profile::vmsl(), 2);
  INFO(abis.errors());
  REQUIRE(abi != nullptr);
  REQUIRE(abi->facts.size() == 6);

  // vm0 shares page 1000 with vm1 (handle 7; handle 8 free); page 2000 is vm1's
  hvsl::Machine m;
  m.profile = &hvsl::Profile::vmsl();
  m.vms.resize(2);
  m.pages.push_back({"a", 1000, 0, false, 1, {}});
  m.pages.push_back({"b", 2000, 1, true, 2, {}});
  hvsl::State s;
  s.machine = &m;
  s.vms.resize(2);
  s.pgt = {{0, false, 1}, {1, true, 2}};
  s.mem.assign(2000, 0);
  s.trans[7] = hvsl::Transaction{0, 1, {1000}, hvsl::TransKind::Share, false};
  s.trans[8] = std::nullopt;
  auto fc = conformance::check_facts(*abi, s);
  CHECK(fc.broken.empty());
  CHECK(fc.matches == std::vector<std::uint64_t>{1, 1, 1, 1, 1, 1});

  s.pgt[0].exclusive = true;  // not what a share implies
  fc = conformance::check_facts(*abi, s);
  REQUIRE(fc.broken.size() == 1);
  CHECK(conformance::fact_loc(abi->facts[fc.broken[0].fact]) == "ffa.hvsl:217");
  CHECK(!fc.broken[0].undecided);
  CHECK(fc.broken[0].how.find("e = true") != std::string::npos);
  CHECK(fc.broken[0].how.find("is false") != std::string::npos);

  s.pgt[0].exclusive = false;
  s.pgt[0].owner = std::nullopt;  // a hypervisor page: owner(p) has no value
  fc = conformance::check_facts(*abi, s);
  REQUIRE(fc.broken.size() == 1);
  CHECK(fc.broken[0].undecided);
  s.pgt[0].owner = 0;

  s.trans[7]->pages = {1000, 2000};  // {?p} does not match: the page facts do not apply
  fc = conformance::check_facts(*abi, s);
  CHECK(fc.broken.empty());
  CHECK(fc.matches == std::vector<std::uint64_t>{1, 1, 0, 0, 0, 1});

  // the native matcher and assertion_eval agree on generated states
  // (well-formed and deliberately inconsistent ones)
  conformance::Generator gen(99);
  std::uint64_t broken = 0, matches = 0;
  for (int k = 0; k < 3000; ++k) {
    auto c = gen.next();
    const auto* a = abis.get(c.state.profile(), c.machine->vms.size());
    REQUIRE(a != nullptr);
    auto x = conformance::check_facts(*a, c.state);
    auto y = conformance::check_facts(*a, c.state, conformance::FactEval::AssertionEval);
    INFO("case " << k << "\n" << conformance::describe(c.state));
    CHECK(x.matches == y.matches);
    REQUIRE(x.broken.size() == y.broken.size());
    for (std::size_t i = 0; i < x.broken.size(); ++i) {
      CHECK(x.broken[i].fact == y.broken[i].fact);
      CHECK(x.broken[i].undecided == y.broken[i].undecided);
      if (!x.broken[i].undecided) CHECK(x.broken[i].how == y.broken[i].how);
    }
    broken += x.broken.size();
    for (auto n : x.matches) matches += n;
  }
  MESSAGE("3000 generated states: " << matches << " matches, " << broken << " broken");
  CHECK(broken > 100);
}

TEST_CASE("invariants: the NOVA matcher against assertion_eval") {
  conformance::AbiCache abis(nova_spec_text(), "nova.hvsl", hvsl::AbiKind::Nova);
  conformance::Generator gen(99, hvsl::AbiKind::Nova);
  std::uint64_t matches = 0;
  for (int k = 0; k < 3000; ++k) {
    auto c = gen.next();
    const auto* a = abis.get(c.state.profile(), c.machine->vms.size());
    INFO(abis.errors());
    REQUIRE(a != nullptr);
    REQUIRE(a->facts.size() == 3);
    auto x = conformance::check_facts(*a, c.state);
    auto y = conformance::check_facts(*a, c.state, conformance::FactEval::AssertionEval);
    INFO("case " << k << "\n" << conformance::describe(c.state));
    CHECK(x.matches == y.matches);
    CHECK(x.broken.size() == y.broken.size());
    CHECK(x.broken.empty());  // the generator's states keep them all
    for (auto n : x.matches) matches += n;
  }
  MESSAGE("3000 generated NOVA states: " << matches << " matches");
  CHECK(matches > 3000);
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
