#pragma once
// Machine words and the small value types every layer shares.
#include <cstdint>

namespace hvsl {

// A machine word. Both profiles fit in 64 bits: VMSL's words are 0..1,999,999.
using Word = std::uint64_t;

// Index of a VM in declaration order; VM 0 is the primary.
using VmId = std::uint32_t;

// Most VMs a machine may declare (access sets are 64-bit masks).
inline constexpr VmId kMaxVms = 64;

}  // namespace hvsl
