// conformance: the interpreter's hypercalls against the hypercall spec file
// on random states (issue 4, item 3; docs/conformance.md).
//
//   conformance [--cases N] [--seed S] [--spec FILE] [--max-reports K]
//               [--min-per-outcome M] [--quiet]
//
// Prints every disagreement (the state, the call, the outcome, what failed;
// the first K in full), then the totals: cases, per call the states outside
// the spec and why, per outcome how often it was checked, the odd features.
// Exit code: 0 if there was no disagreement and every outcome of the spec was
// checked at least M times (default: once, if there were 2000 cases or more),
// 1 otherwise, 2 on bad usage.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <iostream>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "conformance.h"

#ifndef HVSL_SPECS_DIR
#define HVSL_SPECS_DIR "specs"
#endif

namespace {

int usage(const std::string& why) {
  std::cerr << "conformance: " << why << "\n"
            << "usage: conformance [--cases N] [--seed S] [--spec FILE] [--max-reports K] [--min-per-outcome M] "
               "[--quiet]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t cases = 20000, seed = 20240611, max_reports = 5;
  std::optional<std::uint64_t> min_per_outcome;
  std::string spec = std::string(HVSL_SPECS_DIR) + "/ffa.hvsl";
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::uint64_t& out) {
      if (i + 1 >= argc) return false;
      char* end = nullptr;
      out = std::strtoull(argv[++i], &end, 0);
      return end && *end == 0;
    };
    if (a == "--cases") {
      if (!value(cases)) return usage("--cases needs a number");
    } else if (a == "--seed") {
      if (!value(seed)) return usage("--seed needs a number");
    } else if (a == "--max-reports") {
      if (!value(max_reports)) return usage("--max-reports needs a number");
    } else if (a == "--min-per-outcome") {
      std::uint64_t m = 0;
      if (!value(m)) return usage("--min-per-outcome needs a number");
      min_per_outcome = m;
    } else if (a == "--spec") {
      if (i + 1 >= argc) return usage("--spec needs a file");
      spec = argv[++i];
    } else if (a == "--quiet") {
      quiet = true;
    } else {
      return usage("unknown argument '" + a + "'");
    }
  }
  std::ifstream in(spec);
  if (!in) return usage("cannot read " + spec);
  std::stringstream text;
  text << in.rdbuf();

  auto start = std::chrono::steady_clock::now();
  std::uint64_t reported = 0;
  auto st = conformance::run(text.str(), seed, cases, [&](const conformance::StepReport& r, const conformance::Case& c) {
    ++reported;
    if (reported <= max_reports) {
      std::cout << fmt::format("DISAGREEMENT #{}: {} / {}\n", reported, r.call, r.outcome.empty() ? "-" : r.outcome);
      for (const auto& f : r.failures) std::cout << "  - " << f << "\n";
      if (!c.odd.empty()) {
        std::string odd;
        for (const auto& o : c.odd) odd += (odd.empty() ? "" : "; ") + o;
        std::cout << "  odd: " << odd << "\n";
      }
      std::cout << r.details << "\n";
    } else if (reported <= max_reports + 20) {
      std::cout << fmt::format("DISAGREEMENT #{}: {} / {}: {}\n", reported, r.call, r.outcome,
                               r.failures.empty() ? "" : r.failures[0]);
    }
    return true;
  });
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (!quiet) {
    std::cout << fmt::format("spec {}; seed {}; {} cases in {:.1f} s\n", spec, seed, st.cases, secs);
    std::cout << fmt::format("checked {}, outside the spec {}, undecided {}, r0 names no call {}, disagreements {}\n",
                             st.checked, st.outside, st.undecided, st.no_call, st.disagreements);
    std::cout << fmt::format("cases with a deliberately odd feature: {}\n", st.odd_cases);
    std::cout << "\nper call: outcomes checked\n";
    for (const auto& [call, outs] : st.per_outcome) {
      std::cout << fmt::format("  {:<11} {:>6} cases:", call, st.per_call.count(call) ? st.per_call.at(call) : 0);
      for (const auto& [o, k] : outs) std::cout << fmt::format(" {} {}", o, k);
      std::cout << "\n";
    }
    std::cout << "\nper call: states outside the spec (the requires fails) or undecided, by reason\n";
    for (const auto& [call, reasons] : st.outside_reasons)
      for (const auto& [why, k] : reasons) std::cout << fmt::format("  {:<11} {:>6}  {}\n", call, k, why);
    std::cout << "\nodd features (cases)\n";
    for (const auto& [f, k] : st.odd_features) std::cout << fmt::format("  {:>6}  {}\n", k, f);
  }
  // every outcome must have been checked often enough
  std::uint64_t need = min_per_outcome ? *min_per_outcome : st.cases >= 2000 ? 1 : 0;
  std::uint64_t rare = 0;
  for (const auto& [call, outs] : st.per_outcome)
    for (const auto& [o, k] : outs)
      if (k < need) {
        std::cout << fmt::format("FAIL: outcome {} / {} was checked {} times, fewer than {}\n", call, o, k, need);
        ++rare;
      }
  std::cout << fmt::format("{} passed, {} failed\n", st.cases - st.disagreements, st.disagreements);
  return st.disagreements || rare ? 1 : 0;
}
