#pragma once
// Internal to vcgen/: the symbolic state and the executor of one VM's code.
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "vcgen/adversary.h"
#include "vcgen/heap.h"
#include "vcgen/verifier.h"

namespace hvsl {

// Where a symbolic run started, so a counterexample can be replayed from a
// concrete state: the pc, the registers and the memory the run was given.
struct RunStart {
  Word pc = 0;
  std::array<Term, kRegCount> regs;
  std::vector<std::pair<Term, Term>> memory;  // address, value
  std::vector<Chunk> kernel;                   // the other chunks the path starts from (sm, cap, ...)
};

struct SymState {
  Word pc = 0;
  std::array<Term, kRegCount> regs;
  std::vector<Term> path;              // the path condition, as conjuncts
  Heap heap;
  std::map<std::string, Term> env;     // logical variables and old.rN
  std::vector<PathStep> trace;
  // Names an 'if' branch bound during the current consume/produce: the
  // bindings map is shared by the states a split makes, so each state keeps
  // its branch's names here for the caller to pick up.
  std::map<std::string, Term> branch;
  std::size_t steps = 0;
  std::optional<std::size_t> started_at;  // this run starts at the invariant before this instruction
  bool fresh = true;                      // no instruction executed yet in this run
  bool dead = false;                      // the path ended in a failure
  std::size_t ghost_done = 0;             // ghost items at this pc already done (a split resumes after one)
  bool jumped = false;                    // arrived at this pc by a jump, not by falling through
  std::set<Word> exposed;                 // pages this VM gave an unknown VM by a memory transaction
  // Words unknown VMs may have written, and the fresh value each got, so a
  // counterexample can be replayed with an unknown VM that writes them.
  std::vector<std::pair<Word, std::string>> adversary_writes;
  Term extra_reach;        // for the FTLR check: pages besides the declared reach (a set; may be invalid)
  SourceLoc outcome_loc;   // the hypercall outcome last taken
  std::vector<Chunk> lazy_pre;  // FTLR: chunks created on demand, as they were before the step
  std::vector<std::pair<std::string, std::vector<Term>>> borrowed;  // abi nova: the adversary's chunks this call uses
  std::shared_ptr<RunStart> start;
};

using Bindings = std::map<std::string, Term>;

// Terms and chunks for messages, with the verifier's fresh names read as
// the spec's ("v#3" as "v").
std::string show(const Term& t);
std::string show(const Chunk& c);

// What a consumption is for, to word its failures.
struct Purpose {
  std::string id;        // failure id prefix: "postcondition", "invariant", "assert", ...
  std::string what;      // "the postcondition", "the loop invariant", ...
  SourceLoc at;          // the program point
  SourceLoc clause;      // the spec clause
};

class Executor {
 public:
  Executor(const Machine& m, VmId vm, const HvcSpecTable& hvc, const VerifyOptions& opts, smt::Solver& solver,
           BlockResult& result);
  void run();

 private:
  const Machine& m_;
  VmId vm_;
  const VmDecl& decl_;
  const CodeBlock& code_;
  const HvcSpecTable& hvc_;
  const VerifyOptions& opts_;
  smt::Solver& solver_;
  BlockResult& result_;
  TermBuilder tb_;
  unsigned fresh_counter_ = 0;
  std::vector<SymState> work_;
  std::set<std::size_t> invariants_started_;
  std::set<std::pair<std::string, std::string>> reported_;  // (id, location) already reported
  std::map<std::string, Term> pre_env_;  // old.rN and the precondition's names
  Adversary adv_;                        // the unknown VMs' static reach

  // robust safety (symexec_adversary.cpp)
  Term some_unknown(const Term& vm) const;
  Term page_in_reach(const SymState& s, const Term& page) const;
  Term adversary_reaches(SymState& s, const Chunk& c);
  // What keeps the reach closed, as a fact about chunk c (null if nothing):
  // FF-A, the unknown VMs' access sets, owned pages and transactions lie in
  // `reach` (a page set); NOVA, a reached PD's capabilities name reached
  // objects, and a reached portal calls a reached EC.
  Term reach_closed(const Chunk& c, const Term& reach) const;
  Term nova_reached(const Term& x, CapKind kind) const;
  // abi nova: pages of VMs' UTCBs whose caller may be waiting for an
  // unknown PD's reply, which writes them (per the reply chunks in s).
  Term utcb_awaits_unknown(const SymState& s, const Term& page) const;
  // abi nova: a call that may switch to an unknown PD exposes the caller's
  // UTCB to its reply until control comes back.
  bool expose_utcb(SymState& s, std::size_t index);
  // abi nova: chunks of the adversary's a hypercall's footprint used
  // (borrow), given back after the call, with the reach still closed.
  bool borrowing_ = false;
  std::optional<Chunk> borrow(SymState& s, const std::string& name, const std::vector<Term>& keys);
  bool return_borrowed(SymState& s, std::size_t index);
  void adversary_may_run(SymState& s, const SourceLoc& at);
  void note_exposure(SymState& s, std::size_t index);
  bool keeps_exposed(const SymState& before, const SymState& after, std::size_t index, const std::string& to);
  bool shared_access(SymState& s, const Term& addr);

 public:
  // The automated FTLR for this (unknown) VM (symexec_ftlr.cpp, vcgen/ftlr.h).
  void ftlr();

 private:
  bool collect_ = false;     // hypercall() queues switching outcomes without switching
  bool lazy_world_ = false;  // a missing chunk is created (lazy_chunk), not reported
  SymState ftlr_world();
  Term ftlr_reach(const SymState& s) const;
  Chunk& lazy_chunk(SymState& s, const std::string& name, const std::vector<Term>& keys);
  void nova_world_facts(SymState& s, const Chunk& c);
  const Chunk* ftlr_find(SymState& s, const Chunk& c);
  void ftlr_fail(SymState& s, const std::string& message, const Term& goal, const SourceLoc& at);

  // terms
  Term fresh(const std::string& base, Sort s);
  Term subst(const Term& t, const SymState& s, const Bindings& b);
  const Term* singleton_pattern(const Term& v, const Bindings& b) const;
  std::vector<SymState> switch_vm(SymState s, const Term& target, std::size_t index);
  static SymState keep_branch(SymState s, const Bindings& inner, const Bindings& outer);
  void pin_value(SymState& s, const Term& fact, Bindings& b);
  void apply_facts(SymState& s);
  // The single value of a term on this path; `unknown` is set if the solver
  // could not decide.
  std::optional<Word> concrete(SymState& s, const Term& t, const SourceLoc& loc, bool& unknown);

  // solver
  smt::Outcome prove(const SymState& s, const Term& goal, const std::string& purpose, const SourceLoc& loc);
  bool feasible(const SymState& s, const Term& extra, const std::string& purpose, const SourceLoc& loc);
  // sat: Valid, unsat: Invalid, or Unknown.
  smt::Verdict feasibility(const SymState& s, const Term& extra, const std::string& purpose, const SourceLoc& loc);
  smt::Outcome satisfy(const std::vector<Term>& q, const std::string& purpose, const SourceLoc& loc);
  void record(const std::string& purpose, const SourceLoc& loc, const std::vector<Term>& assumptions, const Term& goal,
              const smt::Outcome& out);
  // Proves goal or reports a failure; returns whether it was proved.
  // The message is built only if the check fails (messages are not cheap).
  bool check(SymState& s, const Term& goal, const std::string& id, const std::function<std::string()>& message,
             const SourceLoc& loc, const SourceLoc& related = {}, const std::string& note = {});
  void report(const SymState& s, const std::string& id, const std::string& message, const SourceLoc& loc,
              const SourceLoc& related, const std::string& note, const smt::Outcome* outcome, const Term& goal);

  // assertions
  std::vector<SymState> produce(SymState s, const AssertionPtr& a, Bindings& b);
  std::vector<SymState> consume(SymState s, const AssertionPtr& a, Bindings& b, const Purpose& p);
  // The chunks a (possibly symbolic) reference can denote: one state per
  // feasible candidate, its path extended with "the keys are equal", and
  // the candidate's keys. Reports a missing resource where no chunk fits.
  struct Match {
    SymState state;
    std::vector<Term> keys;
  };
  std::vector<Match> match_chunk(SymState s, const std::string& name, const std::vector<Term>& keys,
                                 const Purpose& p, const std::string& missing_id,
                                 const std::function<std::string()>& missing_msg,
                                 const SourceLoc& clause);

  // execution
  SymState initial_state();
  void execute(SymState s);
  bool ghost(SymState& s, std::size_t index);  // false: the path ends here
  void step(SymState& s, const Instr& i, std::size_t index);
  bool fetch_ok(SymState& s, std::size_t index);
  bool data_access_ok(SymState& s, const Term& addr, bool write, std::size_t index);
  void hypercall(SymState& s, std::size_t index);
  void at_halt(SymState& s, std::size_t index);
  void start_from_invariant(std::size_t index, const GhostOp& inv);
  Term access_set(SymState& s, std::size_t index);
  Chunk declared_access() const;
  // The code's own words. They are not resources the code holds; but any
  // memory chunk that may sit on a code word holds the loaded instruction at
  // a run's start, must still hold it when that word is fetched, and must at
  // a cut point (which claims the code is intact).
  Term code_word_fact(const Chunk& c) const;  // "if c is on a code word, it holds the instruction"
  void assume_code_loaded(SymState& s);
  bool code_intact(SymState& s, const SourceLoc& at, const std::string& id);
  bool fetch_word_ok(SymState& s, std::size_t index);
  Perm scale_{1, 1};  // fractions of a predicate body being folded or unfolded
  void branch_to(SymState s, const Term& target, std::size_t index);
  void data_access(SymState s, const Instr& i, std::size_t index);
  SourceLoc loc_of(std::size_t index) const;
  // The path for a report. Instruction steps carry only what the executor
  // appended (" (taken)"); their text is made here, not at every step.
  std::vector<PathStep> path_of(const SymState& s) const;
};

}  // namespace hvsl
