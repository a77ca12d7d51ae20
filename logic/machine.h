#pragma once
// The declared machine: what a .hvsl file says about VMs, pages, the page
// table, mailboxes, memory, transactions and programs. The frontend builds it
// and checks it; the interpreter and (later) the verifier start from it.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "logic/encoding.h"
#include "logic/instruction.h"
#include "logic/nova.h"
#include "logic/profile.h"
#include "logic/source_loc.h"
#include "logic/spec.h"
#include "logic/word.h"

namespace hvsl {

// A set of VMs, as a bit mask over VM ids.
using VmSet = std::uint64_t;
inline VmSet vm_bit(VmId v) { return VmSet(1) << v; }
inline bool contains(VmSet s, VmId v) { return (s >> v) & 1; }

struct PageDecl {
  std::string name;
  Word base = 0;                // page-aligned address
  std::optional<VmId> owner;    // nullopt: owned by the hypervisor (mailboxes)
  bool exclusive = false;
  VmSet access = 0;
  SourceLoc loc;
};

struct RxMessage {
  Word length = 0;
  VmId sender = 0;
};

struct CodeBlock {
  Word base = 0;                // address of the first instruction
  std::vector<Instr> instrs;
  std::vector<SourceLoc> locs;  // one per instruction
  SourceLoc loc;
};

struct VmDecl {
  std::string name;
  bool known = true;
  std::optional<std::size_t> tx, rx;  // indices into Machine::pages
  std::optional<RxMessage> rx_message;
  std::map<Reg, Word> regs;           // initial register values (default 0)
  std::optional<CodeBlock> code;
  SourceLoc loc;
  SourceLoc tx_loc, rx_loc;  // where the mailboxes are given
  // Pages the VM uses without owning their content ('shares PAGE'): a load
  // there gives an arbitrary value and a store is not remembered.
  struct Shared {
    std::size_t page = 0;  // index into Machine::pages
    SourceLoc loc;
  };
  std::vector<Shared> shares;
  // abi nova: the EC's UTCB page, whether the EC is local (runs only when
  // called through a portal), and the PD's capabilities by selector.
  std::optional<std::size_t> utcb;    // index into Machine::pages
  SourceLoc utcb_loc;
  bool local = false;
  std::map<Word, CapDecl> caps;
  VmSpec spec;               // requires/ensures, invariants, ghost code
};

struct TransactionDecl {
  Word handle = 0;
  VmId sender = 0, receiver = 0;
  TransKind kind = TransKind::Share;
  std::vector<Word> pages;  // page base addresses, ascending, no duplicates
  bool retrieved = false;
  SourceLoc loc;
};

struct MemoryInit {
  Word addr = 0;
  Word value = 0;
  SourceLoc loc;
};

struct Label {
  std::string name;
  Word addr = 0;
  VmId vm = 0;
  SourceLoc loc;
};

// Which hypercall interface `hvc` traps to.
enum class AbiKind { Ffa, Nova };

struct Machine {
  const Profile* profile = &Profile::vmsl();
  AbiKind abi = AbiKind::Ffa;
  std::vector<PortalDecl> portals;        // abi nova
  std::vector<SemaphoreDecl> semaphores;  // abi nova
  std::vector<PageDecl> pages;
  std::vector<VmDecl> vms;          // index = VM id
  std::vector<Word> handles;        // the valid handles, ascending
  std::vector<TransactionDecl> transactions;
  std::vector<MemoryInit> memory;
  std::vector<Label> labels;
  std::map<std::string, Predicate> predicates;
  InstrTable encoding{0};

  // Numbers every instruction of every program (call after adding code).
  void encode_programs();

  const PageDecl* page_at(Word addr) const;  // the page containing addr
  std::optional<VmId> vm_by_name(const std::string& name) const;
};

}  // namespace hvsl
