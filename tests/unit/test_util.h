#pragma once
// Shared helpers for the unit tests: build a machine from .hvsl text, run
// it with the reference interpreter and look at the resulting state.
#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/diagnostics.h"
#include "frontend/parser.h"
#include "frontend/source.h"
#include "logic/encoding.h"
#include "logic/interpreter.h"
#include "logic/machine.h"
#include "logic/profile.h"
#include "logic/state.h"

namespace hvsl_test {

using hvsl::Word;
using hvsl::VmId;

// The vmsl profile's encodings, as the tests expect them in registers.
inline const hvsl::Profile& vmsl() { return hvsl::Profile::vmsl(); }
inline Word hc(hvsl::Hypercall h, const hvsl::Profile& p = vmsl()) { return hvsl::encode(p, h); }
inline Word err(hvsl::HvcError e, const hvsl::Profile& p = vmsl()) { return hvsl::encode(p, e); }
inline Word kind_code(hvsl::TransKind k, const hvsl::Profile& p = vmsl()) { return hvsl::encode(p, k); }
inline Word success(const hvsl::Profile& p = vmsl()) { return hvsl::encode_success(p); }
inline Word error_code(const hvsl::Profile& p = vmsl()) { return hvsl::encode_error(p); }
inline constexpr Word kWordMax = 1'999'999;  // VMSL's largest word

// Parses `text`; on failure returns nullopt and leaves the diagnostics in `diags`.
inline std::optional<hvsl::Machine> try_parse(const std::string& text, hvsl::Diagnostics& diags) {
  return hvsl::parse_machine(hvsl::SourceFile("t.hvsl", text), diags);
}

inline std::string render_all(const hvsl::Diagnostics& diags, const std::string& text) {
  hvsl::SourceFile src("t.hvsl", text);
  std::string out;
  for (const auto& d : diags.all()) out += hvsl::render(d, &src) + "\n";
  return out;
}

// A machine and an interpreter running it. The machine lives on the heap so
// that the state's pointer to it stays valid.
class Sim {
 public:
  explicit Sim(const std::string& text) : text_(text) {
    hvsl::Diagnostics diags;
    auto m = try_parse(text, diags);
    INFO("diagnostics:\n" << render_all(diags, text));
    REQUIRE(m.has_value());
    machine_ = std::make_unique<hvsl::Machine>(std::move(*m));
    interp_ = std::make_unique<hvsl::Interpreter>(hvsl::initial_state(*machine_));
  }

  hvsl::Interpreter& interp() { return *interp_; }
  const hvsl::Machine& machine() const { return *machine_; }
  hvsl::State& state() { return interp_->state(); }
  const hvsl::State& state() const { return interp_->state(); }

  hvsl::StepInfo step() {
    REQUIRE(interp_->running());
    return interp_->step();
  }
  void steps(int n) {
    for (int k = 0; k < n; ++k) step();
  }
  // Runs until the current VM stops; fails the test if that takes too long.
  hvsl::RunResult run(std::uint64_t max = 10'000) {
    auto r = interp_->run(max);
    REQUIRE(r.reason == hvsl::StopReason::Terminated);
    return r;
  }

  hvsl::VmState& vm(VmId v) { return state().vms.at(v); }
  Word reg(VmId v, int r) { return vm(v).regs.at(std::size_t(r)); }
  Word pc(VmId v) { return vm(v).pc(); }
  Word nz(VmId v) { return vm(v).regs[hvsl::kNz]; }
  hvsl::Mode mode(VmId v) { return vm(v).mode; }
  VmId current() const { return state().current; }

  std::size_t page_index(const std::string& name) const {
    for (std::size_t i = 0; i < machine_->pages.size(); ++i)
      if (machine_->pages[i].name == name) return i;
    FAIL("no page named " << name);
    return 0;
  }
  Word page_base(const std::string& name) const { return machine_->pages[page_index(name)].base; }
  hvsl::PageState& page(const std::string& name) { return state().pgt[page_index(name)]; }
  VmId vm_id(const std::string& name) const {
    auto v = machine_->vm_by_name(name);
    REQUIRE(v.has_value());
    return *v;
  }

  // The memory word at an address (which must be in a declared page).
  Word& mem(Word addr) {
    const auto& p = *machine_->profile;
    Word base = p.page_of(addr);
    for (std::size_t i = 0; i < machine_->pages.size(); ++i)
      if (machine_->pages[i].base == base) return state().word(i, addr % p.page_size);
    FAIL("address " << addr << " is in no declared page");
    static Word dummy = 0;
    return dummy;
  }

  // The word an instruction is stored as (it must occur in some program).
  Word encoding_of(const hvsl::Instr& i) const {
    auto w = machine_->encoding.find(i);
    REQUIRE(w.has_value());
    return *w;
  }

  // The transaction behind a handle: nullopt if the handle is free.
  std::optional<hvsl::Transaction> trans(Word h) const {
    auto it = state().trans.find(h);
    REQUIRE(it != state().trans.end());
    return it->second;
  }

 private:
  std::string text_;
  std::unique_ptr<hvsl::Machine> machine_;
  std::unique_ptr<hvsl::Interpreter> interp_;
};

inline hvsl::VmSet set_of(std::initializer_list<VmId> vs) {
  hvsl::VmSet s = 0;
  for (VmId v : vs) s |= hvsl::vm_bit(v);
  return s;
}

inline hvsl::PageState entry(std::optional<VmId> owner, bool exclusive, std::initializer_list<VmId> access) {
  return hvsl::PageState{owner, exclusive, set_of(access)};
}

// vmsl.md §3.1, inv_trans_pgt_consistent: the page-table entry a transaction
// state implies for each of its pages. (Donation, retrieved) is impossible.
inline hvsl::PageState implied_entry(hvsl::TransKind k, bool retrieved, VmId sender, VmId receiver) {
  using hvsl::TransKind;
  if (k == TransKind::Share) {
    if (!retrieved) return entry(sender, false, {sender});
    return entry(sender, false, {sender, receiver});
  }
  if (!retrieved) return entry(sender, true, {});
  REQUIRE(k == TransKind::Lend);
  return entry(sender, true, {receiver});
}

inline std::string show(const hvsl::PageState& e) {
  std::ostringstream o;
  o << "(owner " << (e.owner ? std::to_string(*e.owner) : std::string("none")) << ", "
    << (e.exclusive ? "exclusive" : "not exclusive") << ", access {";
  bool first = true;
  for (VmId v = 0; v < 64; ++v)
    if (hvsl::contains(e.access, v)) o << (first ? "" : ", ") << v, first = false;
  o << "})";
  return o.str();
}

// Everything in a state except the VMs' modes, to check that a fault left
// the state unchanged.
inline bool same_except_modes(const hvsl::State& a, const hvsl::State& b) {
  if (a.current != b.current || a.vms.size() != b.vms.size()) return false;
  for (std::size_t v = 0; v < a.vms.size(); ++v) {
    if (a.vms[v].regs != b.vms[v].regs) return false;
    if (a.vms[v].rx.has_value() != b.vms[v].rx.has_value()) return false;
    if (a.vms[v].rx && (a.vms[v].rx->length != b.vms[v].rx->length || a.vms[v].rx->sender != b.vms[v].rx->sender))
      return false;
  }
  return a.pgt == b.pgt && a.mem == b.mem && a.trans == b.trans;
}

// ---- Machine text ------------------------------------------------------

// Three VMs with a code page, a TX and an RX page each, and data pages whose
// page-table entries isolate the conditions mem-send checks:
//   a0, b0, c0   owned by vm0, exclusive, access {vm0}   (may be sent)
//   a1           owned by vm1, exclusive, access {vm1}
//   notexcl      owned by vm0, not exclusive, access {vm0}
//   noacc        owned by vm0, exclusive, no access
//   notown       owned by vm1, exclusive, access {vm0}
inline const char* kPages = R"(
page prog0   at 1000  owner vm0 exclusive access {vm0}
page prog1   at 2000  owner vm1 exclusive access {vm1}
page prog2   at 3000  owner vm2 exclusive access {vm2}
page a0      at 4000  owner vm0 exclusive access {vm0}
page b0      at 5000  owner vm0 exclusive access {vm0}
page c0      at 6000  owner vm0 exclusive access {vm0}
page a1      at 7000  owner vm1 exclusive access {vm1}
page notexcl at 8000  owner vm0 access {vm0}
page noacc   at 9000  owner vm0 exclusive
page notown  at 20000 owner vm1 exclusive access {vm0}
page tx0 at 10000 access {vm0}
page rx0 at 11000 exclusive access {vm0}
page tx1 at 12000 access {vm1}
page rx1 at 13000 exclusive access {vm1}
page tx2 at 14000 access {vm2}
page rx2 at 15000 exclusive access {vm2}
)";

// "vm vmN { tx txN rx rxN [holds] items code at progN { code } }"
inline std::string vm_decl(int n, const std::string& code, const std::string& items = "",
                           const std::string& holds = "") {
  std::string id = std::to_string(n);
  return "vm vm" + id + " {\n  tx tx" + id + "  rx rx" + id + (holds.empty() ? "" : " holds " + holds) + "\n  " +
         items + "\n  code at prog" + id + " {\n" + code + "\n  }\n}\n";
}

// The standard three-VM machine; `extra` adds declarations (words,
// handles, transactions, ...).
inline std::string machine3(const std::string& code0, const std::string& code1 = "halt",
                            const std::string& code2 = "halt", const std::string& extra = "",
                            const std::string& items0 = "", const std::string& items1 = "",
                            const std::string& items2 = "", const std::string& holds1 = "",
                            const std::string& holds0 = "", const std::string& holds2 = "") {
  return std::string(kPages) + extra + "\n" + vm_decl(0, code0, items0, holds0) + vm_decl(1, code1, items1, holds1) +
         vm_decl(2, code2, items2, holds2);
}

// "word tx + k = v" lines for a mem-send descriptor: sender, handle,
// page count, receiver, pages.
inline std::string descriptor(const std::string& tx, const std::string& sender, const std::string& handle,
                              const std::string& count, const std::string& receiver,
                              const std::vector<std::string>& pages) {
  std::string out;
  std::vector<std::string> words = {sender, handle, count, receiver};
  words.insert(words.end(), pages.begin(), pages.end());
  for (std::size_t k = 0; k < words.size(); ++k)
    out += "word " + tx + " + " + std::to_string(k) + " = " + words[k] + "\n";
  return out;
}

// vm0 code that runs vm1 (and halts if it gets the processor back).
inline const char* kRunVm1 = R"(
    mov r0, RUN
    mov r1, vm1
    hvc
    halt
)";

}  // namespace hvsl_test
