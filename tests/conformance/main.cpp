// conformance: the interpreter's hypercalls against the hypercall spec file
// on random states (issue 4, item 3; docs/conformance.md).
//
//   conformance [--abi ffa|nova] [--cases N] [--seed S] [--spec FILE]
//               [--max-reports K] [--min-per-outcome M] [--min-per-invariant I]
//               [--lenient-invariants] [--quiet]
//
// --abi nova: random 'abi nova' machines against specs/nova.hvsl (the
// default spec file then); ffa (the default): FF-A machines against
// specs/ffa.hvsl.
// Prints every disagreement (the state, the call, the outcome, what failed;
// the first K in full), then the totals: cases, per call the states outside
// the spec and why, per outcome how often it was checked, per invariant the
// states before it breaks and the matches checked on states after, the odd
// features. --lenient-invariants: a state the generator made well-formed
// that breaks an invariant is only skipped (by default it is a disagreement).
// Exit code: 0 if there was no disagreement, every outcome of the spec was
// checked at least M times (default: once, if there were 2000 cases or more)
// and every invariant matched at least I times on states after (default as
// M), 1 otherwise, 2 on bad usage.
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
            << "usage: conformance [--abi ffa|nova] [--cases N] [--seed S] [--spec FILE] [--max-reports K] "
               "[--min-per-outcome M] "
               "[--min-per-invariant I] [--lenient-invariants] [--quiet]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t cases = 20000, seed = 20240611, max_reports = 5;
  std::optional<std::uint64_t> min_per_outcome, min_per_invariant;
  conformance::RunOptions ropts;
  std::optional<std::string> spec_file;
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
    } else if (a == "--min-per-invariant") {
      std::uint64_t m = 0;
      if (!value(m)) return usage("--min-per-invariant needs a number");
      min_per_invariant = m;
    } else if (a == "--lenient-invariants") {
      ropts.well_formed_findings = false;
    } else if (a == "--spec") {
      if (i + 1 >= argc) return usage("--spec needs a file");
      spec_file = argv[++i];
    } else if (a == "--abi") {
      std::string k = i + 1 < argc ? argv[++i] : "";
      if (k == "nova") ropts.abi = hvsl::AbiKind::Nova;
      else if (k == "ffa") ropts.abi = hvsl::AbiKind::Ffa;
      else return usage("--abi needs ffa or nova");
    } else if (a == "--quiet") {
      quiet = true;
    } else {
      return usage("unknown argument '" + a + "'");
    }
  }
  std::string spec =
      spec_file ? *spec_file
                : std::string(HVSL_SPECS_DIR) + (ropts.abi == hvsl::AbiKind::Nova ? "/nova.hvsl" : "/ffa.hvsl");
  std::ifstream in(spec);
  if (!in) return usage("cannot read " + spec);
  std::stringstream text;
  text << in.rdbuf();

  auto start = std::chrono::steady_clock::now();
  std::uint64_t reported = 0;
  auto st = conformance::run(text.str(), seed, cases, [&](const conformance::StepReport& r, const conformance::Case& c) {
    ++reported;
    if (reported <= max_reports) {
      std::cout << fmt::format("DISAGREEMENT #{}: {} / {} (case {})\n", reported, r.call,
                               r.outcome.empty() ? "-" : r.outcome, c.number);
      for (const auto& f : r.failures) std::cout << "  - " << f << "\n";
      if (!c.odd.empty()) {
        std::string odd;
        for (const auto& o : c.odd) odd += (odd.empty() ? "" : "; ") + o;
        std::cout << "  odd: " << odd << "\n";
      }
      std::cout << r.details << "\n";
    } else if (reported <= max_reports + 20) {
      std::cout << fmt::format("DISAGREEMENT #{}: {} / {} (case {}): {}\n", reported, r.call,
                               r.outcome.empty() ? "-" : r.outcome, c.number, r.failures.empty() ? "" : r.failures[0]);
    }
    return true;
  }, ropts);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (!quiet) {
    std::cout << fmt::format("spec {}; seed {}; {} cases in {:.1f} s\n", spec, seed, st.cases, secs);
    std::cout << fmt::format(
        "checked {}, outside the spec {}, undecided {}, r0 names no call {}, breaks an invariant {}, disagreements {}\n",
        st.checked, st.outside, st.undecided, st.no_call, st.breaks_invariant, st.disagreements);
    std::cout << fmt::format("cases with a deliberately odd feature: {}; well-formed ({}) {}, of which {} break an "
                             "invariant\n",
                             st.odd_cases, ropts.abi == hvsl::AbiKind::Nova ? "consistent waits" : "VMSL 3.1",
                             st.well_formed, st.well_formed_broken);
    std::cout << "\nper call: outcomes checked\n";
    for (const auto& [call, outs] : st.per_outcome) {
      std::cout << fmt::format("  {:<11} {:>6} cases:", call, st.per_call.count(call) ? st.per_call.at(call) : 0);
      for (const auto& [o, k] : outs) std::cout << fmt::format(" {} {}", o, k);
      std::cout << "\n";
    }
    std::cout << "\nper call: states outside the spec (the requires fails) or undecided, by reason\n";
    for (const auto& [call, reasons] : st.outside_reasons)
      for (const auto& [why, k] : reasons) std::cout << fmt::format("  {:<11} {:>6}  {}\n", call, k, why);
    std::cout << fmt::format(
        "\nper invariant: states before that break it; matches checked on {} states after; of those, matches with "
        "a chunk the call changed\n",
        st.post_states);
    for (std::size_t f = 0; f < st.fact_labels.size(); ++f)
      std::cout << fmt::format("  {:>6} {:>8} {:>6}  {}\n", st.fact_pre_broken.at(f), st.fact_post_matches.at(f),
                               st.fact_post_touched.at(f), st.fact_labels[f]);
    if (!st.broken_reasons.empty()) {
      std::cout << "states before skipped, by the first invariant they break\n";
      for (const auto& [why, k] : st.broken_reasons) std::cout << fmt::format("  {:>6}  {}\n", k, why);
    }
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
  std::uint64_t need_inv = min_per_invariant ? *min_per_invariant : need;
  for (std::size_t f = 0; f < st.fact_labels.size(); ++f)
    if (st.fact_post_touched.at(f) < need_inv) {
      std::cout << fmt::format(
          "FAIL: invariant {} matched {} times on states after with a chunk the call changed, fewer than {}\n",
          st.fact_labels[f], st.fact_post_touched.at(f), need_inv);
      ++rare;
    }
  std::cout << fmt::format("{} passed, {} failed\n", st.cases - st.disagreements, st.disagreements);
  return st.disagreements || rare ? 1 : 0;
}
