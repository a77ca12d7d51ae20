// The hvsl command line. A thin layer over the library: parse options, call
// the frontend and the interpreter, print, and map outcomes to exit codes
// (docs/cli.md).
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "frontend/parser.h"
#include "tools/verify_report.h"
#include "vcgen/abi_check.h"
#include "vcgen/verifier.h"
#include "logic/interpreter.h"
#include "logic/report.h"

namespace {

using namespace hvsl;

// Exit codes, documented in docs/cli.md.
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitInputError = 2;
constexpr int kExitStepLimit = 3;
constexpr int kExitInconclusive = 4;
constexpr int kExitInternal = 125;

// JSON output's schema version: bump it when a field changes meaning.
constexpr int kJsonSchema = 1;

struct Loaded {
  std::unique_ptr<SourceFile> source;
  std::optional<Machine> machine;
};

// Reads and checks a file, printing every diagnostic to stderr.
Loaded load(const std::string& path) {
  Loaded out;
  std::string why;
  out.source = read_source_file(path, why);
  if (!out.source) {
    std::cerr << fmt::format("{}: error: cannot read file: {}\n", path, why);
    return out;
  }
  Diagnostics diags;
  out.machine = parse_machine(*out.source, diags);
  for (const auto& d : diags.all()) std::cerr << render(d, out.source.get());
  if (diags.has_errors()) {
    std::size_t n = 0;
    for (const auto& d : diags.all()) n += d.severity == Severity::Error;
    std::cerr << fmt::format("{}: {} error{}\n", path, n, n == 1 ? "" : "s");
  }
  return out;
}

int cmd_check(const std::vector<std::string>& files) {
  int rc = kExitOk;
  for (const auto& f : files) {
    Loaded l = load(f);
    if (!l.machine) rc = kExitInputError;
    else
      std::cout << fmt::format("{}: ok ({} VM{}, {} page{})\n", f, l.machine->vms.size(),
                               l.machine->vms.size() == 1 ? "" : "s", l.machine->pages.size(),
                               l.machine->pages.size() == 1 ? "" : "s");
  }
  return rc;
}

int run_one(const std::string& file, bool trace, std::uint64_t max_steps) {
  Loaded l = load(file);
  if (!l.machine) return kExitInputError;
  State initial = initial_state(*l.machine);
  Interpreter interp(initial);
  RunResult r;
  if (trace) {
    State before = interp.state();
    r = interp.run(max_steps, [&](const StepInfo& info) {
      std::cout << describe_step(info, before, interp.state());
      before = interp.state();
    });
  } else {
    r = interp.run(max_steps);
  }
  std::cout << describe_final(initial, interp.state(), r);
  return r.reason == StopReason::StepLimit ? kExitStepLimit : kExitOk;
}

// Runs each file in turn; the exit code is the worst outcome (input error
// over step limit over success).
int cmd_run(const std::vector<std::string>& files, bool trace, std::uint64_t max_steps) {
  int worst = kExitOk;
  for (const auto& f : files) {
    if (files.size() > 1) std::cout << fmt::format("== {}\n", f);
    int rc = run_one(f, trace, max_steps);
    if (rc == kExitInputError || (rc == kExitStepLimit && worst == kExitOk)) worst = rc;
  }
  return worst;
}

// The hypercall spec file for a machine: parsed for its profile and VM
// count, then checked with the solver. Prints diagnostics; null on error.
struct LoadedAbi {
  std::unique_ptr<SourceFile> source;
  std::optional<Abi> abi;
  bool inconclusive = false;  // the solver could not check it completely
};

LoadedAbi load_abi(const std::string& path, const Machine& m, const smt::Options& smt_opts) {
  LoadedAbi out;
  std::string why;
  out.source = read_source_file(path, why);
  if (!out.source) {
    std::cerr << fmt::format("{}: error: cannot read the hypercall spec file: {}\n", path, why);
    return out;
  }
  Diagnostics diags;
  out.abi = parse_abi(*out.source, *m.profile, m.vms.size(), diags, m.abi);
  if (out.abi) {
    smt::Solver solver(*m.profile, smt_opts);
    for (const auto& p : check_abi(*out.abi, *m.profile, m.vms.size(), solver)) {
      auto& d = p.inconclusive ? diags.warning(p.loc, p.message) : diags.error(p.loc, p.message);
      for (const auto& [loc, note] : p.notes) add_note(d, loc, note);
      out.inconclusive |= p.inconclusive;
    }
  }
  for (const auto& d : diags.all()) std::cerr << render(d, out.source.get());
  if (diags.has_errors()) {
    std::size_t n = 0;
    for (const auto& d : diags.all()) n += d.severity == Severity::Error;
    std::cerr << fmt::format("{}: {} error{}\n", path, n, n == 1 ? "" : "s");
    out.abi.reset();
  }
  return out;
}

struct VerifyCli {
  std::vector<std::string> files;
  std::string abi;  // empty: the bundled spec file of the machine's ABI
  std::string format = "text";
  bool stats = false;
  bool no_replay = false;
  std::vector<std::string> only;
  VerifyOptions opts;
};

int cmd_verify(VerifyCli& cli) {
  cli.opts.replay = !cli.no_replay;
  if (!cli.opts.smt.dump_dir.empty()) {
    // A bad directory is a bad option (exit 2), found before any work.
    std::error_code ec;
    std::filesystem::create_directories(cli.opts.smt.dump_dir, ec);
    if (!ec && !std::filesystem::is_directory(cli.opts.smt.dump_dir))
      ec = std::make_error_code(std::errc::not_a_directory);
    if (ec) {
      std::cerr << fmt::format("hvsl: error: --dump-smt {}: cannot create the directory: {}\n",
                               cli.opts.smt.dump_dir, ec.message());
      return kExitInputError;
    }
  }
  std::size_t verified = 0, failed = 0, inconclusive = 0;
  bool input_error = false;
  nlohmann::json files = nlohmann::json::array();
  std::map<std::tuple<std::string, std::size_t, std::string>, LoadedAbi> abis;
  for (const auto& f : cli.files) {
    Loaded l = load(f);
    if (!l.machine) {
      input_error = true;
      continue;
    }
    cli.opts.only = cli.only;
    bool unknown_vm = false;
    for (const auto& name : cli.only)
      if (!l.machine->vm_by_name(name)) {
        std::cerr << fmt::format("{}: error: --only {}: there is no VM '{}' in this file\n", f, name, name);
        unknown_vm = true;
      }
    if (unknown_vm) {
      input_error = true;
      continue;
    }
    // The spec file is checked with default solver limits (they are not the
    // program's), once per profile and VM count: that is all it depends on.
    std::string abi_path = !cli.abi.empty() ? cli.abi
                           : std::string(HVSL_SPECS_DIR) + (l.machine->abi == AbiKind::Nova ? "/nova.hvsl" : "/ffa.hvsl");
    auto key = std::make_tuple(std::string(l.machine->profile->name), l.machine->vms.size(), abi_path);
    auto cached = abis.find(key);
    if (cached == abis.end()) cached = abis.emplace(key, load_abi(abi_path, *l.machine, smt::Options{})).first;
    const LoadedAbi& abi = cached->second;
    if (!abi.abi) {
      input_error = true;
      continue;
    }
    if (abi.inconclusive) ++inconclusive;  // a spec file not fully checked: never a clean pass
    smt::Stats stats;
    auto blocks = verify_machine(*l.machine, *abi.abi, cli.opts, &stats);
    for (const auto& b : blocks)
      (b.verdict == Verdict::Verified ? verified : b.verdict == Verdict::Failed ? failed : inconclusive)++;
    if (cli.format == "json") {
      files.push_back({{"file", f}, {"blocks", render_json(blocks, f, cli.stats)}});
    } else {
      std::cout << render_text(blocks, *l.machine, *l.source, cli.stats, abi.source.get());
      if (blocks.empty())
        std::cout << fmt::format("{}: nothing to verify (no {}known VM has an 'ensures')\n", f,
                                 cli.only.empty() ? "" : "selected ");
    }
  }
  std::string summary = fmt::format("{} verified, {} failed, {} inconclusive", verified, failed, inconclusive);
  if (cli.format == "json") {
    nlohmann::json out = {{"tool", "hvsl"}, {"version", "0.1.0"}, {"schema", kJsonSchema}, {"files", files},
                          {"summary", {{"verified", verified}, {"failed", failed}, {"inconclusive", inconclusive},
                                       {"input_error", input_error}}}};
    std::cout << out.dump(2) << "\n";
  } else if (verified + failed + inconclusive > 0 || !input_error) {
    // (When nothing could be read, the diagnostics are the whole answer.)
    std::cout << "hvsl: " << summary << (input_error ? ", and input errors" : "") << "\n";
  }
  if (input_error) return kExitInputError;
  if (failed) return kExitFailed;
  if (inconclusive) return kExitInconclusive;
  return kExitOk;
}

// A count from 1 to 2^64 - 1. (CLI::PositiveNumber prints its range as a
// 300-digit double and lets values beyond 64 bits through.)
const CLI::Validator kCount(
    [](std::string& s) -> std::string {
      bool digits = !s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string::npos;
      errno = 0;
      unsigned long long v = digits ? std::strtoull(s.c_str(), nullptr, 10) : 0;
      if (!digits || errno == ERANGE || v == 0)
        return fmt::format("'{}' is not a whole number from 1 to 18446744073709551615", s);
      return "";
    },
    "N >= 1");

int real_main(int argc, char** argv) {
  CLI::App app{"hvsl: a separation-logic verifier for hypervisor guest code"};
  app.set_version_flag("--version", std::string("hvsl ") + "0.1.0");
  app.require_subcommand(1);

  std::vector<std::string> check_files;
  auto* check = app.add_subcommand("check", "parse and check files without running them");
  check->add_option("files", check_files, "input .hvsl files")->required();

  std::vector<std::string> run_files;
  bool trace = false;
  std::uint64_t max_steps = 1'000'000;
  auto* run = app.add_subcommand("run", "execute the machine on the reference interpreter");
  run->add_option("files", run_files, "input .hvsl files")->required();
  run->add_flag("--trace", trace, "print every step and what it changed");
  run->add_option("--max-steps", max_steps, "stop after this many steps (default 1000000)")->check(kCount);

  VerifyCli vcli;
  auto* verify = app.add_subcommand("verify", "verify the known VMs' code against their specs");
  verify->add_option("files", vcli.files, "input .hvsl files")->required();
  verify->add_option("--format", vcli.format, "output format: text (default) or json")
      ->check(CLI::IsMember({"text", "json"}));
  verify->add_option("--timeout", vcli.opts.smt.timeout_ms, "solver time limit per query, in ms (default 10000; 0: none)");
  verify->add_option("--rlimit", vcli.opts.smt.rlimit, "Z3 resource limit per query (deterministic; default none)");
  verify->add_option("--seed", vcli.opts.smt.seed, "Z3 random seed (default 0)");
  verify->add_option("--dump-smt", vcli.opts.smt.dump_dir, "write every query as an SMT-LIB file into this directory");
  verify->add_option("--only", vcli.only, "verify only these VMs (by name)");
  verify->add_option("--abi", vcli.abi, "the hypercall spec file (default: the bundled specs/ffa.hvsl, or specs/nova.hvsl for a machine with 'abi nova')");
  verify->add_option("--max-path-steps", vcli.opts.max_path_steps, "longest path explored (default 200000)")
      ->check(kCount);
  verify->add_flag("--stats", vcli.stats, "show times (total and in Z3)");
  verify->add_flag("--no-replay", vcli.no_replay, "do not replay counterexamples on the interpreter");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "hvsl: error: " << e.what() << "\n" << "run 'hvsl --help' for usage\n";
    return kExitInputError;
  }
  if (check->parsed()) return cmd_check(check_files);
  if (run->parsed()) return cmd_run(run_files, trace, max_steps);
  if (verify->parsed()) return cmd_verify(vcli);
  return kExitInputError;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return real_main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "hvsl: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}
