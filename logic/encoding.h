#pragma once
// Concrete encodings of the FF-A interface and of instructions, per profile.
// VMSL leaves all of these abstract; docs/language.md lists the values.
//  - vmsl:  function ids are FF-A's function numbers (0x6D for run, ...),
//           error codes are the magnitudes of FF-A's (INV_PARAM = 2, ...).
//  - arm64: FF-A's real 32-bit function ids (0x8400006D, ...) and error
//           codes (negative numbers carried zero-extended in a 32-bit register).
#include <optional>
#include <unordered_map>
#include <string_view>
#include <vector>

#include "logic/instruction.h"
#include "logic/profile.h"
#include "logic/word.h"

namespace hvsl {

enum class Hypercall { Run, Yield, Share, Lend, Donate, Retrieve, Relinquish, Reclaim, Send, Wait, Poll };
inline constexpr int kHypercallCount = 11;
enum class HvcError { InvParam, Denied, Busy, Ready, NoMem };
enum class TransKind { Share, Lend, Donate };

std::string_view name(Hypercall h);
std::string_view name(HvcError e);
std::string_view name(TransKind k);

Word encode(const Profile& p, Hypercall h);
std::optional<Hypercall> decode_hypercall(const Profile& p, Word w);
Word encode(const Profile& p, HvcError e);
Word encode(const Profile& p, TransKind k);
std::optional<TransKind> decode_trans_kind(const Profile& p, Word w);
Word encode_success(const Profile& p);
Word encode_error(const Profile& p);

// A named constant usable as an immediate (RUN, SUCCESS, INV_PARAM, ...).
struct NamedConstant {
  std::string_view name;
  Word value;
  std::string_view what;  // "hypercall", "return code", ...
};
std::vector<NamedConstant> builtin_constants(const Profile& p);
// The constants of the machine itself, whatever its ABI: PAGE_SIZE,
// WORD_MAX and the NZ_* values (part of builtin_constants and of NOVA's).
std::vector<NamedConstant> machine_constants(const Profile& p);

// Instructions are stored in memory as words. No fixed encoding of all
// instructions fits VMSL's 2,000,000 words (mov alone has 31 million forms),
// so hvsl numbers the distinct instructions a machine uses: instruction k of
// the table is the word base + k. Every other word does not decode.
class InstrTable {
 public:
  explicit InstrTable(Word base) : base_(base) {}
  Word encode(const Instr& i);  // adds i to the table if it is new
  std::optional<Word> find(const Instr& i) const {
    auto it = index_.find(i);
    if (it == index_.end()) return std::nullopt;
    return base_ + Word(it->second);
  }
  const Instr* decode(Word w) const {
    if (w < base_ || w - base_ >= table_.size()) return nullptr;
    return &table_[w - base_];
  }
  Word base() const { return base_; }
  std::size_t size() const { return table_.size(); }

 private:
  struct InstrHash {
    std::size_t operator()(const Instr& i) const {
      return std::hash<Word>()(i.imm) ^ (std::size_t(i.op) << 16 | std::size_t(i.a) << 8 | i.b) * 0x9E3779B97F4A7C15ULL;
    }
  };
  Word base_;
  std::vector<Instr> table_;
  std::unordered_map<Instr, std::size_t, InstrHash> index_;
};

// Where instruction encodings start: above every immediate in vmsl, so no
// "mov" can write an instruction word by accident.
Word instruction_base(const Profile& p);

}  // namespace hvsl
