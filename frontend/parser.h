#pragma once
// The frontend's one entry point: text in, a checked Machine out, or
// diagnostics saying what is wrong and where.
#include <memory>
#include <optional>
#include <string>

#include "frontend/diagnostics.h"
#include "frontend/source.h"
#include "logic/abi.h"
#include "logic/machine.h"

namespace hvsl {

// Parses and checks a whole .hvsl file. Returns nullopt if there is any
// error; warnings may be reported either way.
std::optional<Machine> parse_machine(const SourceFile& src, Diagnostics& diags);

// Parses and checks a hypercall spec file (such as specs/ffa.hvsl) for a
// machine of this profile with `vm_count` VMs; `kind` picks the built-in
// constants it may use (FF-A's or NOVA's). Overlapping or missing outcomes
// are found later, with the solver (vcgen/abi_check.h).
std::optional<Abi> parse_abi(const SourceFile& src, const Profile& profile, std::size_t vm_count,
                             Diagnostics& diags, AbiKind kind = AbiKind::Ffa);

}  // namespace hvsl
