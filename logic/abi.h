#pragma once
// A hypercall interface (an ABI) as hvsl reads it from a spec file such as
// specs/ffa.hvsl: which register selects the call, and for each call a
// footprint (`requires`) and guarded outcomes. vcgen/ executes `hvc` from
// these specs alone; it knows nothing of FF-A (docs/language.md, "Hypercall
// spec files").
//
// Names inside a call's assertions and guards:
//   r0..r30, nz   the caller's registers (in an outcome's ensures: after the
//                 call; old(r1) is the value at the call)
//   caller        the calling VM's id
//   any other     a pattern variable bound by the requires clause
#include <string>
#include <vector>

#include "logic/instruction.h"
#include "logic/spec.h"

namespace hvsl {

struct HvcOutcome {
  std::string name;
  SourceLoc loc;
  Term guard;               // when this outcome happens (pure; true for an unguarded one)
  SourceLoc guard_loc;
  bool otherwise = false;   // the guard is "none of the others"
  std::vector<Reg> writes;  // the caller's registers the call changes
  AssertionPtr ensures;     // produced; includes the footprint the outcome leaves as it was
  Term switch_to;           // valid: control passes to this VM; the caller resumes later
};

struct HvcSpec {
  std::string name;
  Word id = 0;
  SourceLoc loc;
  AssertionPtr requires_;   // the footprint, consumed before the outcome is chosen (null: emp)
  Term facts;               // the top-level pure conjuncts of requires (for the outcome checks)
  std::vector<HvcOutcome> outcomes;
};

// invariant A implies e: a fact of every state the hypervisor keeps (such
// as VMSL's transaction/page-table consistency, §3.1). Whenever the caller
// holds chunks matching `chunks` (any fraction; '?x' in keys and values
// binds), `fact` holds of their values.
struct AbiFact {
  std::vector<AssertionPtr> chunks;
  Term fact;
  SourceLoc loc;
};

struct Abi {
  std::string file;         // where it was read from
  Reg select = 0;           // the register holding the function id
  Word select_modulus = 0;  // nonzero: the id is that register's value modulo this ('select r0 % 16')
  std::vector<HvcSpec> calls;
  std::vector<AbiFact> facts;
  // The function id a value of the selecting register names.
  Word call_id(Word reg_value) const { return select_modulus ? reg_value % select_modulus : reg_value; }
  const HvcSpec* find(Word id) const {
    for (const auto& c : calls)
      if (c.id == id) return &c;
    return nullptr;
  }
};

}  // namespace hvsl
