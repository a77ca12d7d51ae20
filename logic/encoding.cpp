#include "logic/encoding.h"

#include <array>

namespace hvsl {
namespace {

// FF-A function numbers (the low byte of the 32-bit SMCCC function ids).
constexpr std::array<Word, kHypercallCount> kFunctionNumber = {
    0x6D,  // Run        FFA_RUN
    0x6C,  // Yield      FFA_YIELD
    0x73,  // Share      FFA_MEM_SHARE
    0x72,  // Lend       FFA_MEM_LEND
    0x71,  // Donate     FFA_MEM_DONATE
    0x74,  // Retrieve   FFA_MEM_RETRIEVE_REQ
    0x76,  // Relinquish FFA_MEM_RELINQUISH
    0x77,  // Reclaim    FFA_MEM_RECLAIM
    0x6E,  // Send       FFA_MSG_SEND (v1.0)
    0x6B,  // Wait       FFA_MSG_WAIT
    0x6A,  // Poll       FFA_MSG_POLL (v1.0)
};
constexpr Word kFfaFast32 = 0x84000000;  // SMCCC fast call, 32-bit, standard service
constexpr Word kErrorNumber = 0x60, kSuccessNumber = 0x61;

// Magnitudes of FF-A's error codes: INVALID_PARAMETERS = -2, DENIED = -6,
// BUSY = -4, NOT_READY = -10, NO_MEMORY = -3.
Word error_magnitude(HvcError e) {
  switch (e) {
    case HvcError::InvParam: return 2;
    case HvcError::Denied: return 6;
    case HvcError::Busy: return 4;
    case HvcError::Ready: return 10;
    case HvcError::NoMem: return 3;
  }
  return 0;
}

bool is_arm(const Profile& p) { return p.kind == ProfileKind::Arm64; }

}  // namespace

std::string_view name(Hypercall h) {
  static constexpr std::array<std::string_view, kHypercallCount> n = {
      "RUN", "YIELD", "SHARE", "LEND", "DONATE", "RETRIEVE", "RELINQUISH", "RECLAIM", "SEND", "WAIT", "POLL"};
  return n[std::size_t(h)];
}
std::string_view name(HvcError e) {
  static constexpr std::array<std::string_view, 5> n = {"INV_PARAM", "DENIED", "BUSY", "READY", "NO_MEM"};
  return n[std::size_t(e)];
}
std::string_view name(TransKind k) {
  static constexpr std::array<std::string_view, 3> n = {"SHARING", "LENDING", "DONATION"};
  return n[std::size_t(k)];
}

Word encode(const Profile& p, Hypercall h) {
  Word n = kFunctionNumber[std::size_t(h)];
  return is_arm(p) ? kFfaFast32 | n : n;
}

std::optional<Hypercall> decode_hypercall(const Profile& p, Word w) {
  for (int i = 0; i < kHypercallCount; ++i)
    if (encode(p, Hypercall(i)) == w) return Hypercall(i);
  return std::nullopt;
}

Word encode(const Profile& p, HvcError e) {
  Word m = error_magnitude(e);
  return is_arm(p) ? (0x1'0000'0000ULL - m) : m;  // -m as a zero-extended 32-bit value
}

// FF-A's transaction-type field: 1 share, 2 lend, 3 donate (both profiles).
Word encode(const Profile&, TransKind k) { return Word(k) + 1; }
std::optional<TransKind> decode_trans_kind(const Profile&, Word w) {
  if (w >= 1 && w <= 3) return TransKind(w - 1);
  return std::nullopt;
}

Word encode_success(const Profile& p) { return is_arm(p) ? kFfaFast32 | kSuccessNumber : kSuccessNumber; }
Word encode_error(const Profile& p) { return is_arm(p) ? kFfaFast32 | kErrorNumber : kErrorNumber; }

std::vector<NamedConstant> builtin_constants(const Profile& p) {
  std::vector<NamedConstant> out;
  for (int i = 0; i < kHypercallCount; ++i)
    out.push_back({name(Hypercall(i)), encode(p, Hypercall(i)), "hypercall function id"});
  out.push_back({"SUCCESS", encode_success(p), "hypercall return code"});
  out.push_back({"ERROR", encode_error(p), "hypercall return code"});
  for (int e = 0; e < 5; ++e) out.push_back({name(HvcError(e)), encode(p, HvcError(e)), "hypercall error code"});
  for (int k = 0; k < 3; ++k) out.push_back({name(TransKind(k)), encode(p, TransKind(k)), "transaction kind"});
  for (auto& c : machine_constants(p)) out.push_back(c);
  return out;
}

std::vector<NamedConstant> machine_constants(const Profile& p) {
  std::vector<NamedConstant> out;
  out.push_back({"PAGE_SIZE", p.page_size, "words per page"});
  out.push_back({"WORD_MAX", p.word_max, "largest word"});
  out.push_back({"NZ_LESS", kNzLess, "nz after cmp a, b with a < b"});
  out.push_back({"NZ_EQUAL", kNzEqual, "nz after cmp a, b with a = b"});
  out.push_back({"NZ_GREATER", kNzGreater, "nz after cmp a, b with a > b"});
  return out;
}

Word InstrTable::encode(const Instr& i) {
  auto [it, added] = index_.try_emplace(i, table_.size());
  if (added) table_.push_back(i);
  return base_ + Word(it->second);
}

Word instruction_base(const Profile& p) {
  return is_arm(p) ? 0xFFFF'0000'0000'0000ULL : p.imm_max + 1;
}

}  // namespace hvsl
