#pragma once
// NOVA-style kernel objects and calls (docs/nova.md): what a machine with
// 'abi nova' declares, and the numbers of the NOVA 2024 interface
// (../shared/reference/nova_ffa.md part A) as hvsl encodes them.
//
// Each hvsl VM is one protection domain (PD) with one execution context
// (EC). The trap is `hvc`; r0 holds the call number in its low 4 bits, the
// call's flags in bits 4..7 and a selector above (r0 = sel * 256 + flags * 16
// + number), r1..r4 are NOVA's p1..p4, and the status comes back in r0.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "logic/encoding.h"
#include "logic/source_loc.h"
#include "logic/word.h"

namespace hvsl {

enum class NovaCall : Word {
  IpcCall = 0, IpcReply, CreatePd, CreateEc, CreateSc, CreatePt, CreateSm, CtrlPd,
  CtrlEc, CtrlSc, CtrlPt, CtrlSm, CtrlHw, AssignInt, AssignDev  // 0xf: reserved, BAD_HYP
};
inline constexpr int kNovaCallCount = 15;

enum class NovaStatus : Word {
  Success = 0, Timeout, Aborted, Ovrflow, BadHyp, BadCap, BadPar, BadFtr, BadCpu, BadDev, MemObj, MemCap
};
inline constexpr int kNovaStatusCount = 12;

// What a capability refers to. Null is the empty slot; Obj is a PD's
// object space (the only space hvsl models: ctrl_pd delegates selectors,
// not memory).
enum class CapKind : Word { Null = 0, Pd, Ec, Sc, Pt, Sm, Obj };
inline constexpr int kCapKindCount = 7;

std::string_view name(NovaCall c);
std::string_view name(NovaStatus s);
std::string_view name(CapKind k);

// Permission bits per kind (nova_ffa.md A.4). A capability's permissions
// are 5 bits; 0 makes it the null capability.
namespace perm {
inline constexpr Word kMask = 0x1f;
inline constexpr Word PdPd = 1, PdEc = 2, PdSc = 4, PdPt = 8, PdSm = 16;
inline constexpr Word EcCtrl = 1, EcBindPt = 4, EcBindSc = 8;
inline constexpr Word ScCtrl = 1;
inline constexpr Word PtCtrl = 1, PtCall = 2, PtEvent = 4;
inline constexpr Word SmUp = 1, SmDn = 2, SmAssign = 16;
inline constexpr Word ObjGrant = 1, ObjTake = 2;
// The bits a kind defines (a declared capability may use no others).
Word defined(CapKind k);
}  // namespace perm

// Flags in bits 4..7 of r0.
inline constexpr Word kFlagShift = 4, kSelShift = 8;
inline constexpr Word kCallNoWait = 1;            // ipc_call: T, time out instead of waiting for a busy callee
inline constexpr Word kSmDown = 1, kSmZero = 2;   // ctrl_sm: D (down), Z (zero the counter on down)

// Selectors: NOVA has 2^18 per object space.
inline constexpr Word kSelectorCount = Word(1) << 18;
// Words in a UTCB, and so the most an IPC copies (mtd % 512 + 1 words).
inline constexpr Word kUtcbWords = 512;

// The names a nova machine and the nova spec file can use as constants:
// call numbers (IPC_CALL ...), statuses (SUCCESS ...), capability kinds
// (CAP_PT ...), permission bits (PT_CALL ...), flags already shifted into
// place in r0 (CALL_NOWAIT, SM_DOWN, SM_ZERO), SEL (the selector's
// multiplier in r0), UTCB_WORDS, PAGE_SIZE, WORD_MAX and the NZ_* values.
std::vector<NamedConstant> nova_constants(const Profile& p);

struct Capability {
  CapKind kind = CapKind::Null;
  Word obj = 0;    // Pd, Ec, Sc, Obj: the VM (PD) id; Pt: portal index; Sm: semaphore index
  Word perms = 0;
  bool null() const { return kind == CapKind::Null || perms == 0; }
  friend bool operator==(const Capability&, const Capability&) = default;
};

struct CapDecl {
  Capability cap;
  SourceLoc loc;
};

// portal NAME to VM [id N]: a portal bound to a local EC.
struct PortalDecl {
  std::string name;
  std::uint32_t ec = 0;  // the VM whose EC handles calls
  Word id = 0;           // what the handler gets in r0
  SourceLoc loc;
};

// semaphore NAME count N
struct SemaphoreDecl {
  std::string name;
  Word count = 0;
  SourceLoc loc;
};

}  // namespace hvsl
