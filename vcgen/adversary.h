#pragma once
// Robust safety (docs/robust_safety.md): hvsl never executes the code of an
// unknown VM. It treats the unknown VMs together as one adversary that may
// run whenever a known VM is descheduled, and that may change anything in
// its reach. This file computes the static part of that reach from the
// machine declaration (VMSL's `interp_access`, vmsl.md §5.2) and checks
// that the known VMs' specs hold nothing in it.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "logic/machine.h"
#include "vcgen/claims.h"

namespace hvsl {

struct Adversary {
  VmSet vms = 0;  // the unknown VMs
  // The pages they can access, own, retrieve or reclaim through a declared
  // transaction, and their mailboxes; for each, why (for messages).
  struct Why {
    std::string text;  // "vm2 can access it"
    SourceLoc loc;     // the declaration that says so
  };
  std::map<Word, Why> pages;
  // abi nova (docs/robust_safety.md, "NOVA"): the protection domains whose
  // capabilities the unknown PDs can change (their own, and those an OBJ
  // capability in a reached space names), the portals and semaphores a
  // capability in those spaces names, and the ECs the unknown PDs are or
  // can call through those portals or bind a new portal to (an EC
  // capability). Objects made while the machine runs (a PD, portal or
  // semaphore numbered past the declared ones) are counted in, whoever made
  // them.
  bool nova = false;
  std::map<VmId, Why> pds, ecs;
  std::map<Word, Why> portals, sms;
  Word declared_pds = 0, declared_portals = 0, declared_sms = 0;
  bool any() const { return vms != 0; }
  bool unknown(VmId v) const { return contains(vms, v); }
  // Whether a resource chunk with these constant keys is in the reach, and
  // why; nullopt if not. Handles of declared transactions with an unknown
  // party count as in reach.
  std::optional<Why> reaches(const Machine& m, const std::string& name, const std::vector<Word>& keys) const;
};

Adversary adversary_of(const Machine& m);

// For each known VM in `vms` (those whose code is verified): its code page
// and every chunk its 'requires' or 'receives' holds must be out of the
// adversary's reach (footprint.overlap), and no known VM may hold memory on
// a page some known VM 'shares' (shares.held).
std::vector<ClaimProblem> check_footprints(const Machine& m, const Adversary& a, const std::vector<VmId>& vms);

}  // namespace hvsl
