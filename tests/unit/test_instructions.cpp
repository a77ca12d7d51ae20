// The 13 VMSL instructions (vmsl.md §2) on the reference interpreter:
// results, pc updates, saturation in profile vmsl and wrapping in arm64.
#include "test_util.h"

using namespace hvsl_test;
using hvsl::Mode;

namespace {

// A one-VM-running machine: vm0 runs `code` (vm1 and vm2 just halt).
std::string prog(const std::string& code, const std::string& items0 = "", const std::string& extra = "") {
  return machine3(code, "halt", "halt", extra, items0);
}

// Runs one binary-operation instruction "op r1, <second>" with r1 = a
// (and r2 = b); returns r1 afterwards and checks the pc moved on by one.
Word binop(const std::string& op, Word a, Word b, const std::string& second = "r2") {
  Sim sim(prog("    " + op + " r1, " + second + "\n    halt",
               "reg r1 = " + std::to_string(a) + "  reg r2 = " + std::to_string(b)));
  sim.step();
  CHECK(sim.mode(0) == Mode::Exec);
  CHECK(sim.pc(0) == 1001);
  CHECK(sim.reg(0, 2) == b);  // the second operand is not written
  return sim.reg(0, 1);
}

// nz after "cmp r1, r2" (reg) or "cmp r1, imm".
Word cmp_reg(Word a, Word b) {
  Sim sim(prog("    cmp r1, r2\n    halt", "reg r1 = " + std::to_string(a) + "  reg r2 = " + std::to_string(b)));
  sim.step();
  CHECK(sim.pc(0) == 1001);
  CHECK(sim.reg(0, 1) == a);
  CHECK(sim.reg(0, 2) == b);
  return sim.nz(0);
}
Word cmp_imm(Word a, Word imm) {
  Sim sim(prog("    cmp r1, " + std::to_string(imm) + "\n    halt", "reg r1 = " + std::to_string(a)));
  sim.step();
  CHECK(sim.pc(0) == 1001);
  CHECK(sim.reg(0, 1) == a);
  return sim.nz(0);
}

}  // namespace

TEST_CASE("nop only advances the pc") {
  Sim sim(prog("    nop\n    halt", "reg r1 = 5  reg r30 = 6"));
  hvsl::State before = sim.state();
  auto info = sim.step();
  REQUIRE(info.instr.has_value());
  CHECK(info.instr->op == hvsl::Op::Nop);
  CHECK(info.pc == 1000);
  CHECK(sim.pc(0) == 1001);
  CHECK(sim.mode(0) == Mode::Exec);
  CHECK(sim.reg(0, 1) == 5);
  CHECK(sim.reg(0, 30) == 6);
  // Apart from the pc, nothing changed.
  sim.vm(0).pc() = 1000;
  CHECK(same_except_modes(before, sim.state()));
}

TEST_CASE("mov") {
  SUBCASE("immediate") {
    Sim sim(prog("    mov r3, 999999\n    mov r4, a0 + 7\n    mov r30, 0\n    halt", "reg r30 = 9"));
    sim.step();
    CHECK(sim.reg(0, 3) == 999'999);
    CHECK(sim.pc(0) == 1001);
    sim.step();
    CHECK(sim.reg(0, 4) == 4007);
    CHECK(sim.pc(0) == 1002);
    sim.step();
    CHECK(sim.reg(0, 30) == 0);
    CHECK(sim.pc(0) == 1003);
    CHECK(sim.mode(0) == Mode::Exec);
  }
  SUBCASE("register") {
    Sim sim(prog("    mov r6, r5\n    halt", "reg r5 = 1234567  reg r6 = 1"));
    sim.step();
    CHECK(sim.reg(0, 6) == 1'234'567);
    CHECK(sim.reg(0, 5) == 1'234'567);
    CHECK(sim.pc(0) == 1001);
    CHECK(sim.mode(0) == Mode::Exec);
  }
}

TEST_CASE("ldr reads a word of an accessible page") {
  Sim sim(prog("    mov r2, a0 + 5\n    ldr r1, r2\n    halt", "", "word a0 + 5 = 42"));
  sim.steps(2);
  CHECK(sim.reg(0, 1) == 42);
  CHECK(sim.reg(0, 2) == 4005);
  CHECK(sim.pc(0) == 1002);
  CHECK(sim.mode(0) == Mode::Exec);
}

TEST_CASE("str writes a word of an accessible page") {
  Sim sim(prog("    mov r1, 77\n    mov r2, a0 + 9\n    str r1, r2\n    halt"));
  CHECK(sim.mem(4009) == 0);
  sim.steps(3);
  CHECK(sim.mem(4009) == 77);
  CHECK(sim.mem(4008) == 0);
  CHECK(sim.mem(4010) == 0);
  CHECK(sim.reg(0, 1) == 77);
  CHECK(sim.pc(0) == 1003);
  CHECK(sim.mode(0) == Mode::Exec);
}

TEST_CASE("cmp sets nz: 0 greater, 1 equal, 2 less") {
  SUBCASE("immediate") {
    CHECK(cmp_imm(5, 3) == 0);
    CHECK(cmp_imm(5, 5) == 1);
    CHECK(cmp_imm(5, 9) == 2);
    CHECK(cmp_imm(0, 0) == 1);
    CHECK(cmp_imm(1'999'999, 999'999) == 0);
  }
  SUBCASE("register") {
    CHECK(cmp_reg(5, 3) == 0);
    CHECK(cmp_reg(7, 7) == 1);
    CHECK(cmp_reg(3, 5) == 2);
    CHECK(cmp_reg(1'999'999, 0) == 0);
    CHECK(cmp_reg(0, 1'999'999) == 2);
  }
  SUBCASE("the named constants agree") {
    Sim sim(prog("    mov r1, NZ_GREATER\n    mov r2, NZ_EQUAL\n    mov r3, NZ_LESS\n    halt"));
    sim.run();
    CHECK(sim.reg(0, 1) == 0);
    CHECK(sim.reg(0, 2) == 1);
    CHECK(sim.reg(0, 3) == 2);
  }
}

TEST_CASE("add saturates in profile vmsl") {
  CHECK(binop("add", 10, 32) == 42);
  CHECK(binop("add", 0, 0) == 0);
  CHECK(binop("add", 1'200'000, 700'000) == 1'900'000);
  CHECK(binop("add", 1'000'000, 999'999) == 1'999'999);  // exactly the largest word
  CHECK(binop("add", 1'999'999, 1) == kWordMax);
  CHECK(binop("add", 1'500'000, 600'000) == kWordMax);
  CHECK(binop("add", 1'999'999, 1'999'999) == kWordMax);
}

TEST_CASE("sub: a result below zero gives the largest word in profile vmsl") {
  CHECK(binop("sub", 10, 3) == 7);
  CHECK(binop("sub", 5, 5) == 0);
  CHECK(binop("sub", 1'999'999, 1'999'999) == 0);
  CHECK(binop("sub", 3, 10) == kWordMax);
  CHECK(binop("sub", 0, 1) == kWordMax);
  CHECK(binop("sub", 1'999'998, 1'999'999) == kWordMax);
}

TEST_CASE("mult saturates in profile vmsl") {
  CHECK(binop("mult", 1000, 0, "1000") == 1'000'000);
  CHECK(binop("mult", 3, 0, "7") == 21);
  CHECK(binop("mult", 0, 0, "999999") == 0);
  CHECK(binop("mult", 1'999'999, 0, "0") == 0);
  CHECK(binop("mult", 1'999'999, 0, "1") == 1'999'999);
  CHECK(binop("mult", 2000, 0, "1000") == kWordMax);  // 2,000,000 is out of range
  CHECK(binop("mult", 1'999'999, 0, "2") == kWordMax);
  CHECK(binop("mult", 999'999, 0, "999999") == kWordMax);
}

TEST_CASE("bne branches unless nz is 1 (equal)") {
  // r9 says which way the branch went: 1 taken, 2 fell through.
  const std::string code = R"(
    cmp r1, r2
    mov r3, target
    bne r3
    mov r9, 2
    halt
  target:
    mov r9, 1
    halt
  )";
  SUBCASE("taken when less") {
    Sim sim(prog(code, "reg r1 = 5  reg r2 = 6"));
    sim.steps(3);
    CHECK(sim.nz(0) == 2);
    CHECK(sim.pc(0) == 1005);  // the label's address
    sim.run();
    CHECK(sim.reg(0, 9) == 1);
  }
  SUBCASE("taken when greater") {
    Sim sim(prog(code, "reg r1 = 7  reg r2 = 6"));
    sim.steps(3);
    CHECK(sim.nz(0) == 0);
    CHECK(sim.pc(0) == 1005);
    sim.run();
    CHECK(sim.reg(0, 9) == 1);
  }
  SUBCASE("not taken when equal") {
    Sim sim(prog(code, "reg r1 = 6  reg r2 = 6"));
    sim.steps(3);
    CHECK(sim.nz(0) == 1);
    CHECK(sim.pc(0) == 1003);
    sim.run();
    CHECK(sim.reg(0, 9) == 2);
    CHECK(sim.mode(0) == Mode::Halt);
  }
}

TEST_CASE("br jumps to the address in a register") {
  Sim sim(prog("    mov r2, there\n    br r2\n    fail\n  there:\n    mov r3, 1\n    halt"));
  sim.step();
  CHECK(sim.reg(0, 2) == 1003);
  sim.step();
  CHECK(sim.pc(0) == 1003);
  CHECK(sim.reg(0, 2) == 1003);
  CHECK(sim.mode(0) == Mode::Exec);
  sim.run();
  CHECK(sim.reg(0, 3) == 1);
  CHECK(sim.mode(0) == Mode::Halt);
}

TEST_CASE("halt: HaltI with the pc moved past it; the machine stops") {
  Sim sim(prog("    nop\n    halt\n    nop"));
  auto r = sim.run();
  CHECK(r.steps == 2);
  CHECK(sim.mode(0) == Mode::Halt);
  CHECK(sim.pc(0) == 1002);
  CHECK(sim.current() == 0);
  CHECK_FALSE(sim.interp().running());
  // The other VMs never ran.
  CHECK(sim.mode(1) == Mode::Exec);
  CHECK(sim.pc(1) == 2000);
}

TEST_CASE("fail: FailI with the state unchanged") {
  Sim sim(prog("    mov r1, 3\n    fail\n    halt"));
  sim.step();
  hvsl::State before = sim.state();
  sim.step();
  CHECK(sim.mode(0) == Mode::Fail);
  CHECK(sim.pc(0) == 1001);
  CHECK(sim.reg(0, 1) == 3);
  CHECK(same_except_modes(before, sim.state()));
  CHECK_FALSE(sim.interp().running());
}

TEST_CASE("hvc dispatches on r0 and moves the pc on") {
  Sim sim(prog("    mov r0, YIELD\n    hvc\n    halt"));
  sim.step();
  auto info = sim.step();
  REQUIRE(info.instr.has_value());
  CHECK(info.instr->op == hvsl::Op::Hvc);
  CHECK(sim.reg(0, 0) == hc(hvsl::Hypercall::Yield));
  CHECK(sim.pc(0) == 1002);
  CHECK(sim.mode(0) == Mode::Exec);
}

TEST_CASE("run() counts steps and stops at the step limit") {
  Sim sim(prog("  loop:\n    mov r1, loop\n    br r1"));
  auto r = sim.interp().run(11);
  CHECK(r.reason == hvsl::StopReason::StepLimit);
  CHECK(r.steps == 11);
  CHECK(sim.mode(0) == Mode::Exec);
  CHECK(sim.pc(0) == 1001);
}

// ---- profile arm64: 64-bit words with wrapping arithmetic ------------------

namespace {

std::string arm(const std::string& code, const std::string& regs) {
  return "profile arm64\npage prog0 at 0x1000 owner vm0 exclusive access {vm0}\n"
         "page data at 0x2000 owner vm0 exclusive access {vm0}\n"
         "vm vm0 {\n  " + regs + "\n  code at prog0 {\n" + code + "\n  }\n}\n";
}

}  // namespace

TEST_CASE("arithmetic wraps in profile arm64") {
  constexpr Word kMax = ~Word(0);
  SUBCASE("add") {
    Sim sim(arm("    add r1, r2\n    add r3, r4\n    halt", "reg r1 = WORD_MAX  reg r2 = 2  reg r3 = 40  reg r4 = 2"));
    sim.run();
    CHECK(sim.reg(0, 1) == 1);
    CHECK(sim.reg(0, 3) == 42);
    CHECK(sim.pc(0) == 0x1003);
  }
  SUBCASE("sub") {
    Sim sim(arm("    sub r1, r2\n    sub r3, r4\n    halt", "reg r1 = 0  reg r2 = 1  reg r3 = 3  reg r4 = 10"));
    sim.run();
    CHECK(sim.reg(0, 1) == kMax);
    CHECK(sim.reg(0, 3) == kMax - 6);
    CHECK(sim.pc(0) == 0x1003);
  }
  SUBCASE("mult") {
    Sim sim(arm("    mult r1, 2\n    mult r3, 3\n    mult r5, 1000\n    halt",
                "reg r1 = 0x8000000000000000  reg r3 = 0x5555555555555556  reg r5 = 7"));
    sim.run();
    CHECK(sim.reg(0, 1) == 0);
    CHECK(sim.reg(0, 3) == 2);
    CHECK(sim.reg(0, 5) == 7000);
  }
  SUBCASE("mov and cmp on 64-bit values") {
    Sim sim(arm("    mov r1, 0xFFFFFFFFFFFFFFFF\n    cmp r1, r2\n    mov r3, PAGE_SIZE\n    halt", "reg r2 = 1"));
    sim.steps(2);
    CHECK(sim.reg(0, 1) == kMax);
    CHECK(sim.nz(0) == 0);
    sim.run();
    CHECK(sim.reg(0, 3) == 4096);
  }
  SUBCASE("ldr and str with 4096-word pages") {
    Sim sim(arm("    mov r2, data + 4095\n    str r1, r2\n    ldr r3, r2\n    halt", "reg r1 = 0xDEADBEEF"));
    sim.run();
    CHECK(sim.mem(0x2000 + 4095) == 0xDEADBEEF);
    CHECK(sim.reg(0, 3) == 0xDEADBEEF);
    CHECK(sim.mode(0) == Mode::Halt);
  }
}

TEST_CASE("the pc increment saturates at the largest word in profile vmsl") {
  const std::string text = R"(
page last at 1999000 owner vm0 exclusive access {vm0}
vm vm0 {
  code at last + 999 {
    nop
  }
}
)";
  Sim sim(text);
  CHECK(sim.pc(0) == kWordMax);
  sim.step();
  CHECK(sim.mode(0) == Mode::Exec);
  CHECK(sim.pc(0) == kWordMax);  // PC ^+ 1 stays at 1,999,999
  sim.step();
  CHECK(sim.mode(0) == Mode::Exec);
  CHECK(sim.pc(0) == kWordMax);
}
