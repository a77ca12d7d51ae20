#pragma once
// The spec-conformance checker (issue 4, item 3; docs/conformance.md): one
// hypercall step of the reference interpreter (logic/hypercalls.cpp, or
// logic/nova_calls.cpp on an 'abi nova' machine) against the hypercall spec
// file (specs/ffa.hvsl or specs/nova.hvsl, lowered to logic/abi.h).
//
// For a concrete state and its current VM as the caller, check_step()
//  1. evaluates the call's `requires` on the state before (bindings: caller);
//     a footprint the caller does not hold puts the state outside the spec;
//  2. evaluates every outcome's guard (registers at the call, caller, the
//     names the requires bound): exactly one must hold;
//  3. steps the interpreter once (the hvc) and evaluates the chosen outcome's
//     `ensures` on the state after (old(rN) = the registers at the call);
//     checks that the caller's registers outside `writes` (and nz) are
//     unchanged, that its pc moved past the hvc, that the current VM is the
//     outcome's `switch to` target (the caller without one), that no other
//     VM's registers, pc or mode changed (except r0..r2 of the VM control
//     passes to: what it is told on resuming is the 'receives' protocol's
//     business, not the call's spec);
//  4. frame: every resource that changed (a memory word, a page's owner or
//     exclusive flag, a VM's access set or RX state, a transaction, its
//     retrieved flag, the free handles; abi nova: a capability, a portal,
//     an EC's wait and pending reply, a semaphore, the semaphore count) is
//     one the requires took (not only read with [_]), or the trans/retrieved
//     of a handle that was free when the requires took handles() (the sm of
//     a fresh semaphore when it took sms()); and the ensures names no chunk
//     outside that footprint. abi nova: the scheduler's record of who runs
//     is not the call's: the ec of a caller that switches away (to
//     EC_REPLY), of the VM switched to (to EC_READY), and of an EC a
//     semaphore up wakes (EC_BLOCKED to EC_READY, with its r0, its down's
//     status) may change outside the footprint.
// Around all of this, the spec file's invariants (`invariant A implies e`,
// Abi::facts; check_facts): every way each one's chunks match the state is
// evaluated on the state before (a state that breaks one is not a state the
// hypervisor keeps: skipped, or a disagreement if the generator meant it to
// be well-formed) and, when the state before keeps them all, on the state
// after the interpreter's step, whatever the call (a broken one there is a
// disagreement: the call does not keep the invariant).
// The generators (Generator; generate_ffa.cpp, generate_nova.cpp) make
// random machines and states, well-formed and deliberately odd ones.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "logic/abi.h"
#include "logic/machine.h"
#include "logic/state.h"

namespace conformance {

using hvsl::VmId;
using hvsl::Word;

// What check_step found for one state.
struct StepReport {
  enum class Status {
    NoCall,       // r0 names no call of the spec file
    Outside,      // the caller does not hold the call's footprint (requires fails)
    Undecided,    // the requires could not be decided concretely (Unknown)
    Checked,      // an outcome was chosen and checked
    Disagreement, // the interpreter and the spec disagree (failures says how)
    BreaksInvariant  // the state before breaks an invariant of the spec file (not a state the hypervisor keeps)
  };
  Status status = Status::NoCall;
  std::string call;                   // the call's name ("" for NoCall)
  std::string outcome;                // the outcome whose guard held (first one if several)
  std::string reason;                 // Outside / Undecided: why
  std::vector<std::string> failures;  // Disagreement: what failed
  std::string details;                // Disagreement: the state, the call, bindings, the change
  // The invariants (index = Abi::facts): the facts the state before breaks
  // (or cannot decide), and the matches evaluated on the state after (empty
  // if it was not checked).
  std::vector<std::size_t> pre_broken;
  std::vector<std::uint64_t> post_matches;
  std::vector<std::uint64_t> post_touched;  // of those, the matches with a chunk the step changed
};

// ---- the spec file's invariants on a concrete state ------------------------------

// Every way an invariant's chunks match a state, in chunk order, as the
// verifier matches held chunks (vcgen/symexec.cpp, Executor::apply_facts): a
// key that is a name not bound yet ranges over what exists (handles with a
// live transaction for trans/retrieved, declared pages for owner/excl, VM ids
// for access/tx/rx/rxstate/reg, the words of declared pages for mem); then the
// chunk's values are matched as hvsl::eval_assertion matches them ('?x'
// binds, a bound name must equal, {?p} matches a one-element set; a chunk the
// state does not have does not match), and at the end the fact is evaluated
// with hvsl::eval.
struct FactCheck {
  std::vector<std::uint64_t> matches;  // per fact: the matches evaluated
  std::vector<std::uint64_t> touched;  // per fact: those with a chunk in `changed`
  struct Broken {
    std::size_t fact = 0;
    bool undecided = false;  // a chunk or the fact could not be evaluated (the owner of a hypervisor page)
    std::string how;         // the bindings and what failed
  };
  std::vector<Broken> broken;  // every match whose fact is false (or undecided)
};
// Native: the chunks' values are computed here (fast); AssertionEval: each
// chunk is evaluated by hvsl::eval_assertion (slow: a reference the tests
// compare the native one with).
enum class FactEval { Native, AssertionEval };
// `changed`: resource keys as the frame check names them ("trans(3)",
// "excl(4096)", "access(1)"), to count the matches that read one.
FactCheck check_facts(const hvsl::Abi& abi, const hvsl::State& s, FactEval how = FactEval::Native,
                      const std::set<std::string>* changed = nullptr);

// "ffa.hvsl:217: trans(h) |->[_] (s, r, {p}, k) &*& excl(p) |->[_] e implies e == (k != 1)"
// (pattern names without '?', constants as the profile encodes them)
std::string fact_label(const hvsl::AbiFact& f);
std::string fact_loc(const hvsl::AbiFact& f);  // "ffa.hvsl:217"

struct CheckOptions {
  bool facts = true;        // check the invariants on the states before and after
  // The generator made the state well-formed (Case::well_formed): an
  // invariant it breaks is a disagreement (the invariant is wrong), not a
  // state to skip.
  bool well_formed = false;
};

// Checks one hvc step of `pre`'s current VM (which must be running and have
// an hvc at its pc) against `abi`.
StepReport check_step(const hvsl::Abi& abi, const hvsl::State& pre, const CheckOptions& opts = {});

// A readable dump of a state (for reports).
std::string describe(const hvsl::State& s);

// ---- random states ---------------------------------------------------------------

struct Rng {
  std::mt19937_64 g;
  explicit Rng(std::uint64_t seed) : g(seed) {}
  std::uint64_t range(std::uint64_t lo, std::uint64_t hi) {  // inclusive
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(g);
  }
  int irange(int lo, int hi) { return int(range(std::uint64_t(lo), std::uint64_t(hi))); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(g) < p; }
  std::uint64_t word() { return g(); }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[range(0, v.size() - 1)];
  }
};

// A generated case: the machine (on the heap: the state points to it) and
// the state before the call. `odd` lists the deliberately odd features.
// `well_formed`: none of them breaks what the spec file's invariants state.
// FF-A: VMSL's transaction/page-table consistency (§3.1): no transaction
// with sender = receiver, no retrieved donation, no page in two
// transactions, every transaction's page entries as it implies. NOVA: every
// case (portals bound to existing ECs, pending replies to existing VMs).
struct Case {
  std::unique_ptr<hvsl::Machine> machine;
  hvsl::State state;
  std::vector<std::string> odd;
  bool well_formed = true;
  std::uint64_t number = 0;  // its number in the run (from 0)
};

// The generators, one per hypercall interface, each drawing a case from the
// random stream: generate_ffa.cpp (FF-A machines for specs/ffa.hvsl) and
// generate_nova.cpp ('abi nova' machines for specs/nova.hvsl).
Case generate_ffa(Rng& rng);
Case generate_nova(Rng& rng);

class Generator {
 public:
  explicit Generator(std::uint64_t seed, hvsl::AbiKind abi = hvsl::AbiKind::Ffa) : rng_(seed), abi_(abi) {}
  Case next();

 private:
  Rng rng_;
  hvsl::AbiKind abi_;
};

// The spec file's calls for a profile and a VM count, parsed once each.
class AbiCache {
 public:
  explicit AbiCache(std::string text, std::string name = "ffa.hvsl", hvsl::AbiKind kind = hvsl::AbiKind::Ffa)
      : text_(std::move(text)), name_(std::move(name)), kind_(kind) {}
  // nullptr if the text does not parse; errors() says why.
  const hvsl::Abi* get(const hvsl::Profile& p, std::size_t vm_count);
  const std::string& errors() const { return errors_; }

 private:
  std::string text_, name_, errors_;
  hvsl::AbiKind kind_;
  std::map<std::pair<std::string, std::size_t>, std::optional<hvsl::Abi>> abis_;
};

// Totals over many cases.
struct Stats {
  std::uint64_t cases = 0, no_call = 0, outside = 0, undecided = 0, checked = 0, disagreements = 0;
  std::uint64_t breaks_invariant = 0;  // states before that break an invariant (skipped)
  std::uint64_t post_states = 0;       // states after whose invariants were checked
  std::uint64_t odd_cases = 0, well_formed = 0, well_formed_broken = 0;
  // per invariant (index = Abi::facts): its label, the states before it
  // breaks, the matches checked on states after, and of those the ones with
  // a chunk the step changed (a transaction made, retrieved, ...)
  std::vector<std::string> fact_labels;
  std::vector<std::uint64_t> fact_pre_broken, fact_post_matches, fact_post_touched;
  std::map<std::string, std::uint64_t> broken_reasons;  // skipped states: the first invariant broken -> count
  std::map<std::string, std::uint64_t> per_call;                                // cases per call
  std::map<std::string, std::map<std::string, std::uint64_t>> per_outcome;      // call -> outcome -> checked
  std::map<std::string, std::map<std::string, std::uint64_t>> outside_reasons;  // call -> reason -> count
  std::map<std::string, std::uint64_t> odd_features;                            // feature -> cases
  void add(const StepReport& r, const Case& c);
};

struct RunOptions {
  // A well-formed generated state (Case::well_formed) that breaks an
  // invariant is a disagreement (off: it is only skipped, as any other).
  bool well_formed_findings = true;
  // Which interface: its generator, and how the spec text is parsed
  // (specs/ffa.hvsl or, with 'abi nova' machines, specs/nova.hvsl).
  hvsl::AbiKind abi = hvsl::AbiKind::Ffa;
};

// Runs `cases` generated cases from `seed` against the spec text; calls
// on_disagreement for each disagreement (stop by returning false).
Stats run(const std::string& spec_text, std::uint64_t seed, std::uint64_t cases,
          const std::function<bool(const StepReport&, const Case&)>& on_disagreement,
          const RunOptions& opts = {});

}  // namespace conformance
