// The frontend through hvsl::parse_machine: a valid file lowers to the
// Machine it describes; an invalid one gives nullopt and a diagnostic that
// points at the right line and column.
#include "test_util.h"

#include <string_view>

using namespace hvsl_test;
using hvsl::Mode;
using hvsl::Op;

namespace {

const char* kExample = R"(// The example machine of the brief.
page prog0 at 1000 owner vm0 exclusive access {vm0}
page prog1 at 2000 owner vm1 exclusive access {vm1}
page data  at 3000 owner vm0 exclusive access {vm0}
page tx0 at 10000 access {vm0}
page rx0 at 11000 exclusive access {vm0}
page tx1 at 12000 access {vm1}
page rx1 at 13000 exclusive access {vm1}
word data + 5 = 42
vm vm0 known {
  tx tx0  rx rx0
  code at prog0 {
    mov r0, RUN
    mov r1, vm1
    hvc            // run vm1
    halt
  }
}
vm vm1 known {
  tx tx1  rx rx1
  code at prog1 {
    mov r0, YIELD
    hvc
  }
}
)";

// 1-based line and column of the first occurrence of `needle` in `text`.
std::pair<std::uint32_t, std::uint32_t> where(const std::string& text, std::string_view needle) {
  auto at = text.find(needle);
  REQUIRE(at != std::string::npos);
  std::uint32_t line = 1, col = 1;
  for (std::size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') ++line, col = 1;
    else ++col;
  }
  return {line, col};
}

// Parses text that must fail; returns the first error.
hvsl::Diagnostic first_error(const std::string& text) {
  hvsl::Diagnostics diags;
  auto m = try_parse(text, diags);
  INFO("diagnostics:\n" << render_all(diags, text));
  CHECK_FALSE(m.has_value());
  REQUIRE(diags.has_errors());
  for (const auto& d : diags.all())
    if (d.severity == hvsl::Severity::Error) return d;
  FAIL("no error");
  return {};
}

// The first error is at the line and column where `needle` starts.
void expect_error_at(const std::string& text, std::string_view needle, std::string_view message_part) {
  auto d = first_error(text);
  auto [line, col] = where(text, needle);
  INFO("message: " << d.message << " at " << d.loc.line << ":" << d.loc.col);
  CHECK(d.loc.valid());
  CHECK(d.loc.file == "t.hvsl");
  CHECK(d.loc.line == line);
  CHECK(d.loc.col == col);
  CHECK(d.message.find(message_part) != std::string::npos);
}

}  // namespace

TEST_CASE("a valid file yields the Machine it describes") {
  hvsl::Diagnostics diags;
  auto m = try_parse(kExample, diags);
  INFO(render_all(diags, kExample));
  REQUIRE(m.has_value());
  CHECK_FALSE(diags.has_errors());
  CHECK(m->profile == &hvsl::Profile::vmsl());
  REQUIRE(m->vms.size() == 2);
  CHECK(m->vms[0].name == "vm0");
  CHECK(m->vms[1].name == "vm1");
  CHECK(m->vms[0].known);
  REQUIRE(m->pages.size() == 7);
  const hvsl::PageDecl& data = m->pages[2];
  CHECK(data.name == "data");
  CHECK(data.base == 3000);
  CHECK(data.owner == std::optional<VmId>(0));
  CHECK(data.exclusive);
  CHECK(data.access == hvsl::vm_bit(0));
  CHECK_FALSE(m->pages[3].owner.has_value());  // tx0: the hypervisor's
  CHECK_FALSE(m->pages[3].exclusive);
  CHECK(m->pages[3].name == "tx0");
  REQUIRE(m->vms[0].tx.has_value());
  CHECK(m->pages[*m->vms[0].tx].name == "tx0");
  REQUIRE(m->vms[1].rx.has_value());
  CHECK(m->pages[*m->vms[1].rx].name == "rx1");
  CHECK(m->handles == std::vector<Word>{0});  // the default
  CHECK(m->transactions.empty());
  REQUIRE(m->memory.size() == 1);
  CHECK(m->memory[0].addr == 3005);
  CHECK(m->memory[0].value == 42);
  REQUIRE(m->vms[0].code.has_value());
  const hvsl::CodeBlock& c0 = *m->vms[0].code;
  CHECK(c0.base == 1000);
  REQUIRE(c0.instrs.size() == 4);
  CHECK(c0.instrs[0] == hvsl::Instr{Op::MovImm, 0, 0, hc(hvsl::Hypercall::Run)});
  CHECK(c0.instrs[1] == hvsl::Instr{Op::MovImm, 1, 0, 1});
  CHECK(c0.instrs[2].op == Op::Hvc);
  CHECK(c0.instrs[3].op == Op::Halt);
  REQUIRE(c0.locs.size() == 4);
  CHECK(c0.locs[2].line == 15);
  CHECK(m->vms[1].code->instrs.size() == 2);

  // Running it: vm0 runs vm1, vm1 yields, vm0 halts.
  hvsl::Machine machine = std::move(*m);
  hvsl::Interpreter interp(hvsl::initial_state(machine));
  CHECK(interp.state().mem[2 * 1000 + 5] == 42);  // page index 2 = data
  auto r = interp.run(100);
  CHECK(r.reason == hvsl::StopReason::Terminated);
  CHECK(r.steps == 6);
  const hvsl::State& s = interp.state();
  CHECK(s.current == 0);
  CHECK(s.vms[0].mode == Mode::Halt);
  CHECK(s.vms[0].regs[0] == hc(hvsl::Hypercall::Yield));
  CHECK(s.vms[0].regs[1] == 1);
  CHECK(s.vms[1].mode == Mode::Exec);
  CHECK(s.vms[1].pc() == 2002);
}

TEST_CASE("declarations: profile, consts, labels, handles, transactions, registers, RX messages") {
  const std::string text = R"(
profile vmsl
const N = 3 * 4 + 1
const M = (N - 3) * 2
handles {4, 2}
page prog0 at 1000 owner vm0 exclusive access {vm0}
page s at 2000 owner vm0 access {vm0, vm1}
page tx0 at 10000 access {vm0}
page rx0 at 11000 exclusive access {vm0}
transaction 4 share from vm0 to vm1 pages {s} retrieved
vm vm0 {
  tx tx0  rx rx0 holds 3 from vm1
  reg r7 = M + 1
  code at prog0 + 10 {
    mov r1, N
    mov r2, done
  done:
    mov r3, PAGE_SIZE - 1
    halt
  }
}
vm vm1 unknown { }
)";
  hvsl::Diagnostics diags;
  auto m = try_parse(text, diags);
  INFO(render_all(diags, text));
  REQUIRE(m.has_value());
  CHECK(m->handles == std::vector<Word>{2, 4});
  REQUIRE(m->transactions.size() == 1);
  CHECK(m->transactions[0].handle == 4);
  CHECK(m->transactions[0].kind == hvsl::TransKind::Share);
  CHECK(m->transactions[0].retrieved);
  CHECK(m->transactions[0].pages == std::vector<Word>{2000});
  CHECK_FALSE(m->vms[1].known);
  CHECK_FALSE(m->vms[1].code.has_value());
  REQUIRE(m->vms[0].rx_message.has_value());
  CHECK(m->vms[0].rx_message->length == 3);
  CHECK(m->vms[0].rx_message->sender == 1);
  CHECK(m->vms[0].regs.at(7) == 21);
  REQUIRE(m->labels.size() == 1);
  CHECK(m->labels[0].name == "done");
  CHECK(m->labels[0].addr == 1012);

  hvsl::Machine machine = std::move(*m);
  hvsl::Interpreter interp(hvsl::initial_state(machine));
  CHECK(interp.state().vms[0].pc() == 1010);
  REQUIRE(interp.state().vms[0].rx.has_value());
  REQUIRE(interp.state().trans.at(4).has_value());
  CHECK_FALSE(interp.state().trans.at(2).has_value());
  interp.run(100);
  const auto& r = interp.state().vms[0].regs;
  CHECK(r[1] == 13);
  CHECK(r[2] == 1012);
  CHECK(r[3] == 999);
  CHECK(r[7] == 21);
}

TEST_CASE("invalid files yield nullopt and a located diagnostic") {
  const std::string vm = "\nvm vm0 {\n  code at prog0 {\n    halt\n  }\n}\n";
  const std::string page = "page prog0 at 1000 owner vm0 exclusive access {vm0}\n";

  SUBCASE("unknown name, with a suggestion") {
    std::string t = page + "vm vm0 {\n  code at prog0 {\n    mov r1, prgo0\n    halt\n  }\n}\n";
    expect_error_at(t, "prgo0", "unknown name 'prgo0'");
    CHECK(first_error(t).message.find("prog0") != std::string::npos);
  }
  SUBCASE("syntax error: missing comma") {
    std::string t = page + "vm vm0 {\n  code at prog0 {\n    mov r1 5\n    halt\n  }\n}\n";
    expect_error_at(t, "5\n", "expected");
  }
  SUBCASE("syntax error: unknown declaration keyword") {
    std::string t = page + vm + "pgae p at 2000\n";
    expect_error_at(t, "pgae", "expected");
  }
  SUBCASE("page not aligned") {
    std::string t = page + "page p at 1500\n" + vm;
    expect_error_at(t, "1500", "not page-aligned");
  }
  SUBCASE("immediate out of range in profile vmsl") {
    std::string t = page + "vm vm0 {\n  code at prog0 {\n    mov r1, 1000000\n    halt\n  }\n}\n";
    expect_error_at(t, "1000000", "out of range");
  }
  SUBCASE("WORD_MAX is not an immediate in profile vmsl") {
    std::string t = page + "vm vm0 {\n  code at prog0 {\n    mov r1, WORD_MAX\n    halt\n  }\n}\n";
    expect_error_at(t, "WORD_MAX", "out of range");
  }
  SUBCASE("two equal registers") {
    std::string t = page + "vm vm0 {\n  code at prog0 {\n    add r1, r1\n    halt\n  }\n}\n";
    // Equal registers are a fault of the whole instruction: the caret is on it.
    expect_error_at(t, "add r1, r1", "must be different");
  }
  SUBCASE("pc as an operand") {
    std::string t = page + "vm vm0 {\n  code at prog0 {\n    mov pc, 5\n    halt\n  }\n}\n";
    // The caret is on the offending operand.
    expect_error_at(t, "pc,", "only r0..r30");
  }
  SUBCASE("a transaction that does not match the page table") {
    std::string t = page + "page s at 2000 owner vm0 exclusive access {vm0}\n" +
                    "transaction 0 share from vm0 to vm1 pages {s}\nvm vm1 { }" + vm;
    expect_error_at(t, "s at 2000", "does not match its transaction");
  }
  SUBCASE("a retrieved donation") {
    std::string t = page + "page d at 2000 owner vm0 exclusive access {vm1}\n" +
                    "transaction 0 donate from vm0 to vm1 pages {d} retrieved\nvm vm1 { }" + vm;
    expect_error_at(t, "transaction 0", "retrieved donation");
  }
  SUBCASE("a word in no declared page") {
    std::string t = page + vm + "word 50000 = 1\n";
    expect_error_at(t, "50000", "no declared page");
  }
  SUBCASE("unterminated comment") {
    std::string t = page + vm + "/* never closed\n";
    expect_error_at(t, "/*", "unterminated comment");
  }
  SUBCASE("no VM at all") {
    auto d = first_error("page p at 1000\n");
    CHECK(d.loc.valid());
    CHECK(d.message.find("no VM") != std::string::npos);
  }
  SUBCASE("a transaction on an undeclared handle") {
    std::string t = page + "page s at 2000 owner vm0 access {vm0}\n" +
                    "transaction 3 share from vm0 to vm1 pages {s}\nvm vm1 { }" + vm;
    expect_error_at(t, "3 share", "not one of the machine's handles");
  }
}
