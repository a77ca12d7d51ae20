// hvsl_bench: how fast the reference interpreter runs, how fast the
// frontend reads a large file and how fast the verifier verifies generated
// programs. Not a test: the figures depend on the machine and its load, so
// each measurement is repeated and reported as medians.
// docs/benchmarks.md says how to run it and what was measured.
//
//   hvsl_bench [--runs N] [--quick] [--only GROUP] [--emit FILE] [--emit-verify DIR]
//
// Rows:
//  - interpreter <profile>: Interpreter::run on a counter loop (sub/cmp/bne
//    in an inner loop, inside an outer loop); instructions per second.
//  - parse_machine arm64: parse_machine (X3 parse + lowering and every
//    semantic check) on a generated file of 100,000 instructions.
//  - verify straight-line <profile>: verify_machine on generated programs
//    of 100, 1,000 and 10,000 instructions (10 VMs), owned loads and stores
//    at literal addresses, register arithmetic, exact postconditions; total
//    time, time in Z3, the tool's own time, queries.
//  - verify copy loop <profile>: the same for the tutorial's copy loop.
#include <algorithm>
#include <array>
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
#include "smt/solver.h"
#include "vcgen/verifier.h"

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
  std::string emit_verify;  // --emit-verify DIR: write the verifier's inputs there and stop
  std::string only;         // --only GROUP: interpreter, parse or verify
};

void usage(std::FILE* to) {
  std::fputs(
      "usage: hvsl_bench [--runs N] [--quick] [--only GROUP] [--emit FILE] [--emit-verify DIR]\n"
      "  --runs N   measured runs per row (default 7; 3 with --quick); one extra\n"
      "             warm-up run per row is not counted\n"
      "  --quick    small workloads, for a fast smoke run (figures not comparable)\n"
      "  --only G   run only one group of rows: interpreter, parse or verify\n"
      "  --emit F   write the generated parser input to F (with --quick: the small\n"
      "             one) and exit, e.g. to run 'hvsl check F' or a profiler on it\n"
      "  --emit-verify D  write the generated verifier inputs into directory D (it\n"
      "             must exist) and exit, e.g. to run 'hvsl verify --stats' on them\n",
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
    } else if (a == "--emit-verify") {
      if (i + 1 >= argc) {
        std::fputs("hvsl_bench: --emit-verify needs a directory\n", stderr);
        return std::nullopt;
      }
      o.emit_verify = argv[++i];
    } else if (a == "--only") {
      if (i + 1 >= argc) {
        std::fputs("hvsl_bench: --only needs a group: interpreter, parse or verify\n", stderr);
        return std::nullopt;
      }
      o.only = argv[++i];
      if (o.only != "interpreter" && o.only != "parse" && o.only != "verify") {
        std::fprintf(stderr, "hvsl_bench: --only wants interpreter, parse or verify, not '%s'\n", o.only.c_str());
        return std::nullopt;
      }
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

// ---- verifier ------------------------------------------------------------------

// Straight-line programs for the verifier: `vms` known VMs, each with its own
// code page holding `per_vm` instructions (the last is `halt`) and a data
// page whose first kWords words it owns by explicit points-to. The code
// works at literal addresses: read-modify-write of a word (mov, ldr, add or
// sub, str), swaps of two words, loads into temporaries, add/sub into the
// accumulators r20..r23, mult by 2 or 3, small constants, register copies
// and cmp. The postcondition gives every owned word and r20..r23 at the halt
// as a linear combination of the initial words (a0..a7) and
// old(r20)..old(r23). The generator tracks those combinations exactly and
// only emits operations that cannot saturate (vmsl) or go below zero given
// the precondition's bounds (every input <= kBound), so the same program is
// correct in both profiles and the postcondition is exact. The verifier has
// to prove each of the 12 equations per VM that does not hold syntactically
// with Z3 (the addresses are literal, so loads and stores need no query).
constexpr std::size_t kWords = 8, kInRegs = 4, kInputs = kWords + kInRegs;
constexpr Reg kFirstInReg = 20;
constexpr std::uint64_t kBound = 1000, kLimit = 900'000;  // kLimit < vmsl's largest word and immediate

struct Lin {
  std::array<std::uint64_t, kInputs> c{};
  std::uint64_t k = 0;
  std::uint64_t bound() const {
    std::uint64_t b = k;
    for (auto x : c) b += x * kBound;
    return b;
  }
  bool dominates(const Lin& o) const {  // this - o >= 0 for every input
    if (o.k > k) return false;
    for (std::size_t i = 0; i < kInputs; ++i)
      if (o.c[i] > c[i]) return false;
    return true;
  }
};

std::string input_name(std::size_t i) {
  return i < kWords ? fmt::format("a{}", i) : fmt::format("old(r{})", kFirstInReg + (i - kWords));
}

std::string render(const Lin& l, std::uint64_t extra = 0) {
  std::string s;
  for (std::size_t i = 0; i < kInputs; ++i) {
    if (!l.c[i]) continue;
    if (!s.empty()) s += " + ";
    s += l.c[i] == 1 ? input_name(i) : fmt::format("{} * {}", input_name(i), l.c[i]);
  }
  std::uint64_t k = l.k + extra;
  if (k || s.empty()) s += s.empty() ? fmt::format("{}", k) : fmt::format(" + {}", k);
  return s;
}

struct VerifyInput {
  std::string name;  // row label
  std::string file;  // file name for --emit-verify
  std::string text;
  std::size_t vms = 0, instructions = 0;
};

// Page k (0: code, 1: data) of VM v.
Word sl_page(std::string_view profile, std::size_t v, int k) {
  return profile == "arm64" ? Word(0x10'0000) + Word(v * 2 + std::size_t(k)) * 4096
                            : Word(1000) + Word(v * 2 + std::size_t(k)) * 1000;
}

// wrong_post: the last VM's postcondition claims mem[data + 0] is one more
// than it is (a check that the postcondition is really checked).
VerifyInput generate_straight_line(std::string_view profile, std::size_t vms, std::size_t per_vm,
                                   bool wrong_post = false) {
  const Word page_size = profile == "arm64" ? 4096 : 1000;
  if (per_vm < 2 || per_vm > page_size) die("generate_straight_line: a program must fit in one page");
  VerifyInput in;
  in.vms = vms;
  in.instructions = vms * per_vm;
  in.name = fmt::format("verify straight-line {} ({} x {})", profile, vms, per_vm);
  in.file = fmt::format("straight-line-{}-{}x{}.hvsl", profile, vms, per_vm);
  std::string& s = in.text;
  auto out = std::back_inserter(s);
  Rng rng(0x76657269 + per_vm);  // "veri"
  fmt::format_to(out, "// Generated by hvsl_bench: {} straight-line VMs x {} instructions.\nprofile {}\n\n", vms,
                 per_vm, profile);
  for (std::size_t v = 0; v < vms; ++v) {
    fmt::format_to(out, "page code_{0} at {1} owner vm_{0} exclusive access {{vm_{0}}}\n", v, sl_page(profile, v, 0));
    fmt::format_to(out, "page data_{0} at {1} owner vm_{0} exclusive access {{vm_{0}}}\n", v, sl_page(profile, v, 1));
  }
  s += "\n";
  for (std::size_t v = 0; v < vms; ++v) {
    std::array<std::optional<Lin>, kRegCount> reg;  // nullopt: unknown or an address
    std::array<Lin, kWords> mem;
    for (std::size_t k = 0; k < kWords; ++k) mem[k].c[k] = 1;
    for (std::size_t r = 0; r < kInRegs; ++r) {
      Lin in;
      in.c[kWords + r] = 1;
      reg[kFirstInReg + r] = in;
    }
    std::vector<std::string> code;
    // r1..r19 are scratch (addresses and temporaries); r20..r23 are the
    // accumulators the postcondition names. Memory changes only by
    // read-modify-write and swaps, and the accumulators only by add and sub,
    // so the initial values stay in play to the end.
    auto temp = [&] { return Reg(1 + rng.below(kFirstInReg - 1)); };
    auto acc = [&] { return Reg(kFirstInReg + rng.below(kInRegs)); };
    auto known = [&](Reg r) { return reg[r].has_value(); };
    auto plus = [](Lin x, const Lin& y) {
      for (std::size_t i = 0; i < kInputs; ++i) x.c[i] += y.c[i];
      x.k += y.k;
      return x;
    };
    auto minus = [](Lin x, const Lin& y) {
      for (std::size_t i = 0; i < kInputs; ++i) x.c[i] -= y.c[i];
      x.k -= y.k;
      return x;
    };
    // A register, other than those in `not_`, holding a non-zero value that
    // `from` dominates (so from - it cannot go below zero); 0 if none.
    auto dominated = [&](const Lin& from, std::initializer_list<Reg> not_) -> Reg {
      unsigned start = rng.below(kFirstInReg + kInRegs);
      for (unsigned j = 0; j < kFirstInReg + kInRegs - 1; ++j) {
        Reg r = Reg(1 + (start + j) % (kFirstInReg + kInRegs - 1));
        if (std::find(not_.begin(), not_.end(), r) != not_.end() || !known(r) || reg[r]->bound() == 0) continue;
        if (from.dominates(*reg[r])) return r;
      }
      return 0;
    };
    auto distinct = [](std::initializer_list<Reg> rs) {
      for (auto i = rs.begin(); i != rs.end(); ++i)
        for (auto j = i + 1; j != rs.end(); ++j)
          if (*i == *j) return false;
      return true;
    };
    while (code.size() + 1 < per_vm) {
      const std::size_t room = per_vm - 1 - code.size();  // instructions left before the halt
      unsigned w = rng.below(100);
      if (w < 35 && room >= 4) {  // mem[k] += src, or -= where += would grow too much
        Reg a = temp(), t = temp(), src = rng.below(2) ? acc() : temp();
        std::size_t k = rng.below(kWords);
        if (!distinct({a, t, src}) || !known(src)) continue;
        bool add = plus(mem[k], *reg[src]).bound() <= kLimit && rng.below(4) != 0;
        if (!add) {
          src = dominated(mem[k], {a, t});
          if (!src) continue;
        }
        code.push_back(fmt::format("mov r{}, data_{} + {}", a, v, k));
        code.push_back(fmt::format("ldr r{}, r{}", t, a));
        code.push_back(fmt::format("{} r{}, r{}", add ? "add" : "sub", t, src));
        code.push_back(fmt::format("str r{}, r{}", t, a));
        mem[k] = add ? plus(mem[k], *reg[src]) : minus(mem[k], *reg[src]);
        reg[t] = mem[k];
        reg[a].reset();
      } else if (w < 42 && room >= 6) {  // swap two words
        Reg a = temp(), b = temp(), x = temp(), y = temp();
        std::size_t k = rng.below(kWords), j = rng.below(kWords);
        if (!distinct({a, b, x, y}) || k == j) continue;
        code.push_back(fmt::format("mov r{}, data_{} + {}", a, v, k));
        code.push_back(fmt::format("ldr r{}, r{}", x, a));
        code.push_back(fmt::format("mov r{}, data_{} + {}", b, v, j));
        code.push_back(fmt::format("ldr r{}, r{}", y, b));
        code.push_back(fmt::format("str r{}, r{}", x, b));
        code.push_back(fmt::format("str r{}, r{}", y, a));
        std::swap(mem[k], mem[j]);
        reg[x] = mem[j];
        reg[y] = mem[k];
        reg[a].reset();
        reg[b].reset();
      } else if (w < 60 && room >= 2) {  // load a word into a temporary
        Reg a = temp(), t = temp();
        std::size_t k = rng.below(kWords);
        if (a == t) continue;
        code.push_back(fmt::format("mov r{}, data_{} + {}", a, v, k));
        code.push_back(fmt::format("ldr r{}, r{}", t, a));
        reg[a].reset();
        reg[t] = mem[k];
      } else if (w < 80) {  // accumulator += or -= a register
        Reg x = rng.below(3) ? acc() : temp(), y = rng.below(2) ? temp() : acc();
        if (x == y || !known(x) || !known(y)) continue;
        bool add = plus(*reg[x], *reg[y]).bound() <= kLimit && rng.below(3) != 0;
        if (!add) {
          y = dominated(*reg[x], {x});
          if (!y) continue;
        }
        code.push_back(fmt::format("{} r{}, r{}", add ? "add" : "sub", x, y));
        reg[x] = add ? plus(*reg[x], *reg[y]) : minus(*reg[x], *reg[y]);
      } else if (w < 86) {  // scale a temporary
        Reg x = temp();
        std::uint64_t f = 2 + rng.below(2);
        if (!known(x) || reg[x]->bound() * f > kLimit) continue;
        Lin p = *reg[x];
        for (auto& c : p.c) c *= f;
        p.k *= f;
        code.push_back(fmt::format("mult r{}, {}", x, f));
        reg[x] = p;
      } else if (w < 91) {  // a constant into a temporary
        Reg x = temp();
        Lin c;
        c.k = 1 + rng.below(99);
        code.push_back(fmt::format("mov r{}, {}", x, c.k));
        reg[x] = c;
      } else if (w < 95) {  // copy into a temporary
        Reg x = temp(), y = rng.below(2) ? temp() : acc();
        if (x == y || !known(y)) continue;
        code.push_back(fmt::format("mov r{}, r{}", x, y));
        reg[x] = reg[y];
      } else {  // cmp: sets nz, which the postcondition does not mention
        Reg x = temp(), y = acc();
        code.push_back(fmt::format("cmp r{}, r{}", x, y));
      }
    }
    code.push_back("halt");

    fmt::format_to(out, "vm vm_{} known {{\n  requires ", v);
    for (std::size_t k = 0; k < kWords; ++k) fmt::format_to(out, "mem[data_{} + {}] |-> ?a{} &*& ", v, k, k);
    for (std::size_t i = 0; i < kInputs; ++i)
      fmt::format_to(out, "{} <= {}{}", i < kWords ? input_name(i) : fmt::format("r{}", kFirstInReg + i - kWords),
                     kBound, i + 1 < kInputs ? " &*& " : "\n");
    s += "  ensures ";
    for (std::size_t k = 0; k < kWords; ++k)
      fmt::format_to(out, "mem[data_{} + {}] |-> {} &*&\n          ", v, k,
                     render(mem[k], wrong_post && v + 1 == vms && k == 0 ? 1 : 0));
    for (std::size_t r = 0; r < kInRegs; ++r)
      fmt::format_to(out, "r{} == {}{}", kFirstInReg + r, render(*reg[kFirstInReg + r]),
                     r + 1 < kInRegs ? " &*&\n          " : "\n");
    fmt::format_to(out, "  code at code_{} {{\n", v);
    for (const auto& c : code) fmt::format_to(out, "    {}\n", c);
    s += "  }\n}\n\n";
  }
  return in;
}

// VMSL's copy loop (examples/tutorial/04_copy_loop.hvsl) over n words: one
// VM, a loop invariant with a forall over the buffers. Symbolic addresses,
// so every ldr/str is a case split over the chunks it may denote.
VerifyInput generate_copy_loop(std::string_view profile, Word n) {
  VerifyInput in;
  in.vms = 1;
  in.name = fmt::format("verify copy loop {} ({} words)", profile, n);
  in.file = fmt::format("copy-loop-{}-{}.hvsl", profile, n);
  const bool arm = profile == "arm64";
  in.text = fmt::format(R"(// Generated by hvsl_bench: the copy loop of examples/tutorial/04_copy_loop.hvsl, n = {1}.
profile {0}
page prog0 at {2} owner vm0 exclusive access {{vm0}}
page bufs  at {3} owner vm0 exclusive access {{vm0}}

const n = {1}
const src = bufs
const dst = bufs + {4}

vm vm0 {{
  requires forall i in 0 .. n {{ mem[src + i] |-> _ &*& mem[dst + i] |-> _ }}
  ensures forall i in 0 .. n {{ mem[src + i] |-> ?a &*& mem[dst + i] |-> a }}
  code at prog0 {{
    mov r0, 1
    mov r5, n
    mov r6, loop
    mov r7, done
    mov r8, body
  loop:
    invariant r0 == 1 &*& r5 <= n &*& r6 == loop &*& r7 == done &*& r8 == body &*&
              forall i in 0 .. n {{ mem[src + i] |-> ?a &*& mem[dst + i] |-> ?b &*& (i >= r5 ==> b == a) }}
    cmp r5, 0
    bne r8
    br r7
  body:
    mov r1, src
    add r1, r5
    sub r1, r0
    ldr r2, r1
    mov r1, dst
    add r1, r5
    sub r1, r0
    str r2, r1
    sub r5, r0
    br r6
  done:
    halt
  }}
}}
)",
                        profile, n, arm ? 4096 : 1000, arm ? 8192 : 2000, arm ? 2048 : 500);
  in.instructions = 19;
  return in;
}

struct VerifyRun {
  double total = 0, z3 = 0;  // seconds
  std::size_t queries = 0, paths = 0, blocks = 0;
};

struct VerifyRow {
  std::string what;
  std::size_t instructions = 0;
  std::vector<VerifyRun> runs;
  double total() const { return median_of(&VerifyRun::total); }
  double z3() const { return median_of(&VerifyRun::z3); }
  double own() const {  // the median of the per-run differences
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(r.total - r.z3);
    return median(v);
  }
  double median_of(double VerifyRun::*f) const {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(r.*f);
    return median(v);
  }
};

std::string first_failure(const std::vector<BlockResult>& rs) {
  for (const auto& r : rs)
    for (const auto& f : r.failures) return fmt::format("{}: {} ({}) at line {}", r.vm, f.message, f.id, f.loc.line);
  return "no failure recorded";
}

// verify_machine with an empty hypercall table and default options; the
// time is the wall-clock time of that call (it creates the Z3 context).
VerifyRun verify_once(const Machine& m, const VerifyInput& in, bool expect_verified) {
  HvcSpecTable hvc;
  VerifyOptions opts;
  smt::Stats stats;
  auto t0 = Clock::now();
  std::vector<BlockResult> rs = verify_machine(m, hvc, opts, &stats);
  auto t1 = Clock::now();
  VerifyRun run;
  run.total = seconds_between(t0, t1);
  run.z3 = std::chrono::duration<double>(stats.time).count();
  run.queries = stats.queries;
  run.blocks = rs.size();
  std::chrono::nanoseconds block_z3{0};
  std::size_t block_queries = 0;
  bool all_verified = rs.size() == in.vms;
  for (const auto& r : rs) {
    run.paths += r.paths;
    block_z3 += r.solver_time;
    block_queries += r.queries;
    all_verified = all_verified && r.verdict == Verdict::Verified;
  }
  if (expect_verified && !all_verified)
    die(fmt::format("{}: {} of {} blocks, not all verified: {}", in.name, rs.size(), in.vms, first_failure(rs)));
  if (!expect_verified) {
    // Only the last VM's postcondition is wrong: it alone fails, on that clause.
    bool ok = rs.size() == in.vms && !rs.back().failures.empty() && rs.back().verdict == Verdict::Failed;
    for (std::size_t i = 0; ok && i + 1 < rs.size(); ++i) ok = rs[i].verdict == Verdict::Verified;
    for (std::size_t i = 0; ok && i < rs.back().failures.size(); ++i)
      ok = rs.back().failures[i].id == "postcondition.value";
    if (!ok) die(fmt::format("{}: with a wrong postcondition in the last VM: {}", in.name, first_failure(rs)));
  }
  if (block_z3 != stats.time || block_queries != stats.queries)
    die(fmt::format("{}: the blocks' solver figures ({} queries) disagree with smt::Stats ({} queries)", in.name,
                    block_queries, stats.queries));
  return run;
}

VerifyRow bench_verify(const VerifyInput& in, int runs) {
  SourceFile src(fmt::format("bench/{}.hvsl", in.name), in.text);
  Machine m = must_parse(src);
  VerifyRow row;
  row.what = in.name;
  row.instructions = in.instructions;
  verify_once(m, in, true);  // warm-up
  for (int i = 0; i < runs; ++i) row.runs.push_back(verify_once(m, in, true));
  return row;
}

// The same program with a postcondition that is off by one in one word must
// fail: the figures above are for a postcondition that is really checked.
void check_wrong_post_fails(std::string_view profile, std::size_t vms, std::size_t per_vm) {
  VerifyInput in = generate_straight_line(profile, vms, per_vm, true);
  SourceFile src(fmt::format("bench/{} (wrong postcondition).hvsl", in.name), in.text);
  Machine m = must_parse(src);
  verify_once(m, in, false);
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

void print_verify_table(const std::vector<VerifyRow>& rows) {
  std::size_t w = 4;
  for (const auto& r : rows) w = std::max(w, r.what.size());
  fmt::print("{:<{}}  {:>4}  {:>10}  {:>10}  {:>10}  {:>5}  {:>7}  {:>6}  {}\n", "what", w, "runs", "total", "in Z3",
             "own", "own %", "queries", "paths", "verdict; per instruction");
  for (const auto& r : rows) {
    const VerifyRun& any = r.runs.front();
    double total = r.total(), own = r.own();
    fmt::print("{:<{}}  {:>4}  {:>10}  {:>10}  {:>10}  {:>4.0f}%  {:>7}  {:>6}  verified; {:.1f} us/instr\n", r.what,
               w, r.runs.size(), ms(total), ms(r.z3()), ms(own), 100 * own / total, any.queries, any.paths,
               total / double(r.instructions) * 1e6);
  }
}

// The verifier's workloads. Straight-line: 10 VMs of 10, 100 and 1,000
// instructions each, in both profiles (a vmsl page holds 1,000 words, so the
// 10,000-instruction file fits there too). --quick: only the first two sizes.
constexpr std::size_t kVerifyVms = 10;
std::vector<std::size_t> verify_sizes(bool quick) {
  if (quick) return {10, 100};
  return {10, 100, 1000};
}
// The copy loop over 8 and 16 words (--quick: 4 words, arm64 only).
std::vector<std::pair<std::string_view, Word>> loop_rows(bool quick) {
  if (quick) return {{"arm64", 4}};
  return {{"arm64", 8}, {"arm64", 16}, {"vmsl", 8}, {"vmsl", 16}};
}

std::vector<VerifyInput> verify_inputs(bool quick) {
  std::vector<VerifyInput> out;
  for (std::string_view profile : {"arm64", "vmsl"})
    for (std::size_t per_vm : verify_sizes(quick)) out.push_back(generate_straight_line(profile, kVerifyVms, per_vm));
  for (auto [profile, n] : loop_rows(quick)) out.push_back(generate_copy_loop(profile, n));
  return out;
}

void write_file(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0)
    die(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
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
    write_file(opts->emit, g.text);
    fmt::print("wrote {} ({} VMs, {} instructions, {} labels, {} bytes)\n", opts->emit, g.vms, g.instructions,
               g.labels, g.text.size());
    if (opts->emit_verify.empty()) return 0;
  }
  if (!opts->emit_verify.empty()) {
    for (const auto& in : verify_inputs(quick)) {
      std::string path = opts->emit_verify + "/" + in.file;
      write_file(path, in.text);
      fmt::print("wrote {} ({} VM{}, {} instructions)\n", path, in.vms, in.vms == 1 ? "" : "s", in.instructions);
    }
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

  const bool run_interp = opts->only.empty() || opts->only == "interpreter";
  const bool run_parse = opts->only.empty() || opts->only == "parse";
  const bool run_verify = opts->only.empty() || opts->only == "verify";

  std::vector<Row> rows;
  std::optional<std::size_t> interp_row, parse_row;
  if (run_interp) {
    // Inner loop 500,000 (vmsl immediates stop below 1,000,000), 14 outer
    // iterations: 21 million steps, nearly all sub/cmp/bne.
    const Word inner = 500'000, outer = quick ? 1 : 14;
    interp_row = rows.size();
    rows.push_back(bench_interpreter("vmsl", 1000, inner, outer, runs));
    rows.push_back(bench_interpreter("arm64", 0x1000, inner, outer, runs));
  }
  if (run_parse) {
    Generated g;
    parse_row = rows.size();
    rows.push_back(bench_parser(parse_vms, parse_per_vm, runs, g));
    fmt::print("parse input: {} VMs, {} instructions, {} labels, {} lines, {:.2f} MB\n", g.vms, g.instructions,
               g.labels, g.lines, double(g.text.size()) / 1e6);
  }
  if (!rows.empty()) {
    fmt::print("\n");
    print_table(rows);
  }

  std::vector<VerifyRow> vrows;
  if (run_verify) {
    for (std::string_view profile : {"arm64", "vmsl"}) check_wrong_post_fails(profile, kVerifyVms, 10);
    for (const auto& in : verify_inputs(quick)) {
      vrows.push_back(bench_verify(in, runs));
      std::fflush(stdout);
    }
    fmt::print("\nverify_machine (empty hypercall table, default options); medians; own = total - time in Z3\n");
    print_verify_table(vrows);
  }

  // Targets (docs/benchmarks.md): >= 20 M instr/s; 100,000 instructions
  // parsed well under a second; 10,000 straight-line instructions verified
  // in under 2 s, at most a quarter of it outside Z3, and at most 12 times
  // the time for 1,000.
  if (!quick) {
    std::vector<std::string> t;
    auto met = [](bool ok) { return ok ? "met" : "NOT met"; };
    if (interp_row)
      t.push_back(fmt::format("interpreter >= 20 M instr/s: vmsl {}, arm64 {}",
                              met(rows[*interp_row].work / median(rows[*interp_row].seconds) >= 20e6),
                              met(rows[*interp_row + 1].work / median(rows[*interp_row + 1].seconds) >= 20e6)));
    if (parse_row)
      t.push_back(fmt::format("parse of 100,000 instructions < 1 s: {}", met(median(rows[*parse_row].seconds) < 1.0)));
    fmt::print("\n");
    for (std::size_t i = 0; i < t.size(); ++i) fmt::print("{}{}", i ? "; " : "targets: ", t[i]);
    if (!t.empty()) fmt::print("\n");
    if (run_verify) {
      const std::size_t per_profile = verify_sizes(false).size();
      for (std::size_t p = 0; p < 2; ++p) {
        const VerifyRow& k1 = vrows[p * per_profile + 1];
        const VerifyRow& k10 = vrows[p * per_profile + 2];
        double total = k10.total(), own = k10.own(), growth = total / k1.total();
        fmt::print("verifier, {} straight-line: 10,000 instructions < 2 s: {} ({:.2f} s); own time <= 25%: {} "
                   "({:.0f}%); growth 1,000 -> 10,000 <= 12x: {} ({:.1f}x)\n",
                   p == 0 ? "arm64" : "vmsl", met(total < 2.0), total, met(own <= 0.25 * total), 100 * own / total,
                   met(growth <= 12.0), growth);
      }
    }
  }
  return 0;
}
