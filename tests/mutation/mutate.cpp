// hvsl_mutate: mutation testing of the verified examples (docs/testing.md,
// "Mutation testing"). Every example whose header says it verifies is
// mutated at source level (tests/mutation/mutants.h); `hvsl verify` runs on
// each mutant and its exit code classifies it:
//
//   1 failed, 4 inconclusive   killed
//   2 input error              stillborn (not counted)
//   0 verified                 survived, unless a code mutant ends like the
//                              original on the interpreter: equivalent (not
//                              counted)
//
// anything else (a crash, exit 125, a hang) is an error of hvsl and fails
// the run. The run fails too if the kill rate is below --min-rate or a
// survivor has no explanation in the survivors file.
//
// Usage: hvsl_mutate --hvsl PATH [--survivors FILE] [--min-rate PCT] [--jobs N]
//                    [--max-per-example N] [--seed N] [--runs N] [--list] [FILE...]
// Without FILEs, every verified example under examples/ (relative to the
// working directory) is used.
#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "frontend/parser.h"
#include "smt/solver.h"
#include "tests/mutation/equivalence.h"
#include "tests/mutation/mutants.h"
#include "vcgen/abi_check.h"
#include "vcgen/verifier.h"

extern char** environ;

namespace fs = std::filesystem;
using namespace hvsl;
using namespace hvsl::mutation;

namespace {

struct Options {
  std::string hvsl;                 // run this hvsl binary; empty: verify in-process
  std::string abi;                  // empty: the bundled spec file of each machine's ABI, as the CLI
  std::string survivors;            // the explained survivors; empty: none
  double min_rate = 0;              // percent
  unsigned jobs = 1;
  std::size_t max_per_example = 0;  // 0: every mutant
  std::uint64_t seed = 1;
  int runs = 20;                    // random runs of the equivalence check
  // The examples' paths are under 50 steps. A mutant that jumps past a loop's
  // invariant is reported (path.too_long) after this many steps instead of
  // the default 200,000, which would take hours when the loop branches on a
  // value only the solver knows (the time grows faster than the square).
  std::size_t max_path_steps = 500;
  bool list = false;
  double show_slow = 0;             // print mutants that take longer (seconds; stderr)
  std::vector<std::string> files;
};

std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--hvsl") o.hvsl = value();
    else if (a == "--abi") o.abi = value();
    else if (a == "--survivors") o.survivors = value();
    else if (a == "--min-rate") o.min_rate = std::stod(value());
    else if (a == "--jobs") o.jobs = std::max(1, std::stoi(value()));
    else if (a == "--max-per-example") o.max_per_example = std::stoul(value());
    else if (a == "--seed") o.seed = std::stoull(value());
    else if (a == "--runs") o.runs = std::stoi(value());
    else if (a == "--max-path-steps") o.max_path_steps = std::stoul(value());
    else if (a == "--list") o.list = true;
    else if (a == "--show-slow") o.show_slow = std::stod(value());
    else if (a.starts_with("--")) throw std::runtime_error("unknown option " + a);
    else o.files.push_back(a);
  }
  return o;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// ---- which examples ---------------------------------------------------------

// An example the regression runner must see verified: '// RUN: verify' and
// no '// EXIT:' other than 0 (docs/testing.md).
bool is_verified_example(const std::string& path) {
  std::istringstream in(read_file(path));
  std::string line, run, exit = "0";
  while (std::getline(in, line)) {
    if (auto p = line.find("// RUN:"); p != std::string::npos) run = trim(line.substr(p + 7));
    if (auto p = line.find("// EXIT:"); p != std::string::npos) exit = trim(line.substr(p + 8));
  }
  return run == "verify" && exit == "0";
}

// Every verified example under examples/, outside rejected/ directories and
// examples/nova/, sorted so the report is the same on every machine. The
// NOVA examples are left out for now: mutants that enter a handler's loop
// past its invariant make the executor superlinear and take minutes each
// (docs/testing.md); name them as FILEs to mutate them.
std::vector<std::string> discover_examples() {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator("examples")) {
    const fs::path& p = e.path();
    if (!e.is_regular_file() || p.extension() != ".hvsl") continue;
    bool rejected = std::any_of(p.begin(), p.end(), [](const fs::path& c) { return c == "rejected" || c == "nova"; });
    if (!rejected && is_verified_example(p.string())) out.push_back(p.generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ---- choosing mutants -------------------------------------------------------

std::uint64_t mix(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t hash(const std::string& s) {
  std::uint64_t h = 0xCBF29CE484222325ULL;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ULL;
  return h;
}

// At most `cap` mutants of one example: those whose id hashes lowest under
// the seed, in their original order. A mutant's chance does not depend on
// the others, so editing one line of an example changes few choices.
std::vector<Mutant> choose(std::vector<Mutant> all, const std::string& file, std::size_t cap, std::uint64_t seed) {
  if (cap == 0 || all.size() <= cap) return all;
  std::vector<std::pair<std::uint64_t, std::size_t>> keys;
  for (std::size_t i = 0; i < all.size(); ++i) keys.emplace_back(mix(seed ^ hash(all[i].id(file))), i);
  std::sort(keys.begin(), keys.end());
  keys.resize(cap);
  std::sort(keys.begin(), keys.end(), [](auto& a, auto& b) { return a.second < b.second; });
  std::vector<Mutant> out;
  for (auto& [key, i] : keys) out.push_back(std::move(all[i]));
  return out;
}

// ---- running hvsl -----------------------------------------------------------

enum class Outcome { Failed, Inconclusive, Stillborn, Equivalent, Survived, Error };
constexpr std::size_t kOutcomes = 6;

struct Job {
  std::string file;  // the example
  const Machine* original = nullptr;
  Mutant mutant;
  std::string path;  // the mutant on disk
  int exit = -1;     // hvsl's exit code; -1 killed by a signal or timeout
  Outcome outcome = Outcome::Error;
};

// A mutant that takes this long is an error (the examples take < 1 s).
constexpr auto kTimeout = std::chrono::seconds(120);

pid_t spawn_verify(const std::string& hvsl, const std::string& file, std::size_t max_path_steps) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> args = {hvsl, "verify", "--no-replay", "--max-path-steps", std::to_string(max_path_steps),
                                   file};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, hvsl.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error(fmt::format("cannot run {}: {}", hvsl, std::strerror(rc)));
  return pid;
}

// Runs `hvsl verify` on every job, `jobs` at a time; sets each exit code.
void run_all(std::vector<Job>& all, const Options& o) {
  struct Running {
    pid_t pid;
    std::size_t job;
    std::chrono::steady_clock::time_point start;
  };
  std::vector<Running> running;
  std::size_t next = 0;
  while (next < all.size() || !running.empty()) {
    while (next < all.size() && running.size() < o.jobs) {
      running.push_back({spawn_verify(o.hvsl, all[next].path, o.max_path_steps), next, std::chrono::steady_clock::now()});
      ++next;
    }
    int status = 0;
    pid_t done = waitpid(-1, &status, WNOHANG);
    if (done <= 0) {
      for (auto& r : running)
        if (std::chrono::steady_clock::now() - r.start > kTimeout) kill(r.pid, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      continue;
    }
    auto it = std::find_if(running.begin(), running.end(), [&](auto& r) { return r.pid == done; });
    if (it == running.end()) continue;
    all[it->job].exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    running.erase(it);
  }
}

// ---- verifying in-process ---------------------------------------------------

// What `hvsl verify` does for one file (tools/hvsl.cpp, cmd_verify), with
// the spec file parsed and checked once per profile and VM count instead of
// once per process: the exit code it would give.
class InProcess {
 public:
  InProcess(std::string abi_path, std::size_t max_path_steps)
      : abi_path_(std::move(abi_path)), max_path_steps_(max_path_steps) {}

  int exit_code(const std::string& name, const std::string& text) {
    SourceFile src(name, text);
    Diagnostics diags;
    auto m = parse_machine(src, diags);
    if (!m) return 2;
    const Abi* abi = abi_for(*m);
    if (!abi) return 2;
    VerifyOptions opts;
    opts.replay = false;
    opts.max_path_steps = max_path_steps_;
    // Only the known VMs: a mutant changes their code or specs, not the
    // declarations the unknown VMs' FTLR blocks depend on (each example's
    // own test checks those once).
    for (const auto& vm : m->vms)
      if (vm.known) opts.only.push_back(vm.name);
    try {
      bool failed = false, inconclusive = false;
      for (const auto& b : verify_machine(*m, *abi, opts)) {
        failed |= b.verdict == Verdict::Failed;
        inconclusive |= b.verdict == Verdict::Inconclusive;
      }
      return failed ? 1 : inconclusive ? 4 : 0;
    } catch (const std::exception&) {
      return 125;  // the CLI's internal error
    }
  }

 private:
  std::string abi_path_;
  std::size_t max_path_steps_;
  std::map<std::string, std::unique_ptr<SourceFile>> abi_sources_;  // by path
  std::map<std::tuple<std::string, std::size_t, std::string>, std::optional<Abi>> abis_;

  std::string abi_path(const Machine& m) const {
    if (!abi_path_.empty()) return abi_path_;
    return std::string(HVSL_SPECS_DIR) + (m.abi == AbiKind::Nova ? "/nova.hvsl" : "/ffa.hvsl");
  }

  // The spec file for this profile and VM count; null if it has an error
  // or could not be checked completely (then nothing verifies).
  const Abi* abi_for(const Machine& m) {
    auto key = std::make_tuple(std::string(m.profile->name), m.vms.size(), abi_path(m));
    auto it = abis_.find(key);
    if (it == abis_.end()) it = abis_.emplace(key, load(m)).first;
    return it->second ? &*it->second : nullptr;
  }

  std::optional<Abi> load(const Machine& m) {
    std::string why;
    std::string path = abi_path(m);
    auto& source = abi_sources_[path];
    if (!source) source = read_source_file(path, why);
    if (!source) throw std::runtime_error(fmt::format("cannot read {}: {}", path, why));
    Diagnostics diags;
    auto abi = parse_abi(*source, *m.profile, m.vms.size(), diags, m.abi);
    if (!abi) return std::nullopt;
    smt::Solver solver(*m.profile, smt::Options{});
    if (!check_abi(*abi, *m.profile, m.vms.size(), solver).empty()) return std::nullopt;
    return abi;
  }
};

std::optional<Deletion> deletion(const Mutant& mu) {
  if (!mu.deleted) return std::nullopt;
  return Deletion{mu.deleted->first, mu.deleted->second};
}

// A surviving code mutant: is it equivalent by the interpreter?
bool equivalent(const Job& j, const Options& o) {
  if (!j.mutant.is_instruction()) return false;
  SourceFile src(j.path, j.mutant.text);
  Diagnostics diags;
  auto m = parse_machine(src, diags);
  return m && equivalent_by_interpreter(*j.original, *m, mix(o.seed ^ hash(j.mutant.id(j.file))), o.runs, deletion(j.mutant));
}

Outcome classify(const Job& j, const Options& o) {
  switch (j.exit) {
    case 1: return Outcome::Failed;
    case 4: return Outcome::Inconclusive;
    case 2: return Outcome::Stillborn;
    case 0: return equivalent(j, o) ? Outcome::Equivalent : Outcome::Survived;
    default: return Outcome::Error;
  }
}

// ---- survivors.txt ----------------------------------------------------------

// "ID" lines, each followed by an indented "why: ..." line; '#' comments.
std::map<std::string, std::string> read_survivors(const std::string& path) {
  std::map<std::string, std::string> out;
  if (path.empty()) return out;
  std::istringstream in(read_file(path));
  std::string line, id;
  while (std::getline(in, line)) {
    if (trim(line).empty() || trim(line)[0] == '#') continue;
    if (line[0] != ' ') id = trim(line);
    else if (!id.empty() && trim(line).starts_with("why:")) out[id] = trim(trim(line).substr(4));
  }
  return out;
}

// ---- the report -------------------------------------------------------------

using Counts = std::array<std::size_t, kOutcomes>;

void print_table(const std::vector<Job>& jobs) {
  std::array<Counts, kOperatorCount> by_op{};
  Counts total{};
  for (const Job& j : jobs) {
    ++by_op[std::size_t(j.mutant.op)][std::size_t(j.outcome)];
    ++total[std::size_t(j.outcome)];
  }
  fmt::print("\n{:<10} {:>7} {:>7} {:>12} {:>9} {:>10} {:>8} {:>5}\n", "operator", "mutants", "failed",
             "inconclusive", "stillborn", "equivalent", "survived", "error");
  auto row = [](const std::string& label, const Counts& c) {
    std::size_t n = 0;
    for (auto x : c) n += x;
    fmt::print("{:<10} {:>7} {:>7} {:>12} {:>9} {:>10} {:>8} {:>5}\n", label, n, c[0], c[1], c[2], c[3], c[4], c[5]);
  };
  for (std::size_t op = 0; op < kOperatorCount; ++op) row(name(Operator(op)), by_op[op]);
  row("total", total);
}

// Per example, then per operator, then the lists; returns the exit code.
int report(const std::vector<Job>& jobs, const std::vector<std::string>& files, const Options& o) {
  for (const auto& f : files) {
    Counts c{};
    std::size_t n = 0;
    for (const Job& j : jobs)
      if (j.file == f) ++c[std::size_t(j.outcome)], ++n;
    fmt::print("{}: {} mutants: {} failed, {} inconclusive, {} stillborn, {} equivalent, {} survived{}\n", f, n, c[0],
               c[1], c[2], c[3], c[4], c[5] ? fmt::format(", {} errors", c[5]) : "");
  }
  print_table(jobs);

  auto explained = read_survivors(o.survivors);
  std::size_t killed = 0, survived = 0, unexplained = 0, errors = 0;
  std::string equivalents, survivors, failures;
  for (const Job& j : jobs) {
    std::string id = j.mutant.id(j.file);
    switch (j.outcome) {
      case Outcome::Failed: case Outcome::Inconclusive: ++killed; break;
      case Outcome::Equivalent: equivalents += "  " + id + "\n"; break;
      case Outcome::Survived: {
        ++survived;
        auto it = explained.find(id);
        if (it == explained.end()) ++unexplained;
        survivors += fmt::format("{}\n  why: {}\n", id, it == explained.end() ? "NOT EXPLAINED" : it->second);
        break;
      }
      case Outcome::Error: ++errors, failures += fmt::format("  {} (exit {})\n", id, j.exit); break;
      case Outcome::Stillborn: break;
    }
  }
  double rate = killed + survived ? 100.0 * double(killed) / double(killed + survived) : 100.0;
  fmt::print("\nkill rate: {} / {} = {:.1f}% (killed / (killed + survived)){}\n", killed, killed + survived, rate,
             o.min_rate > 0 ? fmt::format("; floor {}%", o.min_rate) : "");
  if (!equivalents.empty()) fmt::print("\nequivalent by the interpreter (not counted):\n{}", equivalents);
  if (!survivors.empty()) fmt::print("\nsurvivors:\n{}", survivors);
  if (!failures.empty()) fmt::print("\nhvsl errors (crash, exit 125 or timeout):\n{}", failures);

  bool ok = rate >= o.min_rate && unexplained == 0 && errors == 0;
  if (unexplained) fmt::print("\nFAIL: {} survivors not explained in {}\n", unexplained, o.survivors);
  if (rate < o.min_rate) fmt::print("\nFAIL: kill rate {:.1f}% is below {}%\n", rate, o.min_rate);
  if (errors) fmt::print("\nFAIL: hvsl did not end normally on {} mutants\n", errors);
  return ok ? 0 : 1;
}

// ---- main -------------------------------------------------------------------

// The mutants of one example, checked to verify as it is.
std::vector<Job> jobs_for(const std::string& file, const Machine& m, const Options& o) {
  SourceFile src(file, read_file(file));
  std::vector<Job> out;
  for (auto& mu : choose(make_mutants(src, m), file, o.max_per_example, o.seed)) out.push_back({file, &m, mu, ""});
  return out;
}

// Sets every job's exit code, in-process or with the hvsl binary (which
// reads files: the mutants are written to a temporary directory).
void verify_all(std::vector<Job>& jobs, const Options& o, InProcess& in_process) {
  if (o.hvsl.empty()) {
    for (Job& j : jobs) {
      auto start = std::chrono::steady_clock::now();
      j.exit = in_process.exit_code(j.file, j.mutant.text);
      std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
      if (o.show_slow > 0 && took.count() > o.show_slow)
        fmt::print(stderr, "slow: {:.1f} s: {}\n", took.count(), j.mutant.id(j.file));
    }
    return;
  }
  fs::path dir = fs::temp_directory_path() / fmt::format("hvsl-mutate-{}", getpid());
  fs::create_directories(dir);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (!jobs[i].path.empty()) continue;
    jobs[i].path = (dir / fmt::format("m{:05}.hvsl", i)).string();
    std::ofstream(jobs[i].path, std::ios::binary) << jobs[i].mutant.text;
  }
  run_all(jobs, o);
  fs::remove_all(dir);
}

int run(const Options& o) {
  auto files = o.files.empty() ? discover_examples() : o.files;
  std::vector<std::unique_ptr<Machine>> machines;
  std::vector<Job> originals, jobs;
  for (const auto& f : files) {
    std::string text = read_file(f);
    SourceFile src(f, text);
    Diagnostics diags;
    auto m = parse_machine(src, diags);
    if (!m) throw std::runtime_error(f + " does not parse");
    machines.push_back(std::make_unique<Machine>(std::move(*m)));
    originals.push_back({f, machines.back().get(), Mutant{Operator::Imm, 0, "", "", text, std::nullopt}, f});
  }
  if (o.list) {
    for (const Job& e : originals)
      for (const Job& j : jobs_for(e.file, *e.original, o)) fmt::print("{}\n", j.mutant.id(j.file));
    return 0;
  }

  // An example must verify as it is, or its mutants say nothing.
  InProcess in_process(o.abi, o.max_path_steps);
  verify_all(originals, o, in_process);
  std::vector<std::string> broken, mutated;
  for (const Job& e : originals) {
    if (e.exit != 0) {
      broken.push_back(fmt::format("{} (exit {})", e.file, e.exit));
      continue;
    }
    mutated.push_back(e.file);
    for (auto& j : jobs_for(e.file, *e.original, o)) jobs.push_back(std::move(j));
  }

  fmt::print("{} examples, {} mutants, seed {}, {}\n", mutated.size(), jobs.size(), o.seed,
             o.hvsl.empty() ? "verified in-process" : "verified by " + o.hvsl);
  std::fflush(stdout);
  verify_all(jobs, o, in_process);
  for (Job& j : jobs) j.outcome = classify(j, o);
  int code = report(jobs, mutated, o);
  for (const auto& b : broken) fmt::print("\nFAIL: {} does not verify, so it was not mutated\n", b);
  return broken.empty() ? code : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    auto o = parse_options(argc, argv);
    return run(*o);
  } catch (const std::exception& e) {
    std::cerr << "hvsl_mutate: " << e.what() << "\n";
    return 2;
  }
}
