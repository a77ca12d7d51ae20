#pragma once
// The concrete machine state VMSL's operational semantics runs on
// (vmsl.md §1.3): per-VM registers, modes and RX state, one global page
// table, memory, the transactions and the current VM.
#include <array>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "logic/machine.h"

namespace hvsl {

// ExecI, HaltI, FailI and FailPageFaultI in VMSL.
enum class Mode : std::uint8_t { Exec, Halt, Fail, FailPageFault };
std::string_view name(Mode m);

struct VmState {
  std::array<Word, kRegCount> regs{};  // r0..r30, pc, nz
  Mode mode = Mode::Exec;
  std::optional<RxMessage> rx;         // nullopt: RX empty
  Word& pc() { return regs[kPc]; }
  Word pc() const { return regs[kPc]; }
};

struct PageState {
  std::optional<VmId> owner;
  bool exclusive = false;
  VmSet access = 0;
  friend bool operator==(const PageState&, const PageState&) = default;
};

struct Transaction {
  VmId sender = 0, receiver = 0;
  std::vector<Word> pages;  // page base addresses, ascending
  TransKind kind = TransKind::Share;
  bool retrieved = false;
  friend bool operator==(const Transaction&, const Transaction&) = default;
};

// Maps an address to the index of its declared page.
class PageIndex {
 public:
  PageIndex() = default;
  explicit PageIndex(const Machine& m);
  std::optional<std::size_t> find(Word addr) const {
    Word n = addr / page_size_;
    if (!dense_.empty()) {
      if (n >= dense_.size() || dense_[n] < 0) return std::nullopt;
      return std::size_t(dense_[n]);
    }
    auto it = sparse_.find(n);
    if (it == sparse_.end()) return std::nullopt;
    return it->second;
  }

 private:
  Word page_size_ = 1;
  std::vector<int> dense_;  // used when the address space is small (vmsl)
  std::unordered_map<Word, std::size_t> sparse_;
};

struct State {
  const Machine* machine = nullptr;
  std::vector<VmState> vms;
  std::vector<PageState> pgt;   // by page index (Machine::pages order)
  std::vector<Word> mem;        // page i occupies [i*page_size, (i+1)*page_size)
  std::map<Word, std::optional<Transaction>> trans;  // every valid handle; nullopt = free
  VmId current = 0;

  const Profile& profile() const { return *machine->profile; }
  Word& word(std::size_t page, Word offset) { return mem[page * profile().page_size + offset]; }
  Word word(std::size_t page, Word offset) const { return mem[page * profile().page_size + offset]; }
};

// The initial state a machine declaration describes: registers as declared
// (0 otherwise), each VM's pc at the start of its code, memory holding the
// encoded programs and the declared words, the current VM the primary.
State initial_state(const Machine& m);

}  // namespace hvsl
