#include "tests/mutation/equivalence.h"

#include <vector>

#include "logic/interpreter.h"

namespace hvsl::mutation {

namespace {

// Enough for every example's loops; a run that reaches it in both machines
// is still compared (the same bound gives the same prefix).
constexpr std::uint64_t kMaxSteps = 100000;

// splitmix64: a small generator whose sequence is the same everywhere.
struct Random {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
};

// Values code tends to compare against: its immediates and the page bases.
std::vector<Word> interesting_values(const Machine& m) {
  std::vector<Word> out;
  for (const PageDecl& p : m.pages) out.push_back(p.base);
  for (const VmDecl& vm : m.vms)
    if (vm.code)
      for (const Instr& i : vm.code->instrs) out.push_back(i.imm);
  return out;
}

// A third small, a third near an interesting value, a third anywhere.
Word random_word(Random& rng, const Machine& m, const std::vector<Word>& interesting) {
  Word max = m.profile->word_max;
  std::uint64_t r = rng.next();
  switch (r % 3) {
    case 0: return rng.next() % 16;
    case 1: {
      Word v = interesting[rng.next() % interesting.size()] + rng.next() % 3;
      return v == 0 ? 0 : std::min(v - 1, max);
    }
    default: return max == ~Word(0) ? rng.next() : rng.next() % (max + 1);
  }
}

bool is_code_word(const Machine& m, Word addr) {
  for (const VmDecl& vm : m.vms)
    if (vm.code && addr >= vm.code->base && addr < vm.code->base + vm.code->instrs.size()) return true;
  return false;
}

// The first address of VM v's code that moved up in the mutant (none: no word).
Word moved_from(const Machine& mutant, const std::optional<Deletion>& deleted, VmId v) {
  if (!deleted || deleted->vm != v) return ~Word(0);
  return mutant.vms[v].code->base + deleted->index;
}

bool same_vm(const VmState& a, VmState b, Word moved_from) {
  // The mutant's pc, where the original's would be (after a deletion).
  if (b.pc() >= moved_from) b.pc() += 1;
  if (a.mode != b.mode || a.regs != b.regs || a.rx.has_value() != b.rx.has_value()) return false;
  return !a.rx || (a.rx->length == b.rx->length && a.rx->sender == b.rx->sender);
}

bool same_state(const Machine& ma, const State& a, const Machine& mb, const State& b,
                const std::optional<Deletion>& deleted) {
  if (a.current != b.current || a.pgt != b.pgt || a.trans != b.trans || a.mem.size() != b.mem.size()) return false;
  for (std::size_t v = 0; v < a.vms.size(); ++v)
    if (ma.vms[v].known && !same_vm(a.vms[v], b.vms[v], moved_from(mb, deleted, VmId(v)))) return false;
  Word page_size = ma.profile->page_size;
  for (std::size_t i = 0; i < a.mem.size(); ++i) {
    if (a.mem[i] == b.mem[i]) continue;
    Word addr = ma.pages[i / page_size].base + i % page_size;
    if (!is_code_word(ma, addr) && !is_code_word(mb, addr)) return false;
  }
  return true;
}

// One run of each machine from its initial state with these registers.
bool same_run(const Machine& original, const Machine& mutant, const std::vector<std::vector<Word>>& regs,
              const std::optional<Deletion>& deleted) {
  State sa = initial_state(original), sb = initial_state(mutant);
  for (std::size_t v = 0; v < regs.size(); ++v)
    for (Reg r = 0; r < kGeneralRegs; ++r) sa.vms[v].regs[r] = sb.vms[v].regs[r] = regs[v][r];
  Interpreter a(std::move(sa)), b(std::move(sb));
  RunResult ra = a.run(kMaxSteps), rb = b.run(kMaxSteps);
  return ra.reason == rb.reason && same_state(original, a.state(), mutant, b.state(), deleted);
}

}  // namespace

bool equivalent_by_interpreter(const Machine& original, const Machine& mutant, std::uint64_t seed,
                               int random_runs, std::optional<Deletion> deleted) {
  if (original.vms.size() != mutant.vms.size() || original.pages.size() != mutant.pages.size()) return false;
  // The declared initial state first: its registers as declared.
  if (!same_run(original, mutant, {}, deleted)) return false;
  Random rng{seed};
  auto interesting = interesting_values(original);
  for (int run = 0; run < random_runs; ++run) {
    std::vector<std::vector<Word>> regs(original.vms.size(), std::vector<Word>(kGeneralRegs));
    for (auto& vm : regs)
      for (Word& w : vm) w = random_word(rng, original, interesting);
    if (!same_run(original, mutant, regs, deleted)) return false;
  }
  return true;
}

}  // namespace hvsl::mutation
