#pragma once
// What verification produces: per code block a verdict, every failure with
// its path and counterexample, and a record of every verification condition.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "logic/source_loc.h"
#include "logic/term.h"

namespace hvsl {

enum class Verdict { Verified, Failed, Inconclusive };
std::string_view name(Verdict v);

// One step of a symbolic path, for messages: an instruction or a branch.
struct PathStep {
  Word pc = 0;
  std::string text;  // "mov r1, 5", "bne r3 (taken)", "reaches the invariant"
  SourceLoc loc;
  bool ghost = false;  // not an instruction (invariants, specs)
};

// A concrete machine state that reaches a failure, with the interpreter's
// verdict on it.
struct Counterexample {
  Word start_pc = 0;  // where the run starts: the code's start, or an invariant's position
  std::vector<std::pair<std::string, Word>> registers;  // the VM's registers at the start
  std::vector<std::pair<Word, Word>> memory;            // address, value at the start
  std::vector<std::pair<std::string, std::string>> logical;  // other variables of the model
  bool replayed = false;     // the interpreter ran it
  bool confirmed = false;    // ... and reached the same failure
  std::string replay_note;   // what the replay showed
};

struct Failure {
  std::string id;        // stable, e.g. "postcondition.false", "mem.permission"
  std::string message;
  SourceLoc loc;         // where it fails (the instruction or ghost item)
  SourceLoc related;     // the spec clause that failed, if any
  std::string related_note;
  std::vector<PathStep> path;
  std::optional<Counterexample> cex;
  bool inconclusive = false;  // the solver could not decide: not a proof, not a refutation
};

// One query sent to the solver.
struct VcRecord {
  std::string purpose;   // "postcondition", "branch feasibility", ...
  SourceLoc loc;
  std::vector<Term> assumptions;
  Term goal;             // for validity queries; invalid Term for satisfiability queries
  std::string verdict;   // "valid", "invalid", "unknown", "sat", "unsat"
  std::string smtlib;
  std::chrono::nanoseconds time{0};
};

struct BlockResult;
// A block's verdict from its failures: a failure outranks an undecided
// query; only a block with neither is verified.
Verdict verdict_of(const std::vector<Failure>& failures);

struct BlockResult {
  std::string vm;
  // The termination claim that was checked, in words ("ends only by halting,
  // with its postcondition", "never terminates", "never faults").
  std::string claim;
  SourceLoc loc;
  Verdict verdict = Verdict::Verified;
  std::vector<Failure> failures;
  std::size_t paths = 0;
  std::size_t queries = 0;
  std::chrono::nanoseconds total_time{0}, solver_time{0};
  std::vector<VcRecord> vcs;  // filled when requested
  std::vector<std::string> notes;  // what the verdict does not cover, in words
};

}  // namespace hvsl
