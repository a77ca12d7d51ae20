// hvsl_bench: how fast the reference interpreter runs and how fast the
// frontend reads a large file. Not a test: the figures depend on the machine
// and its load, so each measurement is repeated and reported as median, min
// and max. docs/benchmarks.md says how to run it and what was measured.
//
//   hvsl_bench [--runs N] [--quick] [--emit FILE]
//
// Rows:
//  - interpreter <profile>: Interpreter::run on a counter loop (sub/cmp/bne
//    in an inner loop, inside an outer loop); instructions per second.
//  - parse_machine arm64: parse_machine (X3 parse + lowering and every
//    semantic check) on a generated file of 100,000 instructions.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "frontend/parser.h"
#include "logic/interpreter.h"

#ifndef HVSL_BENCH_BUILD_TYPE
#define HVSL_BENCH_BUILD_TYPE "unknown"
#endif

namespace {

using namespace hvsl;
using Clock = std::chrono::steady_clock;

// ---- options ----------------------------------------------------------------

struct Options {
  int runs = 7;
  bool runs_given = false;
  bool quick = false;
  std::string emit;  // --emit FILE: write the parser's input there and stop
};

void usage(std::FILE* to) {
  std::fputs(
      "usage: hvsl_bench [--runs N] [--quick] [--emit FILE]\n"
      "  --runs N   measured runs per row (default 7; 3 with --quick); one extra\n"
      "             warm-up run per row is not counted\n"
      "  --quick    small workloads, for a fast smoke run (figures not comparable)\n"
      "  --emit F   write the generated parser input to F (with --quick: the small\n"
      "             one) and exit, e.g. to run 'hvsl check F' or a profiler on it\n",
      to);
}

std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--runs" || a.rfind("--runs=", 0) == 0) {
      std::string_view v;
      if (a == "--runs") {
        if (i + 1 >= argc) {
          std::fputs("hvsl_bench: --runs needs a number\n", stderr);
          return std::nullopt;
        }
        v = argv[++i];
      } else {
        v = a.substr(7);
      }
      int n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size() || n < 1 || n > 10000) {
        std::fprintf(stderr, "hvsl_bench: --runs wants a number from 1 to 10000, not '%.*s'\n", int(v.size()),
                     v.data());
        return std::nullopt;
      }
      o.runs = n;
      o.runs_given = true;
    } else if (a == "--emit") {
      if (i + 1 >= argc) {
        std::fputs("hvsl_bench: --emit needs a file name\n", stderr);
        return std::nullopt;
      }
      o.emit = argv[++i];
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      std::exit(0);
    } else {
      std::fprintf(stderr, "hvsl_bench: unknown option '%.*s'\n", int(a.size()), a.data());
      usage(stderr);
      return std::nullopt;
    }
  }
  if (o.quick && !o.runs_given) o.runs = 3;
  return o;
}

// ---- measurement ------------------------------------------------------------

struct Row {
  std::string what;
  std::vector<double> seconds;  // one per measured run
  double work = 0;              // units of work per run (instructions)
  std::string unit;             // what `work` counts, for the rate
  double bytes = 0;             // parse rows: input size, for MB/s
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Runs `once` (which returns the seconds it measured) one time to warm up,
// then `runs` times.
std::vector<double> measure(int runs, const std::function<double()>& once) {
  once();
  std::vector<double> out;
  for (int i = 0; i < runs; ++i) out.push_back(once());
  return out;
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "hvsl_bench: %s\n", msg.c_str());
  std::exit(1);
}

// Parses text that the benchmark itself generated; any diagnostic is a bug
// in the generator (or the frontend), so it is fatal.
Machine must_parse(const SourceFile& src) {
  Diagnostics diags;
  auto m = parse_machine(src, diags);
  if (!m) {
    std::size_t shown = 0;
    for (const auto& d : diags.all()) {
      if (d.severity != Severity::Error) continue;
      std::cerr << render(d, &src);
      if (++shown == 5) break;
    }
    die(fmt::format("the generated file '{}' does not parse", src.name()));
  }
  return std::move(*m);
}

// ---- interpreter throughput ---------------------------------------------------

// A counter loop: the inner loop (sub, cmp, bne) runs `inner` times for each
// of `outer` outer iterations. Steps: 3 + outer * (1 + 3 * inner + 3) + 1.
std::string counter_loop(std::string_view profile, Word code_base, Word inner, Word outer) {
  return fmt::format(R"(profile {0}
page prog at {1} owner vm0 exclusive access {{vm0}}
vm vm0 known {{
  reg r5 = {3}
  code at prog {{
    mov r2, 1
    mov r3, inner
    mov r4, outer
  outer:
    mov r1, {2}
  inner:
    sub r1, r2
    cmp r1, 0
    bne r3
    sub r5, r2
    cmp r5, 0
    bne r4
    halt
  }}
}}
)",
                     profile, code_base, inner, outer);
}

Row bench_interpreter(std::string_view profile, Word code_base, Word inner, Word outer, int runs) {
  SourceFile src(fmt::format("<counter loop, {}>", profile), counter_loop(profile, code_base, inner, outer));
  Machine m = must_parse(src);
  const State initial = initial_state(m);
  const std::uint64_t expected = 3 + outer * (1 + 3 * inner + 3) + 1;

  auto once = [&]() -> double {
    Interpreter interp(initial);  // setup is not timed
    auto t0 = Clock::now();
    RunResult r = interp.run(expected + 1000);
    auto t1 = Clock::now();
    const VmState& vm = interp.state().vms[0];
    if (r.reason != StopReason::Terminated || r.steps != expected || vm.mode != Mode::Halt || vm.regs[1] != 0 ||
        vm.regs[5] != 0)
      die(fmt::format("interpreter ({}): wrong result: {} steps (expected {}), mode {}, r1 = {}, r5 = {}", profile,
                      r.steps, expected, name(vm.mode), vm.regs[1], vm.regs[5]));
    return seconds_between(t0, t1);
  };
  Row row;
  row.what = fmt::format("interpreter {} ({:.1f} M steps)", profile, double(expected) / 1e6);
  row.seconds = measure(runs, once);
  row.work = double(expected);
  row.unit = "instr";
  return row;
}

// ---- parser speed -------------------------------------------------------------

// A small deterministic generator (splitmix64), so every run and every
// machine parses the same file.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  unsigned below(unsigned n) { return unsigned(next() % n); }

 private:
  std::uint64_t s_;
};

struct Generated {
  std::string text;
  std::size_t vms = 0, instructions = 0, labels = 0, lines = 0;
};

// An arm64 machine of `vms` VMs, each with a program of `per_vm`
// instructions in its own 4096-word code page, a data page shared with the
// next VM, TX and RX mailboxes and a page in a pending share transaction.
// The programs mix every instruction form; immediates are numbers (decimal
// and hex), labels, page names with offsets, constants, built-in constants
// and small expressions. Labels are global names, so they carry the VM.
Generated generate_machine(std::size_t vms, std::size_t per_vm) {
  if (vms < 2 || vms > kMaxVms) die("generate_machine: between 2 and 64 VMs");
  if (per_vm > 4096 - 16) die("generate_machine: a program must fit in one page");
  Generated g;
  g.vms = vms;
  std::string& s = g.text;
  auto out = std::back_inserter(s);
  Rng rng(0x6876736c);  // "hvsl"

  // Page k of VM v: code, data, shared, tx, rx.
  auto page_addr = [](std::size_t v, int k) { return Word(0x10'0000) + Word(v * 8 + std::size_t(k)) * 4096; };
  auto vm_name = [](std::size_t v) { return fmt::format("vm_{}", v); };

  fmt::format_to(out, "// Generated by hvsl_bench: {} VMs x {} instructions.\n", vms, per_vm);
  s += "/* Layout: each VM has a code page, a data page it shares with the next VM,\n"
       "   a page offered in a share transaction, and its TX and RX mailboxes. */\n";
  s += "profile arm64\n\n";
  s += "const STRIDE = 8\nconst LIMIT = 0x1000\nconst MAGIC = 0xdead_beef\nconst BUF = STRIDE * 4 + 2\n\n";
  s += "handles {";
  for (std::size_t v = 0; v < vms; ++v) fmt::format_to(out, "{}{}", v ? ", " : "", v + 1);
  s += "}\n\n";

  for (std::size_t v = 0; v < vms; ++v) {
    std::string me = vm_name(v), next = vm_name((v + 1) % vms);
    fmt::format_to(out, "page code_{} at {:#x} owner {} exclusive access {{{}}}\n", v, page_addr(v, 0), me, me);
    fmt::format_to(out, "page data_{} at {:#x} owner {} access {{{}, {}}}\n", v, page_addr(v, 1), me, me, next);
    fmt::format_to(out, "page shared_{} at {:#x} owner {} access {{{}}}\n", v, page_addr(v, 2), me, me);
    fmt::format_to(out, "page tx_{} at {:#x} access {{{}}}\n", v, page_addr(v, 3), me);
    fmt::format_to(out, "page rx_{} at {:#x} access {{{}}}\n", v, page_addr(v, 4), me);
  }
  s += "\n";

  static constexpr std::string_view kBuiltins[] = {"SHARE", "LEND", "RETRIEVE", "SEND", "WAIT", "RUN",
                                                   "SUCCESS", "ERROR", "PAGE_SIZE", "NZ_EQUAL"};
  static constexpr std::string_view kConsts[] = {"STRIDE", "LIMIT", "MAGIC", "BUF"};

  for (std::size_t v = 0; v < vms; ++v) {
    std::string me = vm_name(v);
    // Where the labels go: before about one instruction in eight, always
    // before the first.
    std::vector<bool> label_before(per_vm);
    std::size_t nlabels = 0;
    for (std::size_t i = 0; i < per_vm; ++i)
      if (i == 0 || rng.below(8) == 0) label_before[i] = true, ++nlabels;
    g.labels += nlabels;
    auto label = [&](std::size_t k) { return fmt::format("v{}_l{}", v, k); };
    auto any_label = [&] { return label(rng.below(unsigned(nlabels))); };
    auto reg = [&] { return rng.below(31); };
    auto two_regs = [&] {
      unsigned a = reg(), b = rng.below(30);
      if (b >= a) ++b;
      return std::pair{a, b};
    };
    auto immediate = [&]() -> std::string {
      switch (rng.below(8)) {
        case 0: return fmt::format("{}", rng.below(100000));
        case 1: return fmt::format("0x{:04x}_{:04x}", rng.below(0x10000), rng.below(0x10000));
        case 2: case 3: return any_label();
        case 4: return fmt::format("data_{} + {}", v, rng.below(4096));
        case 5: return std::string(kBuiltins[rng.below(std::size(kBuiltins))]);
        case 6: return std::string(kConsts[rng.below(std::size(kConsts))]);
        default: return fmt::format("(BUF + {}) * STRIDE", rng.below(100));
      }
    };

    fmt::format_to(out, "/* {}: {} instructions, {} labels */\n", me, per_vm, nlabels);
    fmt::format_to(out, "vm {} {} {{\n  tx tx_{}\n", me, v % 5 == 4 ? "unknown" : "known", v);
    if (v == 0) fmt::format_to(out, "  rx rx_0 holds 4 from {}\n", vm_name(1));
    else fmt::format_to(out, "  rx rx_{}\n", v);
    fmt::format_to(out, "  reg r0 = SHARE\n  reg r1 = data_{} + 16\n  reg r30 = {}\n", v, label(0));
    fmt::format_to(out, "  code at code_{} {{\n", v);
    std::size_t k = 0;
    for (std::size_t i = 0; i < per_vm; ++i) {
      if (i % 64 == 0 && i) fmt::format_to(out, "    // block {}\n", i / 64);
      if (label_before[i]) fmt::format_to(out, "  {}:\n", label(k++));
      s += "    ";
      unsigned w = rng.below(100);
      if (w < 14) {
        fmt::format_to(out, "mov r{}, {}", reg(), immediate());
      } else if (w < 22) {
        auto [a, b] = two_regs();
        fmt::format_to(out, "mov r{}, r{}", a, b);
      } else if (w < 32) {
        auto [a, b] = two_regs();
        fmt::format_to(out, "ldr r{}, r{}", a, b);
      } else if (w < 40) {
        auto [a, b] = two_regs();
        fmt::format_to(out, "str r{}, r{}", a, b);
      } else if (w < 48) {
        unsigned c = rng.below(3);
        fmt::format_to(out, "cmp r{}, {}", reg(),
                       c == 0 ? fmt::format("{}", rng.below(64)) : c == 1 ? std::string("SUCCESS") : "LIMIT - 1");
      } else if (w < 53) {
        auto [a, b] = two_regs();
        fmt::format_to(out, "cmp r{}, r{}", a, b);
      } else if (w < 62) {
        auto [a, b] = two_regs();
        fmt::format_to(out, "add r{}, r{}", a, b);
      } else if (w < 71) {
        auto [a, b] = two_regs();
        fmt::format_to(out, "sub r{}, r{}", a, b);
      } else if (w < 75) {
        fmt::format_to(out, "mult r{}, {}", reg(), rng.below(2) ? fmt::format("{}", rng.below(16)) : "STRIDE");
      } else if (w < 82) {
        fmt::format_to(out, "bne r{}", reg());
      } else if (w < 85) {
        fmt::format_to(out, "br r{}", reg());
      } else if (w < 89) {
        s += "nop";
      } else if (w < 94) {
        s += "hvc";
      } else if (w < 97) {
        s += "halt";
      } else {
        s += "fail";
      }
      if (rng.below(16) == 0) s += "  // note";
      s += "\n";
    }
    s += "  }\n}\n";
    // Initial memory: a few words of the data page, one holding a label.
    fmt::format_to(out, "word data_{} = MAGIC\nword data_{} + 1 = {}\nword data_{} + STRIDE = LIMIT\n", v, v, label(0),
                   v);
    fmt::format_to(out, "transaction {} share from {} to {} pages {{shared_{}}}\n\n", v + 1, me,
                   vm_name((v + 1) % vms), v);
    g.instructions += per_vm;
  }
  g.lines = std::size_t(std::count(s.begin(), s.end(), '\n'));
  return g;
}

Row bench_parser(std::size_t vms, std::size_t per_vm, int runs, Generated& g) {
  g = generate_machine(vms, per_vm);
  // A name as long as a real path: every SourceLoc copies it.
  SourceFile src(fmt::format("bench/generated-{}.hvsl", g.instructions), g.text);  // line table: not timed
  {
    Machine m = must_parse(src);
    std::size_t instrs = 0;
    for (const auto& vm : m.vms) instrs += vm.code ? vm.code->instrs.size() : 0;
    if (m.vms.size() != g.vms || instrs != g.instructions || m.labels.size() != g.labels)
      die(fmt::format("parse: got {} VMs, {} instructions, {} labels; generated {}, {}, {}", m.vms.size(), instrs,
                      m.labels.size(), g.vms, g.instructions, g.labels));
  }
  auto once = [&]() -> double {
    Diagnostics diags;
    auto t0 = Clock::now();
    std::optional<Machine> m = parse_machine(src, diags);
    auto t1 = Clock::now();
    if (!m) die("parse: the generated file stopped parsing");
    return seconds_between(t0, t1);
  };
  Row row;
  row.what = fmt::format("parse_machine arm64 ({} instrs)", g.instructions);
  row.seconds = measure(runs, once);
  row.work = double(g.instructions);
  row.unit = "instr";
  row.bytes = double(g.text.size());
  return row;
}

// ---- report -------------------------------------------------------------------

std::string ms(double s) { return fmt::format("{:.1f} ms", s * 1e3); }

std::string rate(double per_second, std::string_view unit) {
  if (per_second >= 1e6) return fmt::format("{:.1f} M {}/s", per_second / 1e6, unit);
  if (per_second >= 1e3) return fmt::format("{:.1f} k {}/s", per_second / 1e3, unit);
  return fmt::format("{:.1f} {}/s", per_second, unit);
}

void print_table(const std::vector<Row>& rows) {
  std::size_t w = 4;
  for (const auto& r : rows) w = std::max(w, r.what.size());
  fmt::print("{:<{}}  {:>4}  {:>10}  {:>10}  {:>10}  {}\n", "what", w, "runs", "median", "min", "max",
             "derived from the median");
  for (const auto& r : rows) {
    double med = median(r.seconds);
    auto [lo, hi] = std::minmax_element(r.seconds.begin(), r.seconds.end());
    std::string derived = fmt::format("{}, {:.2f} ns/{}", rate(r.work / med, r.unit), med / r.work * 1e9, r.unit);
    if (r.bytes > 0) derived += fmt::format(", {:.1f} MB/s", r.bytes / med / 1e6);
    fmt::print("{:<{}}  {:>4}  {:>10}  {:>10}  {:>10}  {}\n", r.what, w, r.seconds.size(), ms(med), ms(*lo), ms(*hi),
               derived);
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto opts = parse_options(argc, argv);
  if (!opts) return 2;
  const bool quick = opts->quick;
  const int runs = opts->runs;

  const std::size_t parse_vms = quick ? 10 : 25, parse_per_vm = quick ? 1000 : 4000;
  if (!opts->emit.empty()) {
    Generated g = generate_machine(parse_vms, parse_per_vm);
    std::FILE* f = std::fopen(opts->emit.c_str(), "wb");
    if (!f || std::fwrite(g.text.data(), 1, g.text.size(), f) != g.text.size() || std::fclose(f) != 0)
      die(fmt::format("cannot write '{}': {}", opts->emit, std::strerror(errno)));
    fmt::print("wrote {} ({} VMs, {} instructions, {} labels, {} bytes)\n", opts->emit, g.vms, g.instructions,
               g.labels, g.text.size());
    return 0;
  }

  fmt::print("hvsl_bench: build type {}{}, {} hardware threads, {} measured runs per row (+1 warm-up){}\n",
             HVSL_BENCH_BUILD_TYPE,
#ifdef NDEBUG
             "",
#else
             " (assertions on)",
#endif
             std::thread::hardware_concurrency(), runs, quick ? ", --quick workloads" : "");
  std::fflush(stdout);

  std::vector<Row> rows;
  // Inner loop 500,000 (vmsl immediates stop below 1,000,000), 14 outer
  // iterations: 21 million steps, nearly all sub/cmp/bne.
  const Word inner = 500'000, outer = quick ? 1 : 14;
  rows.push_back(bench_interpreter("vmsl", 1000, inner, outer, runs));
  rows.push_back(bench_interpreter("arm64", 0x1000, inner, outer, runs));

  Generated g;
  rows.push_back(bench_parser(parse_vms, parse_per_vm, runs, g));

  fmt::print("parse input: {} VMs, {} instructions, {} labels, {} lines, {:.2f} MB\n\n", g.vms, g.instructions,
             g.labels, g.lines, double(g.text.size()) / 1e6);
  print_table(rows);

  // Targets (docs/benchmarks.md): >= 20 M instr/s; 100,000 instructions
  // parsed well under a second.
  if (!quick) {
    fmt::print("\ntargets: interpreter >= 20 M instr/s: vmsl {}, arm64 {}; parse of 100,000 instructions < 1 s: {}\n",
               rows[0].work / median(rows[0].seconds) >= 20e6 ? "met" : "NOT met",
               rows[1].work / median(rows[1].seconds) >= 20e6 ? "met" : "NOT met",
               median(rows[2].seconds) < 1.0 ? "met" : "NOT met");
  }
  return 0;
}
