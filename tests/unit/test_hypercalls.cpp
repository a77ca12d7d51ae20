// The eleven FF-A hypercalls of VMSL (vmsl.md §3): every success and every
// error path, on the standard three-VM machine of test_util.h.
#include "test_util.h"

using namespace hvsl_test;
using hvsl::HvcError;
using hvsl::Hypercall;
using hvsl::Mode;
using hvsl::TransKind;

namespace {

// Checks the error convention: R0 := ERROR, R2 := code, pc past the hvc,
// the VM still running (or halted by the instruction after the hvc).
void expect_error(Sim& sim, VmId v, HvcError e) {
  CHECK(sim.reg(v, 0) == error_code());
  CHECK(sim.reg(v, 2) == err(e));
}

// vm0 code that runs VM `vm` and halts when it gets the processor back.
std::string run_vm(const std::string& vm) {
  return "    mov r0, RUN\n    mov r1, " + vm + "\n    hvc\n    halt\n";
}

// "mov r0, CALL  mov r1, a1  hvc  halt"
std::string call(const std::string& fn, const std::string& r1 = "", const std::string& r2 = "") {
  std::string s = "    mov r0, " + fn + "\n";
  if (!r1.empty()) s += "    mov r1, " + r1 + "\n";
  if (!r2.empty()) s += "    mov r2, " + r2 + "\n";
  return s + "    hvc\n    halt\n";
}

}  // namespace

// ---- Run ------------------------------------------------------------------

TEST_CASE("Run") {
  SUBCASE("the primary runs a secondary; no register of the target changes") {
    Sim sim(machine3(run_vm("vm1"), "    mov r3, 7\n    halt", "halt", "", "", "reg r1 = 11  reg r0 = 12"));
    sim.steps(3);
    CHECK(sim.current() == 1);
    CHECK(sim.pc(0) == 1003);  // the caller's pc moved past the hvc
    CHECK(sim.mode(0) == Mode::Exec);
    CHECK(sim.reg(0, 0) == hc(Hypercall::Run));
    CHECK(sim.reg(0, 1) == 1);
    CHECK(sim.pc(1) == 2000);
    CHECK(sim.reg(1, 0) == 12);
    CHECK(sim.reg(1, 1) == 11);
    sim.run();
    CHECK(sim.mode(1) == Mode::Halt);
    CHECK(sim.reg(1, 3) == 7);
    CHECK(sim.mode(0) == Mode::Exec);  // the primary never got the processor back
  }
  SUBCASE("running vm0 itself is a no-op that moves the pc on") {
    Sim sim(machine3(run_vm("vm0")));
    sim.steps(3);
    CHECK(sim.current() == 0);
    CHECK(sim.pc(0) == 1003);
    CHECK(sim.reg(0, 0) == hc(Hypercall::Run));
  }
  SUBCASE("InvParam: r1 is not a VM id") {
    for (const char* id : {"3", "999999"}) {
      CAPTURE(id);
      Sim sim(machine3(run_vm(id)));
      sim.steps(3);
      CHECK(sim.current() == 0);
      CHECK(sim.pc(0) == 1003);
      expect_error(sim, 0, HvcError::InvParam);
    }
  }
  SUBCASE("Denied: a secondary cannot run a VM") {
    Sim sim(machine3(run_vm("vm1"), call("RUN", "vm2"), "    mov r9, 1\n    halt"));
    sim.run();
    CHECK(sim.current() == 1);
    CHECK(sim.mode(1) == Mode::Halt);
    CHECK(sim.pc(1) == 2004);
    expect_error(sim, 1, HvcError::Denied);
    CHECK(sim.pc(2) == 3000);  // vm2 never ran
    CHECK(sim.reg(2, 9) == 0);
  }
  SUBCASE("Denied is reported before InvParam") {
    Sim sim(machine3(run_vm("vm1"), call("RUN", "3")));
    sim.run();
    CHECK(sim.current() == 1);
    expect_error(sim, 1, HvcError::Denied);
  }
}

// ---- Yield ----------------------------------------------------------------

TEST_CASE("Yield") {
  SUBCASE("primary: r0 := YIELD and it keeps running") {
    Sim sim(machine3(call("YIELD"), "halt", "halt", "", "reg r1 = 55  reg r2 = 66"));
    sim.steps(2);
    CHECK(sim.current() == 0);
    CHECK(sim.pc(0) == 1002);
    CHECK(sim.mode(0) == Mode::Exec);
    CHECK(sim.reg(0, 0) == hc(Hypercall::Yield));
    CHECK(sim.reg(0, 1) == 55);
    CHECK(sim.reg(0, 2) == 66);
  }
  SUBCASE("secondary: vm0's r0 := YIELD, r1 := caller id, back to vm0") {
    Sim sim(machine3(run_vm("vm2"), "halt", call("YIELD")));
    sim.steps(3);  // vm0 runs vm2
    REQUIRE(sim.current() == 2);
    sim.steps(2);  // vm2 yields
    CHECK(sim.current() == 0);
    CHECK(sim.reg(0, 0) == hc(Hypercall::Yield));
    CHECK(sim.reg(0, 1) == 2);
    CHECK(sim.pc(2) == 3002);  // the caller's pc moved past the hvc
    CHECK(sim.mode(2) == Mode::Exec);
    CHECK(sim.reg(2, 0) == hc(Hypercall::Yield));
    sim.run();  // vm0 resumes at its own saved pc: the halt after its hvc
    CHECK(sim.mode(0) == Mode::Halt);
    CHECK(sim.pc(0) == 1004);
  }
}

// ---- Share / Lend / Donate ------------------------------------------------

namespace {

struct KindCase {
  const char* fn;  // the hypercall's constant
  TransKind kind;
};
const KindCase kKinds[] = {{"SHARE", TransKind::Share}, {"LEND", TransKind::Lend}, {"DONATE", TransKind::Donate}};

// vm0 calls `fn` with r1 = len; the descriptor and anything else is in `extra`.
Sim mem_send(const std::string& fn, const std::string& len, const std::string& extra) {
  return Sim(machine3(call(fn, len), "halt", "halt", extra));
}

// Checks that a mem-send failed with `e` and touched neither the page table
// nor the transactions.
void expect_send_error(Sim& sim, const hvsl::State& initial, HvcError e) {
  sim.run();
  CHECK(sim.mode(0) == Mode::Halt);
  CHECK(sim.pc(0) == 1004);
  expect_error(sim, 0, e);
  CHECK(sim.state().pgt == initial.pgt);
  CHECK(sim.state().trans == initial.trans);
  CHECK(sim.state().mem == initial.mem);
}

}  // namespace

TEST_CASE("Share, Lend, Donate: success") {
  SUBCASE("one page, handle 0") {
    for (const KindCase& k : kKinds) {
      CAPTURE(k.fn);
      Sim sim = mem_send(k.fn, "5", descriptor("tx0", "vm0", "0", "1", "vm1", {"a0"}));
      hvsl::State initial = sim.state();
      sim.run();
      CHECK(sim.mode(0) == Mode::Halt);
      CHECK(sim.pc(0) == 1004);
      CHECK(sim.reg(0, 0) == success());
      CHECK(sim.reg(0, 2) == 0);
      auto t = sim.trans(0);
      REQUIRE(t.has_value());
      CHECK(t->sender == 0);
      CHECK(t->receiver == 1);
      CHECK(t->kind == k.kind);
      CHECK_FALSE(t->retrieved);
      CHECK(t->pages == std::vector<Word>{4000});
      // Share flips the exclusive bit; Lend and Donate revoke the caller's access.
      if (k.kind == TransKind::Share) CHECK(sim.page("a0") == entry(0, false, {0}));
      else CHECK(sim.page("a0") == entry(0, true, {}));
      // Nothing else in the page table moved.
      for (std::size_t i = 0; i < initial.pgt.size(); ++i)
        if (i != sim.page_index("a0")) CHECK(sim.state().pgt[i] == initial.pgt[i]);
    }
  }
  SUBCASE("several pages; duplicates collapse") {
    for (const KindCase& k : kKinds) {
      CAPTURE(k.fn);
      Sim sim = mem_send(k.fn, "7", descriptor("tx0", "vm0", "0", "3", "vm2", {"c0", "a0", "c0"}));
      sim.run();
      CHECK(sim.reg(0, 0) == success());
      CHECK(sim.reg(0, 2) == 0);
      auto t = sim.trans(0);
      REQUIRE(t.has_value());
      CHECK(t->receiver == 2);
      CHECK(t->pages == std::vector<Word>{4000, 6000});
      CHECK(sim.page("a0") == implied_entry(k.kind, false, 0, 2));
      CHECK(sim.page("c0") == implied_entry(k.kind, false, 0, 2));
      CHECK(sim.page("b0") == entry(0, true, {0}));
    }
  }
  SUBCASE("the first free handle is used") {
    for (const KindCase& k : kKinds) {
      CAPTURE(k.fn);
      Sim sim = mem_send(k.fn, "5",
                         descriptor("tx0", "vm0", "0", "1", "vm1", {"a0"}) +
                             "handles {3, 7, 9}\ntransaction 3 share from vm0 to vm2 pages {notexcl}\n");
      sim.run();
      CHECK(sim.reg(0, 0) == success());
      CHECK(sim.reg(0, 2) == 7);
      REQUIRE(sim.trans(7).has_value());
      CHECK(sim.trans(7)->kind == k.kind);
      CHECK_FALSE(sim.trans(9).has_value());
      REQUIRE(sim.trans(3).has_value());
      CHECK(sim.trans(3)->receiver == 2);
    }
  }
}

TEST_CASE("Share, Lend, Donate: InvParam") {
  const std::string good = descriptor("tx0", "vm0", "0", "1", "vm1", {"a0"});
  struct Case {
    const char* what;
    const char* len;
    std::string desc;
  };
  const Case cases[] = {
      {"length > page size", "1001", good},
      {"length shorter than the header", "3", good},
      {"sender is not a VM id", "5", descriptor("tx0", "7", "0", "1", "vm1", {"a0"})},
      {"receiver is not a VM id", "5", descriptor("tx0", "vm0", "0", "1", "9", {"a0"})},
      {"sender is not the caller", "5", descriptor("tx0", "vm1", "0", "1", "vm2", {"a0"})},
      {"sender is the receiver", "5", descriptor("tx0", "vm0", "0", "1", "vm0", {"a0"})},
      {"nonzero handle word", "5", descriptor("tx0", "vm0", "1", "1", "vm1", {"a0"})},
      {"page count larger than the pages given", "5", descriptor("tx0", "vm0", "0", "2", "vm1", {"a0"})},
      {"page count smaller than the pages given", "6", descriptor("tx0", "vm0", "0", "1", "vm1", {"a0", "b0"})},
      {"unaligned page", "5", descriptor("tx0", "vm0", "0", "1", "vm1", {"a0 + 1"})},
      {"one unaligned page among aligned ones", "6", descriptor("tx0", "vm0", "0", "2", "vm1", {"a0", "b0 + 999"})},
  };
  for (const KindCase& k : kKinds) {
    for (const Case& c : cases) {
      CAPTURE(k.fn);
      CAPTURE(c.what);
      Sim sim = mem_send(k.fn, c.len, c.desc);
      hvsl::State initial = sim.state();
      expect_send_error(sim, initial, HvcError::InvParam);
    }
  }
}

TEST_CASE("Share, Lend, Donate: Denied") {
  struct Case {
    const char* what;
    std::vector<std::string> pages;
  };
  const Case cases[] = {
      {"caller is not the owner", {"notown"}},
      {"page is not exclusive", {"notexcl"}},
      {"caller has no access", {"noacc"}},
      {"page is not in the page table", {"30000"}},
      {"a mailbox page (owned by the hypervisor)", {"rx0"}},
      {"one bad page among good ones", {"a0", "noacc"}},
  };
  for (const KindCase& k : kKinds) {
    for (const Case& c : cases) {
      CAPTURE(k.fn);
      CAPTURE(c.what);
      std::string n = std::to_string(c.pages.size());
      Sim sim = mem_send(k.fn, std::to_string(c.pages.size() + 4), descriptor("tx0", "vm0", "0", n, "vm1", c.pages));
      hvsl::State initial = sim.state();
      expect_send_error(sim, initial, HvcError::Denied);
    }
  }
}

TEST_CASE("Share, Lend, Donate: NoMem when no handle is free") {
  const std::string desc = descriptor("tx0", "vm0", "0", "1", "vm1", {"a0"});
  for (const KindCase& k : kKinds) {
    CAPTURE(k.fn);
    {
      INFO("the only handle is taken");
      Sim sim = mem_send(k.fn, "5", desc + "transaction 0 share from vm0 to vm2 pages {notexcl}\n");
      hvsl::State initial = sim.state();
      expect_send_error(sim, initial, HvcError::NoMem);
    }
    {
      INFO("no handles at all");
      Sim sim = mem_send(k.fn, "5", desc + "handles {}\n");
      hvsl::State initial = sim.state();
      expect_send_error(sim, initial, HvcError::NoMem);
    }
    {
      INFO("Denied is reported before NoMem");
      Sim sim = mem_send(k.fn, "5", descriptor("tx0", "vm0", "0", "1", "vm1", {"noacc"}) + "handles {}\n");
      hvsl::State initial = sim.state();
      expect_send_error(sim, initial, HvcError::Denied);
    }
  }
}

// ---- Retrieve ---------------------------------------------------------------

namespace {

// Pages in the states §3.1 gives an unretrieved / retrieved transaction
// from vm0 to vm1.
const char* kTransPages = R"(
page sh   at 30000 owner vm0 access {vm0}
page sh2  at 31000 owner vm0 access {vm0}
page shr  at 32000 owner vm0 access {vm0, vm1}
page ln   at 33000 owner vm0 exclusive
page ln2  at 34000 owner vm0 exclusive
page lnr  at 35000 owner vm0 exclusive access {vm1}
)";

// vm0 runs `vm`, which makes hypercall `fn` with r1 = handle.
Sim secondary_call(const std::string& vm, const std::string& fn, const std::string& handle, const std::string& extra,
                   const std::string& holds1 = "") {
  std::string c1 = vm == "vm1" ? call(fn, handle) : "halt";
  std::string c2 = vm == "vm2" ? call(fn, handle) : "halt";
  return Sim(machine3(run_vm(vm), c1, c2, std::string(kTransPages) + extra, "", "reg r2 = 77", "reg r2 = 77",
                      holds1));
}

}  // namespace

TEST_CASE("Retrieve: success") {
  SUBCASE("share") {
    Sim sim = secondary_call("vm1", "RETRIEVE", "0", "transaction 0 share from vm0 to vm1 pages {sh}");
    for (Word k = 0; k < 6; ++k) sim.mem(13000 + k) = 999;
    sim.run();
    CHECK(sim.current() == 1);
    CHECK(sim.mode(1) == Mode::Halt);
    CHECK(sim.pc(1) == 2004);
    CHECK(sim.reg(1, 0) == success());
    CHECK(sim.reg(1, 2) == 77);  // R2 unchanged
    // The retrieve message: sender, handle, kind, page count, pages.
    CHECK(sim.mem(13000) == 0);
    CHECK(sim.mem(13001) == 0);
    CHECK(sim.mem(13002) == kind_code(TransKind::Share));
    CHECK(sim.mem(13003) == 1);
    CHECK(sim.mem(13004) == 30000);
    CHECK(sim.mem(13005) == 999);  // nothing written past the message
    REQUIRE(sim.vm(1).rx.has_value());
    CHECK(sim.vm(1).rx->length == 5);
    CHECK(sim.vm(1).rx->sender == 0);
    auto t = sim.trans(0);
    REQUIRE(t.has_value());
    CHECK(t->retrieved);
    CHECK(t->kind == TransKind::Share);
    CHECK(sim.page("sh") == entry(0, false, {0, 1}));
  }
  SUBCASE("lend, two pages, handle 5") {
    Sim sim = secondary_call("vm1", "RETRIEVE", "5",
                             "handles {2, 5}\ntransaction 5 lend from vm0 to vm1 pages {ln2, ln}");
    sim.run();
    CHECK(sim.reg(1, 0) == success());
    CHECK(sim.reg(1, 2) == 77);
    CHECK(sim.mem(13000) == 0);
    CHECK(sim.mem(13001) == 5);
    CHECK(sim.mem(13002) == kind_code(TransKind::Lend));
    CHECK(sim.mem(13003) == 2);
    CHECK(sim.mem(13004) == 33000);
    CHECK(sim.mem(13005) == 34000);
    REQUIRE(sim.vm(1).rx.has_value());
    CHECK(sim.vm(1).rx->length == 6);
    CHECK(sim.vm(1).rx->sender == 0);
    REQUIRE(sim.trans(5).has_value());
    CHECK(sim.trans(5)->retrieved);
    CHECK(sim.page("ln") == entry(0, true, {1}));
    CHECK(sim.page("ln2") == entry(0, true, {1}));
  }
  SUBCASE("donate transfers ownership and frees the handle") {
    Sim sim = secondary_call("vm1", "RETRIEVE", "0", "transaction 0 donate from vm0 to vm1 pages {ln}");
    sim.run();
    CHECK(sim.reg(1, 0) == success());
    CHECK(sim.reg(1, 2) == 77);
    CHECK(sim.mem(13000) == 0);
    CHECK(sim.mem(13001) == 0);
    CHECK(sim.mem(13002) == kind_code(TransKind::Donate));
    CHECK(sim.mem(13003) == 1);
    CHECK(sim.mem(13004) == 33000);
    REQUIRE(sim.vm(1).rx.has_value());
    CHECK(sim.vm(1).rx->length == 5);
    CHECK(sim.vm(1).rx->sender == 0);
    CHECK_FALSE(sim.trans(0).has_value());
    CHECK(sim.page("ln") == entry(1, true, {1}));
  }
}

TEST_CASE("Retrieve: errors") {
  auto check_unchanged = [](Sim& sim, const hvsl::State& initial) {
    CHECK(sim.state().pgt == initial.pgt);
    CHECK(sim.state().trans == initial.trans);
    CHECK(sim.state().mem == initial.mem);
  };
  SUBCASE("InvParam: not a valid handle") {
    Sim sim = secondary_call("vm1", "RETRIEVE", "4", "transaction 0 share from vm0 to vm1 pages {sh}");
    hvsl::State initial = sim.state();
    sim.run();
    expect_error(sim, 1, HvcError::InvParam);
    CHECK(sim.pc(1) == 2004);
    CHECK_FALSE(sim.vm(1).rx.has_value());
    check_unchanged(sim, initial);
  }
  SUBCASE("InvParam: a valid handle with no transaction") {
    Sim sim = secondary_call("vm1", "RETRIEVE", "1", "handles {0, 1}\ntransaction 0 share from vm0 to vm1 pages {sh}");
    hvsl::State initial = sim.state();
    sim.run();
    expect_error(sim, 1, HvcError::InvParam);
    check_unchanged(sim, initial);
  }
  SUBCASE("Denied: the caller is not the receiver") {
    Sim sim = secondary_call("vm2", "RETRIEVE", "0", "transaction 0 lend from vm0 to vm1 pages {ln}");
    hvsl::State initial = sim.state();
    sim.run();
    CHECK(sim.current() == 2);
    expect_error(sim, 2, HvcError::Denied);
    CHECK_FALSE(sim.vm(2).rx.has_value());
    check_unchanged(sim, initial);
  }
  SUBCASE("Denied: the sender cannot retrieve") {
    Sim sim(machine3(call("RETRIEVE", "0"), "halt", "halt",
                     std::string(kTransPages) + "transaction 0 share from vm0 to vm1 pages {sh}"));
    hvsl::State initial = sim.state();
    sim.run();
    expect_error(sim, 0, HvcError::Denied);
    check_unchanged(sim, initial);
  }
  SUBCASE("Denied: already retrieved") {
    Sim sim = secondary_call("vm1", "RETRIEVE", "0", "transaction 0 share from vm0 to vm1 pages {shr} retrieved");
    hvsl::State initial = sim.state();
    sim.run();
    expect_error(sim, 1, HvcError::Denied);
    CHECK_FALSE(sim.vm(1).rx.has_value());
    check_unchanged(sim, initial);
  }
  SUBCASE("Busy: the caller's RX is full") {
    Sim sim = secondary_call("vm1", "RETRIEVE", "0", "transaction 0 lend from vm0 to vm1 pages {ln}\nword rx1 = 31",
                             "2 from vm2");
    hvsl::State initial = sim.state();
    sim.run();
    expect_error(sim, 1, HvcError::Busy);
    REQUIRE(sim.vm(1).rx.has_value());
    CHECK(sim.vm(1).rx->length == 2);
    CHECK(sim.vm(1).rx->sender == 2);
    CHECK(sim.mem(13000) == 31);
    check_unchanged(sim, initial);
  }
  SUBCASE("Denied is reported before Busy") {
    Sim sim = secondary_call("vm1", "RETRIEVE", "0", "transaction 0 share from vm0 to vm1 pages {shr} retrieved",
                             "2 from vm2");
    sim.run();
    expect_error(sim, 1, HvcError::Denied);
  }
}

// ---- Relinquish -------------------------------------------------------------

TEST_CASE("Relinquish") {
  SUBCASE("share: the receiver gives back its access") {
    Sim sim = secondary_call("vm1", "RELINQUISH", "0", "transaction 0 share from vm0 to vm1 pages {shr} retrieved");
    sim.run();
    CHECK(sim.reg(1, 0) == success());
    CHECK(sim.reg(1, 2) == 77);
    CHECK(sim.pc(1) == 2004);
    auto t = sim.trans(0);
    REQUIRE(t.has_value());
    CHECK_FALSE(t->retrieved);
    CHECK(sim.page("shr") == entry(0, false, {0}));
  }
  SUBCASE("lend") {
    Sim sim = secondary_call("vm1", "RELINQUISH", "0", "transaction 0 lend from vm0 to vm1 pages {lnr} retrieved");
    sim.run();
    CHECK(sim.reg(1, 0) == success());
    REQUIRE(sim.trans(0).has_value());
    CHECK_FALSE(sim.trans(0)->retrieved);
    CHECK(sim.page("lnr") == entry(0, true, {}));
  }
  SUBCASE("InvParam: invalid or free handle") {
    for (const char* h : {"3", "1"}) {
      CAPTURE(h);
      Sim sim = secondary_call("vm1", "RELINQUISH", h,
                               "handles {0, 1}\ntransaction 0 share from vm0 to vm1 pages {shr} retrieved");
      hvsl::State initial = sim.state();
      sim.run();
      expect_error(sim, 1, HvcError::InvParam);
      CHECK(sim.state().pgt == initial.pgt);
      CHECK(sim.state().trans == initial.trans);
    }
  }
  SUBCASE("Denied: not retrieved") {
    Sim sim = secondary_call("vm1", "RELINQUISH", "0", "transaction 0 lend from vm0 to vm1 pages {ln}");
    hvsl::State initial = sim.state();
    sim.run();
    expect_error(sim, 1, HvcError::Denied);
    CHECK(sim.state().pgt == initial.pgt);
    CHECK(sim.state().trans == initial.trans);
  }
  SUBCASE("Denied: the caller is not the receiver") {
    Sim sim = secondary_call("vm2", "RELINQUISH", "0", "transaction 0 share from vm0 to vm1 pages {shr} retrieved");
    hvsl::State initial = sim.state();
    sim.run();
    expect_error(sim, 2, HvcError::Denied);
    CHECK(sim.state().pgt == initial.pgt);
    CHECK(sim.state().trans == initial.trans);
  }
  SUBCASE("Denied: the sender cannot relinquish") {
    Sim sim(machine3(call("RELINQUISH", "0"), "halt", "halt",
                     std::string(kTransPages) + "transaction 0 share from vm0 to vm1 pages {shr} retrieved"));
    hvsl::State initial = sim.state();
    sim.run();
    expect_error(sim, 0, HvcError::Denied);
    CHECK(sim.state().pgt == initial.pgt);
    CHECK(sim.state().trans == initial.trans);
  }
}

// ---- Reclaim ----------------------------------------------------------------

TEST_CASE("Reclaim") {
  auto reclaim = [](const std::string& extra) {
    return Sim(machine3(call("RECLAIM", "0"), "halt", "halt", std::string(kTransPages) + extra, "reg r2 = 77"));
  };
  SUBCASE("share: the page is exclusive again and the handle free") {
    Sim sim = reclaim("transaction 0 share from vm0 to vm1 pages {sh, sh2}");
    sim.run();
    CHECK(sim.reg(0, 0) == success());
    CHECK(sim.reg(0, 2) == 77);
    CHECK(sim.pc(0) == 1004);
    CHECK_FALSE(sim.trans(0).has_value());
    CHECK(sim.page("sh") == entry(0, true, {0}));
    CHECK(sim.page("sh2") == entry(0, true, {0}));
  }
  SUBCASE("lend: the sender gets its access back") {
    Sim sim = reclaim("transaction 0 lend from vm0 to vm1 pages {ln}");
    sim.run();
    CHECK(sim.reg(0, 0) == success());
    CHECK_FALSE(sim.trans(0).has_value());
    CHECK(sim.page("ln") == entry(0, true, {0}));
  }
  SUBCASE("donate (not retrieved)") {
    Sim sim = reclaim("transaction 0 donate from vm0 to vm1 pages {ln, ln2}");
    sim.run();
    CHECK(sim.reg(0, 0) == success());
    CHECK_FALSE(sim.trans(0).has_value());
    CHECK(sim.page("ln") == entry(0, true, {0}));
    CHECK(sim.page("ln2") == entry(0, true, {0}));
  }
  SUBCASE("InvParam: invalid or free handle") {
    for (const char* h : {"3", "1"}) {
      CAPTURE(h);
      Sim sim(machine3(call("RECLAIM", h), "halt", "halt",
                       std::string(kTransPages) + "handles {0, 1}\ntransaction 0 lend from vm0 to vm1 pages {ln}"));
      hvsl::State initial = sim.state();
      sim.run();
      expect_error(sim, 0, HvcError::InvParam);
      CHECK(sim.state().pgt == initial.pgt);
      CHECK(sim.state().trans == initial.trans);
    }
  }
  SUBCASE("Denied: retrieved") {
    for (const char* t : {"transaction 0 share from vm0 to vm1 pages {shr} retrieved",
                          "transaction 0 lend from vm0 to vm1 pages {lnr} retrieved"}) {
      CAPTURE(t);
      Sim sim = reclaim(t);
      hvsl::State initial = sim.state();
      sim.run();
      expect_error(sim, 0, HvcError::Denied);
      CHECK(sim.state().pgt == initial.pgt);
      CHECK(sim.state().trans == initial.trans);
    }
  }
  SUBCASE("Denied: the caller is not the sender") {
    Sim sim = secondary_call("vm1", "RECLAIM", "0", "transaction 0 lend from vm0 to vm1 pages {ln}");
    hvsl::State initial = sim.state();
    sim.run();
    expect_error(sim, 1, HvcError::Denied);
    CHECK(sim.state().pgt == initial.pgt);
    CHECK(sim.state().trans == initial.trans);
  }
}

// ---- Send -------------------------------------------------------------------

TEST_CASE("Send") {
  const std::string tx0_words = "word tx0 = 11\nword tx0 + 1 = 22\nword tx0 + 2 = 33\nword tx0 + 3 = 44\n";
  SUBCASE("primary: copies the message and changes no register") {
    Sim sim(machine3(call("SEND", "vm1", "3"), "halt", "halt", tx0_words + "word rx1 + 3 = 5", "reg r5 = 9"));
    sim.run();
    CHECK(sim.current() == 0);
    CHECK(sim.mode(0) == Mode::Halt);
    CHECK(sim.pc(0) == 1005);
    CHECK(sim.reg(0, 0) == hc(Hypercall::Send));  // not set to SUCCESS
    CHECK(sim.reg(0, 1) == 1);
    CHECK(sim.reg(0, 2) == 3);
    CHECK(sim.reg(0, 5) == 9);
    CHECK(sim.mem(13000) == 11);
    CHECK(sim.mem(13001) == 22);
    CHECK(sim.mem(13002) == 33);
    CHECK(sim.mem(13003) == 5);  // only l words are copied
    REQUIRE(sim.vm(1).rx.has_value());
    CHECK(sim.vm(1).rx->length == 3);
    CHECK(sim.vm(1).rx->sender == 0);
  }
  SUBCASE("a whole page") {
    Sim sim(machine3(call("SEND", "vm2", "PAGE_SIZE"), "halt", "halt", "word tx0 + 999 = 8"));
    sim.run();
    CHECK(sim.reg(0, 0) == hc(Hypercall::Send));
    CHECK(sim.mem(15999) == 8);
    REQUIRE(sim.vm(2).rx.has_value());
    CHECK(sim.vm(2).rx->length == 1000);
  }
  SUBCASE("secondary: vm0's r0, r1, r2 are set and vm0 runs") {
    Sim sim(machine3(run_vm("vm1"), call("SEND", "vm2", "2"), "halt", "word tx1 = 5\nword tx1 + 1 = 6"));
    sim.steps(3);
    REQUIRE(sim.current() == 1);
    sim.steps(4);
    CHECK(sim.current() == 0);
    CHECK(sim.reg(0, 0) == hc(Hypercall::Send));
    CHECK(sim.reg(0, 1) == 2);
    CHECK(sim.reg(0, 2) == 2);
    CHECK(sim.pc(1) == 2004);
    CHECK(sim.mode(1) == Mode::Exec);
    CHECK(sim.reg(1, 0) == hc(Hypercall::Send));
    CHECK(sim.mem(15000) == 5);
    CHECK(sim.mem(15001) == 6);
    REQUIRE(sim.vm(2).rx.has_value());
    CHECK(sim.vm(2).rx->length == 2);
    CHECK(sim.vm(2).rx->sender == 1);
    sim.run();
    CHECK(sim.mode(0) == Mode::Halt);
    CHECK(sim.pc(0) == 1004);
  }
  SUBCASE("secondary to the primary") {
    Sim sim(machine3(run_vm("vm2"), "halt", call("SEND", "vm0", "1"), "word tx2 = 4"));
    sim.run();
    CHECK(sim.current() == 0);
    CHECK(sim.reg(0, 0) == hc(Hypercall::Send));
    CHECK(sim.reg(0, 1) == 0);
    CHECK(sim.reg(0, 2) == 1);
    CHECK(sim.mem(11000) == 4);
    REQUIRE(sim.vm(0).rx.has_value());
    CHECK(sim.vm(0).rx->length == 1);
    CHECK(sim.vm(0).rx->sender == 2);
  }
  SUBCASE("Busy: the receiver's RX is full") {
    Sim sim(machine3(call("SEND", "vm1", "3"), "halt", "halt", tx0_words + "word rx1 = 99", "", "", "", "1 from vm2"));
    hvsl::State initial = sim.state();
    sim.run();
    expect_error(sim, 0, HvcError::Busy);
    CHECK(sim.pc(0) == 1005);
    REQUIRE(sim.vm(1).rx.has_value());
    CHECK(sim.vm(1).rx->length == 1);
    CHECK(sim.vm(1).rx->sender == 2);
    CHECK(sim.state().mem == initial.mem);
  }
  SUBCASE("Busy from a secondary: it keeps running") {
    Sim sim(machine3(run_vm("vm1"), call("SEND", "vm2", "1"), "halt", "", "", "", "", "", "", "1 from vm0"));
    sim.run();
    CHECK(sim.current() == 1);
    expect_error(sim, 1, HvcError::Busy);
    CHECK(sim.reg(0, 0) == hc(Hypercall::Run));
  }
  SUBCASE("InvParam") {
    struct Case {
      const char* what;
      const char* receiver;
      const char* len;
    };
    for (const Case& c : {Case{"receiver is not a VM", "3", "1"}, Case{"receiver is the caller", "vm0", "1"},
                          Case{"length > page size", "vm1", "1001"}}) {
      CAPTURE(c.what);
      Sim sim(machine3(call("SEND", c.receiver, c.len), "halt", "halt", tx0_words));
      hvsl::State initial = sim.state();
      sim.run();
      expect_error(sim, 0, HvcError::InvParam);
      CHECK(sim.state().mem == initial.mem);
      for (VmId v = 0; v < 3; ++v) CHECK_FALSE(sim.vm(v).rx.has_value());
    }
  }
}

// ---- Wait and Poll --------------------------------------------------------------

TEST_CASE("Wait and Poll with a full RX read the message") {
  SUBCASE("primary") {
    for (const char* fn : {"WAIT", "POLL"}) {
      CAPTURE(fn);
      Sim sim(machine3(call(fn), "halt", "halt", "", "", "", "", "", "4 from vm2"));
      sim.run();
      CHECK(sim.current() == 0);
      CHECK(sim.pc(0) == 1003);
      CHECK(sim.reg(0, 0) == hc(Hypercall::Send));
      CHECK(sim.reg(0, 1) == 4);
      CHECK(sim.reg(0, 2) == 2);
      CHECK_FALSE(sim.vm(0).rx.has_value());
    }
  }
  SUBCASE("secondary: it keeps running") {
    for (const char* fn : {"WAIT", "POLL"}) {
      CAPTURE(fn);
      Sim sim(machine3(run_vm("vm1"), call(fn), "halt", "", "", "", "", "3 from vm0"));
      sim.run();
      CHECK(sim.current() == 1);
      CHECK(sim.mode(1) == Mode::Halt);
      CHECK(sim.pc(1) == 2003);
      CHECK(sim.reg(1, 0) == hc(Hypercall::Send));
      CHECK(sim.reg(1, 1) == 3);
      CHECK(sim.reg(1, 2) == 0);
      CHECK_FALSE(sim.vm(1).rx.has_value());
      CHECK(sim.reg(0, 0) == hc(Hypercall::Run));  // vm0 is not told
    }
  }
}

TEST_CASE("Wait with an empty RX") {
  SUBCASE("secondary: vm0's r0 := WAIT, r1 := caller, vm0 runs") {
    Sim sim(machine3(run_vm("vm2"), "halt", call("WAIT")));
    sim.steps(3);
    REQUIRE(sim.current() == 2);
    sim.steps(2);
    CHECK(sim.current() == 0);
    CHECK(sim.reg(0, 0) == hc(Hypercall::Wait));
    CHECK(sim.reg(0, 1) == 2);
    CHECK(sim.pc(2) == 3002);
    CHECK(sim.mode(2) == Mode::Exec);
    CHECK(sim.reg(2, 0) == hc(Hypercall::Wait));
    sim.run();
    CHECK(sim.mode(0) == Mode::Halt);
  }
  SUBCASE("primary: r0 := WAIT, r1 := 0, it keeps running") {
    Sim sim(machine3(call("WAIT"), "halt", "halt", "", "reg r1 = 8  reg r2 = 9"));
    sim.steps(2);
    CHECK(sim.current() == 0);
    CHECK(sim.pc(0) == 1002);
    CHECK(sim.reg(0, 0) == hc(Hypercall::Wait));
    CHECK(sim.reg(0, 1) == 0);
    CHECK(sim.reg(0, 2) == 9);
  }
}

TEST_CASE("Poll with an empty RX is Denied") {
  SUBCASE("primary") {
    Sim sim(machine3(call("POLL")));
    sim.run();
    CHECK(sim.current() == 0);
    CHECK(sim.pc(0) == 1003);
    expect_error(sim, 0, HvcError::Denied);
  }
  SUBCASE("secondary: no switch") {
    Sim sim(machine3(run_vm("vm1"), call("POLL")));
    sim.run();
    CHECK(sim.current() == 1);
    CHECK(sim.pc(1) == 2003);
    expect_error(sim, 1, HvcError::Denied);
    CHECK(sim.reg(0, 0) == hc(Hypercall::Run));
  }
}

// ---- dispatch ---------------------------------------------------------------

TEST_CASE("an r0 that names no hypercall gives ERROR and INV_PARAM") {
  for (const char* r0 : {"0", "12345", "SUCCESS", "INV_PARAM"}) {
    CAPTURE(r0);
    Sim sim(machine3(call(r0), "halt", "halt", "", "reg r1 = 4"));
    hvsl::State before = sim.state();
    sim.steps(2);
    CHECK(sim.mode(0) == Mode::Exec);
    CHECK(sim.current() == 0);
    CHECK(sim.pc(0) == 1002);
    expect_error(sim, 0, HvcError::InvParam);
    CHECK(sim.reg(0, 1) == 4);
    CHECK(sim.state().pgt == before.pgt);
    CHECK(sim.state().mem == before.mem);
  }
}

TEST_CASE("the symbolic constants are the encodings") {
  Sim sim(machine3(R"(
    mov r0, RUN
    mov r1, YIELD
    mov r2, SHARE
    mov r3, LEND
    mov r4, DONATE
    mov r5, RETRIEVE
    mov r6, RELINQUISH
    mov r7, RECLAIM
    mov r8, SEND
    mov r9, WAIT
    mov r10, POLL
    mov r11, SUCCESS
    mov r12, ERROR
    mov r13, INV_PARAM
    mov r14, DENIED
    mov r15, BUSY
    mov r16, READY
    mov r17, NO_MEM
    mov r18, SHARING
    mov r19, LENDING
    mov r20, DONATION
    mov r21, PAGE_SIZE
    mov r22, vm2
    mov r23, a1
    halt
  )"));
  sim.run();
  const Hypercall hs[] = {Hypercall::Run,       Hypercall::Yield,      Hypercall::Share,   Hypercall::Lend,
                          Hypercall::Donate,    Hypercall::Retrieve,   Hypercall::Relinquish, Hypercall::Reclaim,
                          Hypercall::Send,      Hypercall::Wait,       Hypercall::Poll};
  for (int k = 0; k < 11; ++k) CHECK(sim.reg(0, k) == hc(hs[k]));
  CHECK(sim.reg(0, 11) == success());
  CHECK(sim.reg(0, 12) == error_code());
  CHECK(sim.reg(0, 13) == err(HvcError::InvParam));
  CHECK(sim.reg(0, 14) == err(HvcError::Denied));
  CHECK(sim.reg(0, 15) == err(HvcError::Busy));
  CHECK(sim.reg(0, 16) == err(HvcError::Ready));
  CHECK(sim.reg(0, 17) == err(HvcError::NoMem));
  CHECK(sim.reg(0, 18) == kind_code(TransKind::Share));
  CHECK(sim.reg(0, 19) == kind_code(TransKind::Lend));
  CHECK(sim.reg(0, 20) == kind_code(TransKind::Donate));
  CHECK(sim.reg(0, 21) == 1000);
  CHECK(sim.reg(0, 22) == 2);
  CHECK(sim.reg(0, 23) == 7000);
  // All eleven function ids and the two return codes are distinct.
  for (int i = 0; i < 13; ++i)
    for (int j = i + 1; j < 13; ++j) CHECK(sim.reg(0, i) != sim.reg(0, j));
}

TEST_CASE("profile arm64 uses FF-A's 32-bit function ids and error codes") {
  const std::string text = R"(
profile arm64
page prog0 at 0x1000 owner vm0 exclusive access {vm0}
page tx0 at 0x2000 access {vm0}
page rx0 at 0x3000 exclusive access {vm0}
vm vm0 {
  tx tx0  rx rx0
  code at prog0 {
    mov r0, 0x6D     // the vmsl profile's RUN: not a function id here
    hvc
    mov r3, r0
    mov r4, r2
    mov r0, YIELD
    hvc
    mov r0, POLL
    hvc
    halt
  }
}
)";
  Sim sim(text);
  const auto& arm = hvsl::Profile::arm64();
  sim.steps(4);
  CHECK(sim.reg(0, 3) == 0x84000060);
  CHECK(sim.reg(0, 4) == 0xFFFFFFFE);  // -2 as a 32-bit value
  CHECK(sim.reg(0, 3) == error_code(arm));
  CHECK(sim.reg(0, 4) == err(HvcError::InvParam, arm));
  sim.steps(2);
  CHECK(sim.reg(0, 0) == 0x8400006C);
  CHECK(sim.reg(0, 0) == hc(Hypercall::Yield, arm));
  sim.run();
  CHECK(sim.reg(0, 0) == error_code(arm));
  CHECK(sim.reg(0, 2) == 0xFFFFFFFA);  // DENIED = -6
  CHECK(sim.mode(0) == Mode::Halt);
}
