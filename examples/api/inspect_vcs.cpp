// inspect_vcs: verify a .hvsl file through the library and show every
// verification condition (VC) the verifier sent to the solver, then every
// failure with its counterexample. A worked example of the public API
// (docs/api.md); it includes nothing outside the public headers.
//
//   inspect_vcs [--smtlib] FILE.hvsl
//
// Exit code: 0 every block verified, 1 a block failed or is inconclusive,
// 2 the file cannot be read or parsed, 125 an internal error.
#include <cstring>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/diagnostics.h"
#include "frontend/parser.h"
#include "frontend/source.h"
#include "logic/machine.h"
#include "logic/term.h"
#include "smt/solver.h"
#include "vcgen/result.h"
#include "vcgen/verifier.h"

namespace {

// "file:line:col", or "(no location)" for queries not tied to source.
std::string where(const hvsl::SourceLoc& loc) {
  if (!loc.valid()) return "(no location)";
  return loc.file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
}

// The SMT-LIB text, indented: all of it, or its first `max_lines` lines
// that are not comments or (set-info ...).
void print_smtlib(const std::string& text, bool full, std::size_t max_lines = 3) {
  std::istringstream in(text);
  std::string line;
  std::size_t shown = 0, total = 0;
  while (std::getline(in, line)) {
    ++total;
    bool boring = line.empty() || line[0] == ';' || line.rfind("(set-info", 0) == 0;
    if (full || (shown < max_lines && !boring)) {
      std::cout << "        " << line << "\n";
      ++shown;
    }
  }
  if (shown < total) std::cout << "        ... (" << total << " lines in all; --smtlib shows them)\n";
}

void print_vc(std::size_t index, const hvsl::VcRecord& vc, bool full_smtlib) {
  std::cout << "  vc " << index << ": " << vc.purpose << " at " << where(vc.loc) << ": " << vc.verdict << "\n";
  // A validity query has a goal ("do the assumptions imply it?"); a
  // satisfiability query (may this branch be taken, may these alias?) has none.
  std::cout << "      kind: " << (vc.goal.valid() ? "validity" : "satisfiability") << "\n";
  for (const hvsl::Term& a : vc.assumptions) std::cout << "      assume " << hvsl::to_string(a) << "\n";
  if (vc.goal.valid()) std::cout << "      prove  " << hvsl::to_string(vc.goal) << "\n";
  std::cout << "      smt-lib:\n";
  print_smtlib(vc.smtlib, full_smtlib);
}

// A counterexample can name a whole page of memory: show the first few
// entries of each list.
constexpr std::size_t kListed = 12;

template <class List, class Print>
void print_some(const List& list, Print print) {
  for (std::size_t i = 0; i < list.size() && i < kListed; ++i) print(list[i]);
  if (list.size() > kListed) std::cout << "      ... (" << list.size() - kListed << " more)\n";
}

void print_counterexample(const hvsl::Counterexample& cex) {
  std::cout << "    counterexample:";
  if (!cex.replayed) std::cout << " not replayed";
  else std::cout << (cex.confirmed ? " replayed, confirmed" : " replayed, NOT confirmed");
  if (!cex.replay_note.empty()) std::cout << " (" << cex.replay_note << ")";
  std::cout << "\n      registers at the start:";
  if (cex.registers.empty()) std::cout << " all 0";
  for (const auto& [reg, value] : cex.registers) std::cout << " " << reg << "=" << value;
  std::cout << "\n";
  print_some(cex.memory, [](const auto& m) { std::cout << "      mem[" << m.first << "] = " << m.second << "\n"; });
  print_some(cex.logical, [](const auto& v) { std::cout << "      " << v.first << " = " << v.second << "\n"; });
}

void print_failure(const hvsl::Failure& f) {
  std::cout << "  failure [" << f.id << "] at " << where(f.loc) << (f.inconclusive ? " (inconclusive)" : "") << ": "
            << f.message << "\n";
  if (f.related.valid())
    std::cout << "    related: " << where(f.related) << (f.related_note.empty() ? "" : ": " + f.related_note) << "\n";
  if (f.cex) print_counterexample(*f.cex);
}

}  // namespace

int main(int argc, char** argv) {
  bool full_smtlib = false;
  std::string path;
  bool bad_usage = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smtlib") == 0) full_smtlib = true;
    else if (path.empty() && argv[i][0] != '-') path = argv[i];
    else bad_usage = true;
  }
  if (bad_usage || path.empty()) {
    std::cerr << "usage: inspect_vcs [--smtlib] FILE.hvsl\n";
    return 2;
  }

  // 1. Read and parse. Diagnostics (errors and warnings) point into the source.
  std::string error;
  std::unique_ptr<hvsl::SourceFile> src = hvsl::read_source_file(path, error);
  if (!src) {
    std::cerr << path << ": " << error << "\n";
    return 2;
  }
  hvsl::Diagnostics diags;
  std::optional<hvsl::Machine> machine = hvsl::parse_machine(*src, diags);
  for (const hvsl::Diagnostic& d : diags.all()) std::cerr << hvsl::render(d, src.get());
  if (!machine) return 2;

  // 2. Verify every known VM that has an `ensures`, keeping every VC.
  hvsl::VerifyOptions opts;
  opts.keep_vcs = true;         // fill BlockResult::vcs
  opts.smt.timeout_ms = 5'000;  // per query; a timeout is "unknown", never "valid"
  opts.smt.seed = 1;            // Z3's random seed, for reproducible runs
  hvsl::HvcSpecTable no_hypercall_specs;
  hvsl::smt::Stats stats;
  std::vector<hvsl::BlockResult> blocks;
  try {
    blocks = hvsl::verify_machine(*machine, no_hypercall_specs, opts, &stats);
  } catch (const std::exception& e) {  // a Z3 error, or a dump directory that cannot be written
    std::cerr << "inspect_vcs: internal error: " << e.what() << "\n";
    return 125;
  }

  // 3. Report, block by block.
  int exit_code = 0;
  if (blocks.empty()) std::cout << path << ": nothing to verify (no known VM has an 'ensures')\n";
  for (const hvsl::BlockResult& b : blocks) {
    std::cout << "block " << b.vm << " at " << where(b.loc) << ": " << hvsl::name(b.verdict)
              << " (paths: " << b.paths << ", queries: " << b.queries << ", VCs recorded: " << b.vcs.size()
              << ", failures: " << b.failures.size() << ")\n";
    for (std::size_t i = 0; i < b.vcs.size(); ++i) print_vc(i + 1, b.vcs[i], full_smtlib);
    for (const hvsl::Failure& f : b.failures) print_failure(f);
    if (b.verdict != hvsl::Verdict::Verified) exit_code = 1;
  }
  // Solver-wide counts: check_valid's Valid and check_sat's "satisfiable"
  // both count as `valid`, their Invalid ("unsatisfiable") as `invalid`.
  std::cout << "solver: " << stats.queries << " queries (" << stats.valid << " valid or sat, " << stats.invalid
            << " invalid or unsat, " << stats.unknown << " unknown)\n";
  return exit_code;
}
