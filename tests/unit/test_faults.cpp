// Fetch failures (FailI) and data faults (FailPageFaultI), vmsl.md §1.4,
// §1.5 and the ldr/str rows of §2.
#include "test_util.h"

using namespace hvsl_test;
using hvsl::Instr;
using hvsl::Mode;
using hvsl::Op;

namespace {

std::string prog(const std::string& code, const std::string& items0 = "", const std::string& extra = "") {
  return machine3(code, "halt", "halt", extra, items0);
}

// Runs vm0 until it stops; checks that the last step failed the fetch at
// `at` and changed nothing but vm0's mode.
void expect_fetch_failure(Sim& sim, Word at) {
  hvsl::StepInfo last;
  hvsl::State before = sim.state();
  while (sim.interp().running()) {
    before = sim.state();
    last = sim.step();
  }
  CHECK(sim.mode(0) == Mode::Fail);
  CHECK(sim.pc(0) == at);
  CHECK(last.pc == at);
  CHECK_FALSE(last.instr.has_value());
  CHECK(same_except_modes(before, sim.state()));
}

}  // namespace

TEST_CASE("fetch failures end in FailI") {
  SUBCASE("pc in a page the VM cannot access") {
    Sim sim(prog("    mov r1, noacc\n    br r1\n    nop\n    halt"));
    // The word there is a valid instruction, so only the access check fails.
    sim.mem(9000) = sim.encoding_of(Instr{Op::Nop});
    expect_fetch_failure(sim, 9000);
  }
  SUBCASE("pc in another VM's page") {
    Sim sim(prog("    mov r1, prog1\n    br r1\n    halt"));
    expect_fetch_failure(sim, 2000);
  }
  SUBCASE("pc in the VM's own TX page, even with access") {
    Sim sim(prog("    mov r1, tx0\n    br r1\n    nop\n    halt"));
    REQUIRE(hvsl::contains(sim.page("tx0").access, 0));
    sim.mem(10000) = sim.encoding_of(Instr{Op::Nop});
    expect_fetch_failure(sim, 10000);
  }
  SUBCASE("control: the same word in the VM's own RX page is fetched") {
    Sim sim(prog("    mov r1, rx0\n    br r1\n    nop\n    halt"));
    sim.mem(11000) = sim.encoding_of(Instr{Op::Nop});
    sim.steps(3);
    CHECK(sim.mode(0) == Mode::Exec);
    CHECK(sim.pc(0) == 11001);
  }
  SUBCASE("pc in no declared page") {
    Sim sim(prog("    mov r1, 500000\n    br r1\n    halt"));
    expect_fetch_failure(sim, 500000);
  }
  SUBCASE("a data word that does not decode") {
    Sim sim(prog("    mov r1, a0 + 3\n    br r1\n    halt", "", "word a0 + 3 = 5"));
    expect_fetch_failure(sim, 4003);
  }
  SUBCASE("running off the end of the program (word 0 does not decode)") {
    Sim sim(prog("    nop\n    nop"));
    expect_fetch_failure(sim, 1002);
  }
  SUBCASE("words just outside the instruction table do not decode") {
    Sim sim(prog("    mov r1, a0\n    br r1\n    halt"));
    Word base = sim.machine().encoding.base();
    Word size = sim.machine().encoding.size();
    SUBCASE("below") { sim.mem(4000) = base - 1; }
    SUBCASE("above") { sim.mem(4000) = base + size; }
    expect_fetch_failure(sim, 4000);
  }
}

TEST_CASE("data faults end in FailPageFaultI with the state unchanged") {
  struct Case {
    const char* what;
    const char* code;
  };
  // Each program faults on its last instruction before halt.
  const Case cases[] = {
      {"ldr without access", "    mov r2, noacc + 1\n    ldr r1, r2\n    halt"},
      {"str without access", "    mov r2, noacc + 1\n    str r1, r2\n    halt"},
      {"ldr from another VM's page", "    mov r2, a1\n    ldr r1, r2\n    halt"},
      {"str to another VM's page", "    mov r2, a1\n    str r1, r2\n    halt"},
      {"ldr from another VM's TX page", "    mov r2, tx1\n    ldr r1, r2\n    halt"},
      {"ldr from the own TX page", "    mov r2, tx0 + 2\n    ldr r1, r2\n    halt"},
      {"str to the own RX page", "    mov r2, rx0 + 2\n    str r1, r2\n    halt"},
      {"ldr from no declared page", "    mov r2, 500000\n    ldr r1, r2\n    halt"},
      {"str to no declared page", "    mov r2, 500000\n    str r1, r2\n    halt"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    Sim sim(prog(c.code, "reg r1 = 123", "word tx0 + 2 = 9\nword rx0 + 2 = 8\nword noacc + 1 = 7"));
    REQUIRE(hvsl::contains(sim.page("tx0").access, 0));
    REQUIRE(hvsl::contains(sim.page("rx0").access, 0));
    sim.step();
    hvsl::State before = sim.state();
    auto info = sim.step();
    REQUIRE(info.instr.has_value());
    CHECK(sim.mode(0) == Mode::FailPageFault);
    CHECK(sim.pc(0) == 1001);  // not advanced
    CHECK(sim.reg(0, 1) == 123);
    CHECK(same_except_modes(before, sim.state()));
    CHECK_FALSE(sim.interp().running());
  }
}

TEST_CASE("ldr from the own RX page and str to the own TX page are allowed") {
  SUBCASE("ldr from RX") {
    Sim sim(prog("    mov r2, rx0 + 4\n    ldr r1, r2\n    halt", "", "word rx0 + 4 = 55"));
    sim.run();
    CHECK(sim.mode(0) == Mode::Halt);
    CHECK(sim.reg(0, 1) == 55);
  }
  SUBCASE("str to TX") {
    Sim sim(prog("    mov r1, 66\n    mov r2, tx0 + 3\n    str r1, r2\n    halt"));
    sim.run();
    CHECK(sim.mode(0) == Mode::Halt);
    CHECK(sim.mem(10003) == 66);
  }
  SUBCASE("access checks exposed by the interpreter") {
    Sim sim(prog("    halt"));
    auto& in = sim.interp();
    CHECK(in.can_read(0, 11000));
    CHECK_FALSE(in.can_write(0, 11000));
    CHECK_FALSE(in.can_read(0, 10000));
    CHECK(in.can_write(0, 10000));
    CHECK(in.can_read(0, 4999));
    CHECK(in.can_write(0, 4999));
    CHECK_FALSE(in.can_read(0, 9000));
    CHECK_FALSE(in.can_write(0, 9000));
    CHECK_FALSE(in.can_read(1, 4000));
    CHECK(in.can_read(1, 7000));
    // vm1 may read vm0's TX page if it had access; here it has none.
    CHECK_FALSE(in.can_read(1, 10000));
    CHECK_FALSE(in.can_read(0, 500000));
  }
}
