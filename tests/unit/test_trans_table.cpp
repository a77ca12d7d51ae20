// vmsl.md §3.1, inv_trans_pgt_consistent: every transaction state implies
// a page-table entry for each of its pages. Whole lifecycles (send,
// retrieve, relinquish, reclaim) are run and the table is checked after the
// steps that change it, and the invariant after every single step.
#include "test_util.h"

using namespace hvsl_test;
using hvsl::HvcError;
using hvsl::Hypercall;
using hvsl::Mode;
using hvsl::Op;
using hvsl::TransKind;

namespace {

// Every live transaction's pages have the entry the table gives.
void check_invariant(Sim& sim) {
  for (const auto& [h, t] : sim.state().trans) {
    if (!t) continue;
    CAPTURE(h);
    REQUIRE_FALSE((t->kind == TransKind::Donate && t->retrieved));  // "impossible" row
    for (Word base : t->pages) {
      CAPTURE(base);
      const hvsl::PageState& got = sim.state().pgt[sim.page_index(sim.machine().page_at(base)->name)];
      hvsl::PageState want = implied_entry(t->kind, t->retrieved, t->sender, t->receiver);
      INFO("got " << show(got) << ", want " << show(want));
      CHECK(got == want);
    }
  }
}

// Steps (checking the invariant after each step) up to and including the
// next hvc.
void through_next_hvc(Sim& sim) {
  for (int guard = 0; guard < 100; ++guard) {
    auto info = sim.step();
    check_invariant(sim);
    REQUIRE(info.instr.has_value());
    if (info.instr->op == Op::Hvc) return;
  }
  FAIL("no hvc within 100 steps");
}

void expect_pages(Sim& sim, const hvsl::PageState& want) {
  for (const char* p : {"a0", "b0"}) {
    CAPTURE(p);
    INFO("got " << show(sim.page(p)) << ", want " << show(want));
    CHECK(sim.page(p) == want);
  }
}

// vm0 sends a0 and b0 to vm1 and runs it; vm1 retrieves, relinquishes and
// yields; vm0 reclaims and halts.
std::string lifecycle(const std::string& fn) {
  std::string code0 = "    mov r0, " + fn + R"(
    mov r1, 6
    hvc
    mov r0, RUN
    mov r1, vm1
    hvc
    mov r0, RECLAIM
    mov r1, 0
    hvc
    halt
  )";
  std::string code1 = R"(
    mov r0, RETRIEVE
    mov r1, 0
    hvc
    mov r0, RELINQUISH
    mov r1, 0
    hvc
    mov r0, YIELD
    hvc
  )";
  return machine3(code0, code1, "halt", descriptor("tx0", "vm0", "0", "2", "vm1", {"a0", "b0"}));
}

}  // namespace

TEST_CASE("§3.1 table rows themselves") {
  CHECK(implied_entry(TransKind::Share, false, 0, 1) == entry(0, false, {0}));
  CHECK(implied_entry(TransKind::Share, true, 0, 1) == entry(0, false, {0, 1}));
  CHECK(implied_entry(TransKind::Lend, false, 0, 1) == entry(0, true, {}));
  CHECK(implied_entry(TransKind::Donate, false, 0, 1) == entry(0, true, {}));
  CHECK(implied_entry(TransKind::Lend, true, 2, 1) == entry(2, true, {1}));
}

TEST_CASE("§3.1 table through a share lifecycle") {
  Sim sim(lifecycle("SHARE"));
  const VmId sender = 0, receiver = 1;
  expect_pages(sim, entry(0, true, {0}));

  through_next_hvc(sim);  // share
  CHECK(sim.reg(0, 0) == success());
  REQUIRE(sim.trans(0).has_value());
  CHECK_FALSE(sim.trans(0)->retrieved);
  expect_pages(sim, implied_entry(TransKind::Share, false, sender, receiver));

  through_next_hvc(sim);  // run vm1
  REQUIRE(sim.current() == 1);
  through_next_hvc(sim);  // retrieve
  CHECK(sim.reg(1, 0) == success());
  REQUIRE(sim.trans(0).has_value());
  CHECK(sim.trans(0)->retrieved);
  expect_pages(sim, implied_entry(TransKind::Share, true, sender, receiver));

  through_next_hvc(sim);  // relinquish
  CHECK(sim.reg(1, 0) == success());
  REQUIRE(sim.trans(0).has_value());
  CHECK_FALSE(sim.trans(0)->retrieved);
  expect_pages(sim, implied_entry(TransKind::Share, false, sender, receiver));

  through_next_hvc(sim);  // yield
  REQUIRE(sim.current() == 0);
  through_next_hvc(sim);  // reclaim
  CHECK(sim.reg(0, 0) == success());
  CHECK_FALSE(sim.trans(0).has_value());
  expect_pages(sim, entry(0, true, {0}));  // back where it started

  sim.run();
  CHECK(sim.mode(0) == Mode::Halt);
}

TEST_CASE("§3.1 table through a lend lifecycle") {
  Sim sim(lifecycle("LEND"));
  const VmId sender = 0, receiver = 1;

  through_next_hvc(sim);  // lend
  CHECK(sim.reg(0, 0) == success());
  CHECK(sim.reg(0, 2) == 0);
  expect_pages(sim, implied_entry(TransKind::Lend, false, sender, receiver));

  through_next_hvc(sim);  // run vm1
  through_next_hvc(sim);  // retrieve
  CHECK(sim.reg(1, 0) == success());
  REQUIRE(sim.trans(0).has_value());
  CHECK(sim.trans(0)->retrieved);
  expect_pages(sim, implied_entry(TransKind::Lend, true, sender, receiver));

  through_next_hvc(sim);  // relinquish
  CHECK(sim.reg(1, 0) == success());
  REQUIRE(sim.trans(0).has_value());
  CHECK_FALSE(sim.trans(0)->retrieved);
  expect_pages(sim, implied_entry(TransKind::Lend, false, sender, receiver));

  through_next_hvc(sim);  // yield
  through_next_hvc(sim);  // reclaim
  CHECK(sim.reg(0, 0) == success());
  CHECK_FALSE(sim.trans(0).has_value());
  expect_pages(sim, entry(0, true, {0}));
}

TEST_CASE("§3.1 table through a donate lifecycle") {
  Sim sim(lifecycle("DONATE"));
  const VmId sender = 0, receiver = 1;

  through_next_hvc(sim);  // donate
  CHECK(sim.reg(0, 0) == success());
  expect_pages(sim, implied_entry(TransKind::Donate, false, sender, receiver));

  through_next_hvc(sim);  // run vm1
  through_next_hvc(sim);  // retrieve: the transaction ends, vm1 owns the pages
  CHECK(sim.reg(1, 0) == success());
  CHECK_FALSE(sim.trans(0).has_value());
  expect_pages(sim, entry(1, true, {1}));

  through_next_hvc(sim);  // relinquish: the handle is free now
  CHECK(sim.reg(1, 0) == error_code());
  CHECK(sim.reg(1, 2) == err(HvcError::InvParam));
  expect_pages(sim, entry(1, true, {1}));

  through_next_hvc(sim);  // yield
  through_next_hvc(sim);  // reclaim: nothing to reclaim
  CHECK(sim.reg(0, 0) == error_code());
  CHECK(sim.reg(0, 2) == err(HvcError::InvParam));
  expect_pages(sim, entry(1, true, {1}));
}

TEST_CASE("§3.1 table: reclaim straight after sending") {
  for (const char* fn : {"SHARE", "LEND", "DONATE"}) {
    CAPTURE(fn);
    std::string code0 = std::string("    mov r0, ") + fn + R"(
    mov r1, 5
    hvc
    mov r0, RECLAIM
    mov r1, 0
    hvc
    mov r0, )" + fn + R"(
    mov r1, 5
    hvc
    halt
  )";
    Sim sim(machine3(code0, "halt", "halt", descriptor("tx0", "vm0", "0", "1", "vm2", {"a0"})));
    through_next_hvc(sim);
    CHECK(sim.reg(0, 0) == success());
    REQUIRE(sim.trans(0).has_value());
    CHECK(sim.page("a0") == implied_entry(sim.trans(0)->kind, false, 0, 2));
    through_next_hvc(sim);  // reclaim
    CHECK(sim.reg(0, 0) == success());
    CHECK_FALSE(sim.trans(0).has_value());
    CHECK(sim.page("a0") == entry(0, true, {0}));
    through_next_hvc(sim);  // the freed handle and the page can be used again
    CHECK(sim.reg(0, 0) == success());
    CHECK(sim.reg(0, 2) == 0);
    REQUIRE(sim.trans(0).has_value());
    CHECK(sim.page("a0") == implied_entry(sim.trans(0)->kind, false, 0, 2));
  }
}

TEST_CASE("§3.1 table: declared transactions start consistent and retrieve keeps it so") {
  // Each declared state is one row of the table; vm1 then retrieves the
  // unretrieved ones (handles 0 and 1) and relinquishes the retrieved ones
  // (handles 2 and 3), and vm2 retrieves its donation (handle 4).
  const std::string extra = R"(
handles {0, 1, 2, 3, 4}
page s  at 30000 owner vm0 access {vm0}
page l  at 31000 owner vm0 exclusive
page sr at 32000 owner vm0 access {vm0, vm1}
page lr at 33000 owner vm0 exclusive access {vm1}
page d  at 34000 owner vm0 exclusive
transaction 0 share  from vm0 to vm1 pages {s}
transaction 1 lend   from vm0 to vm1 pages {l}
transaction 2 share  from vm0 to vm1 pages {sr} retrieved
transaction 3 lend   from vm0 to vm1 pages {lr} retrieved
transaction 4 donate from vm0 to vm2 pages {d}
)";
  const std::string code0 = R"(
    mov r0, RUN
    mov r1, vm1
    hvc
    mov r0, RUN
    mov r1, vm2
    hvc
    halt
  )";
  // vm1 reads each retrieve message (emptying its RX) before the next.
  const std::string code1 = R"(
    mov r0, RETRIEVE
    mov r1, 0
    hvc
    mov r0, POLL
    hvc
    mov r0, RETRIEVE
    mov r1, 1
    hvc
    mov r0, POLL
    hvc
    mov r0, RELINQUISH
    mov r1, 2
    hvc
    mov r0, RELINQUISH
    mov r1, 3
    hvc
    mov r0, YIELD
    hvc
  )";
  const std::string code2 = R"(
    mov r0, RETRIEVE
    mov r1, 4
    hvc
    mov r0, YIELD
    hvc
  )";
  Sim sim(machine3(code0, code1, code2, extra));
  check_invariant(sim);
  while (sim.interp().running()) {
    sim.step();
    check_invariant(sim);
  }
  CHECK(sim.mode(0) == Mode::Halt);
  for (Word h : {0, 1}) {
    REQUIRE(sim.trans(h).has_value());
    CHECK(sim.trans(h)->retrieved);
  }
  for (Word h : {2, 3}) {
    REQUIRE(sim.trans(h).has_value());
    CHECK_FALSE(sim.trans(h)->retrieved);
  }
  CHECK_FALSE(sim.trans(4).has_value());
  CHECK(sim.page("s") == entry(0, false, {0, 1}));
  CHECK(sim.page("l") == entry(0, true, {1}));
  CHECK(sim.page("sr") == entry(0, false, {0}));
  CHECK(sim.page("lr") == entry(0, true, {}));
  CHECK(sim.page("d") == entry(2, true, {2}));
  CHECK(sim.reg(1, 0) == hc(Hypercall::Yield));
  CHECK(sim.reg(0, 1) == 2);  // the last yield came from vm2
}
