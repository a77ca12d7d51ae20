#include "logic/nova.h"

namespace hvsl {

std::string_view name(NovaCall c) {
  static constexpr std::string_view names[] = {"IPC_CALL", "IPC_REPLY", "CREATE_PD", "CREATE_EC", "CREATE_SC",
                                               "CREATE_PT", "CREATE_SM", "CTRL_PD",   "CTRL_EC",   "CTRL_SC",
                                               "CTRL_PT",  "CTRL_SM",   "CTRL_HW",   "ASSIGN_INT", "ASSIGN_DEV"};
  return names[Word(c)];
}

std::string_view name(NovaStatus s) {
  static constexpr std::string_view names[] = {"SUCCESS", "TIMEOUT", "ABORTED", "OVRFLOW", "BAD_HYP", "BAD_CAP",
                                               "BAD_PAR", "BAD_FTR", "BAD_CPU", "BAD_DEV", "MEM_OBJ", "MEM_CAP"};
  return names[Word(s)];
}

std::string_view name(CapKind k) {
  static constexpr std::string_view names[] = {"null", "pd", "ec", "sc", "portal", "sm", "obj"};
  return names[Word(k)];
}

namespace perm {
Word defined(CapKind k) {
  switch (k) {
    case CapKind::Null: return 0;
    case CapKind::Pd: return PdPd | PdEc | PdSc | PdPt | PdSm;
    case CapKind::Ec: return EcCtrl | EcBindPt | EcBindSc;
    case CapKind::Sc: return ScCtrl;
    case CapKind::Pt: return PtCtrl | PtCall | PtEvent;
    case CapKind::Sm: return SmUp | SmDn | SmAssign;
    case CapKind::Obj: return ObjGrant | ObjTake;
  }
  return 0;
}
}  // namespace perm

std::vector<NamedConstant> nova_constants(const Profile& p) {
  std::vector<NamedConstant> out;
  for (int i = 0; i < kNovaCallCount; ++i) out.push_back({name(NovaCall(i)), Word(i), "NOVA call number"});
  for (int i = 0; i < kNovaStatusCount; ++i) out.push_back({name(NovaStatus(i)), Word(i), "NOVA status"});
  static constexpr std::string_view kinds[] = {"CAP_NULL", "CAP_PD", "CAP_EC", "CAP_SC", "CAP_PT", "CAP_SM", "CAP_OBJ"};
  for (int i = 0; i < kCapKindCount; ++i) out.push_back({kinds[i], Word(i), "capability kind"});
  using namespace perm;
  const std::pair<std::string_view, Word> perms[] = {
      {"PD_PD", PdPd},     {"PD_EC", PdEc},         {"PD_SC", PdSc},         {"PD_PT", PdPt},   {"PD_SM", PdSm},
      {"EC_CTRL", EcCtrl}, {"EC_BIND_PT", EcBindPt}, {"EC_BIND_SC", EcBindSc}, {"SC_CTRL", ScCtrl},
      {"PT_CTRL", PtCtrl}, {"PT_CALL", PtCall},     {"PT_EVENT", PtEvent},   {"SM_UP", SmUp},   {"SM_DN", SmDn},
      {"SM_ASSIGN", SmAssign}, {"OBJ_GRANT", ObjGrant}, {"OBJ_TAKE", ObjTake}};
  for (auto [n, v] : perms) out.push_back({n, v, "capability permission bit"});
  out.push_back({"CALL_NOWAIT", kCallNoWait << kFlagShift, "ipc_call flag T in r0"});
  out.push_back({"SM_DOWN", kSmDown << kFlagShift, "ctrl_sm flag D in r0"});
  out.push_back({"SM_ZERO", kSmZero << kFlagShift, "ctrl_sm flag Z in r0"});
  out.push_back({"SEL", Word(1) << kSelShift, "a selector's multiplier in r0"});
  static constexpr std::string_view waits[] = {"EC_READY", "EC_IDLE", "EC_REPLY", "EC_BLOCKED", "EC_HELPING", "EC_DEAD"};
  for (int i = 0; i < 6; ++i) out.push_back({waits[i], Word(i), "what an EC waits for (ec(vm))"});
  out.push_back({"UTCB_WORDS", kUtcbWords, "words in a UTCB"});
  for (auto& c : machine_constants(p)) out.push_back(c);
  return out;
}

}  // namespace hvsl
