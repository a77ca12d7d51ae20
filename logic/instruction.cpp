#include "logic/instruction.h"

#include <fmt/format.h>

namespace hvsl {

std::string reg_name(Reg r) {
  if (r == kPc) return "pc";
  if (r == kNz) return "nz";
  return fmt::format("r{}", r);
}

std::optional<Reg> reg_by_name(std::string_view name) {
  if (name == "pc") return kPc;
  if (name == "nz") return kNz;
  if (name.size() < 2 || name.size() > 3 || name[0] != 'r') return std::nullopt;
  unsigned n = 0;
  for (char c : name.substr(1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + unsigned(c - '0');
  }
  if (name.size() == 3 && name[1] == '0') return std::nullopt;  // no "r05"
  if (n >= kGeneralRegs) return std::nullopt;
  return Reg(n);
}

std::string_view mnemonic(Op op) {
  switch (op) {
    case Op::Nop: return "nop";
    case Op::MovImm: case Op::MovReg: return "mov";
    case Op::Ldr: return "ldr";
    case Op::Str: return "str";
    case Op::CmpImm: case Op::CmpReg: return "cmp";
    case Op::Add: return "add";
    case Op::Sub: return "sub";
    case Op::Mult: return "mult";
    case Op::Bne: return "bne";
    case Op::Br: return "br";
    case Op::Halt: return "halt";
    case Op::Fail: return "fail";
    case Op::Hvc: return "hvc";
  }
  return "?";
}

std::string to_string(const Instr& i) {
  switch (i.op) {
    case Op::Nop: case Op::Halt: case Op::Fail: case Op::Hvc:
      return std::string(mnemonic(i.op));
    case Op::MovImm: case Op::CmpImm: case Op::Mult:
      return fmt::format("{} {}, {}", mnemonic(i.op), reg_name(i.a), i.imm);
    case Op::Bne: case Op::Br:
      return fmt::format("{} {}", mnemonic(i.op), reg_name(i.a));
    default:
      return fmt::format("{} {}, {}", mnemonic(i.op), reg_name(i.a), reg_name(i.b));
  }
}

std::optional<std::string> invalid_reason(const Instr& i) {
  auto special = [&](Reg r) -> std::optional<std::string> {
    if (is_general(r)) return std::nullopt;
    return fmt::format("'{}' cannot be an operand of '{}': only r0..r30 are allowed",
                       reg_name(r), mnemonic(i.op));
  };
  switch (i.op) {
    case Op::Nop: case Op::Halt: case Op::Fail: case Op::Hvc:
      return std::nullopt;
    case Op::MovImm: case Op::CmpImm: case Op::Mult: case Op::Bne: case Op::Br:
      return special(i.a);
    case Op::MovReg: case Op::Ldr: case Op::Str: case Op::CmpReg: case Op::Add: case Op::Sub:
      if (auto e = special(i.a)) return e;
      if (auto e = special(i.b)) return e;
      if (i.a == i.b)
        return fmt::format("the two registers of '{}' must be different (both are {})",
                           mnemonic(i.op), reg_name(i.a));
      return std::nullopt;
  }
  return "unknown opcode";
}

}  // namespace hvsl
