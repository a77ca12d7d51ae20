#include "logic/machine.h"

namespace hvsl {

void Machine::encode_programs() {
  encoding = InstrTable(instruction_base(*profile));
  for (const auto& vm : vms)
    if (vm.code)
      for (const auto& i : vm.code->instrs) encoding.encode(i);
}

const PageDecl* Machine::page_at(Word addr) const {
  Word base = profile->page_of(addr);
  for (const auto& p : pages)
    if (p.base == base) return &p;
  return nullptr;
}

std::optional<VmId> Machine::vm_by_name(const std::string& name) const {
  for (VmId i = 0; i < vms.size(); ++i)
    if (vms[i].name == name) return i;
  return std::nullopt;
}

}  // namespace hvsl
