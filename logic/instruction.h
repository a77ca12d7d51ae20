#pragma once
// The 13 VMSL instructions, their operand rules and their printing.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "logic/word.h"

namespace hvsl {

// r0..r30 are general registers; pc and nz are the two special ones.
using Reg = std::uint8_t;
inline constexpr Reg kGeneralRegs = 31;
inline constexpr Reg kPc = 31;
inline constexpr Reg kNz = 32;
inline constexpr Reg kRegCount = 33;

inline bool is_general(Reg r) { return r < kGeneralRegs; }
std::string reg_name(Reg r);
std::optional<Reg> reg_by_name(std::string_view name);

// The comparison flag values VMSL's cmp writes to nz.
inline constexpr Word kNzGreater = 0;  // first operand > second
inline constexpr Word kNzEqual = 1;
inline constexpr Word kNzLess = 2;     // first operand < second

enum class Op : std::uint8_t {
  Nop, MovImm, MovReg, Ldr, Str, CmpImm, CmpReg, Add, Sub, Mult, Bne, Br, Halt, Fail, Hvc
};

// One decoded instruction. Field use by opcode:
//   mov a, imm | mov a, b | ldr a, b (a := mem[b]) | str a, b (mem[b] := a)
//   cmp a, imm | cmp a, b | add a, b | sub a, b | mult a, imm | bne a | br a
struct Instr {
  Op op = Op::Nop;
  Reg a = 0;
  Reg b = 0;
  Word imm = 0;

  friend bool operator==(const Instr&, const Instr&) = default;
};

std::string_view mnemonic(Op op);
std::string to_string(const Instr& i);

// Why an instruction is not valid, or nullopt if it is. Validity is hvsl's
// explicit version of VMSL's (see docs/language.md, "Instruction validity"):
// every register operand is general (not pc or nz), and the two registers of
// mov/ldr/str/cmp/add/sub must differ. nop, halt, fail and hvc are valid.
std::optional<std::string> invalid_reason(const Instr& i);

}  // namespace hvsl
