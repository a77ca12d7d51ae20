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

// abi nova: what the kernel keeps beside the VMSL state (docs/nova.md).
struct NovaEc {
  // Why the EC cannot run: waiting for a call (a local EC between calls),
  // for the reply to its call, in a semaphore's queue, or for a busy callee
  // to become free (its ipc_call is retried then).
  enum class Wait : std::uint8_t { None, Idle, Reply, Semaphore, Callee };
  Wait wait = Wait::None;
  std::optional<VmId> partner;  // the caller whose reply is due (callee side)
  VmId callee = 0;              // Wait::Callee: the EC it waits for
  friend bool operator==(const NovaEc&, const NovaEc&) = default;
};

struct NovaSemaphore {
  Word counter = 0;
  std::vector<VmId> queue;  // blocked ECs, head first
  friend bool operator==(const NovaSemaphore&, const NovaSemaphore&) = default;
};

struct NovaPortal {
  VmId ec = 0;
  Word id = 0;
  friend bool operator==(const NovaPortal&, const NovaPortal&) = default;
};

struct NovaState {
  std::vector<std::map<Word, Capability>> caps;  // by PD; created PDs come after the VMs
  std::vector<NovaEc> ecs;                        // by VM
  std::vector<NovaPortal> portals;
  std::vector<NovaSemaphore> sms;
  Word created = 0;  // PDs, ECs and SCs made by create_*: they hold no code and never run
};

struct State {
  const Machine* machine = nullptr;
  std::vector<VmState> vms;
  std::vector<PageState> pgt;   // by page index (Machine::pages order)
  std::vector<Word> mem;        // page i occupies [i*page_size, (i+1)*page_size)
  std::map<Word, std::optional<Transaction>> trans;  // every valid handle; nullopt = free
  VmId current = 0;
  NovaState nova;  // abi nova only

  const Profile& profile() const { return *machine->profile; }
  Word& word(std::size_t page, Word offset) { return mem[page * profile().page_size + offset]; }
  Word word(std::size_t page, Word offset) const { return mem[page * profile().page_size + offset]; }
};

// The initial state a machine declaration describes: registers as declared
// (0 otherwise), each VM's pc at the start of its code, memory holding the
// encoded programs and the declared words, the current VM the primary.
State initial_state(const Machine& m);

}  // namespace hvsl
