#pragma once
// Concrete evaluation of a resolved assertion (logic/spec.h) on a concrete
// machine state: does the assertion hold for one VM, here, with these values
// of the logical variables? The differential tester (tests/difftest/) uses it
// to pick start states that satisfy a precondition and to check that the
// final state satisfies the postcondition; see docs/difftest.md.
//
// What a term means here:
//   r0..r30, nz     the VM's registers in the state
//   old.r0, ...     the registers given as the start values
//   any other name  a logical variable: bound by `bindings`, or bound here
//                   (a pattern, an exists, a predicate parameter, a forall index)
//
// What an assertion means here:
//   emp, pure facts   as usual (a fact is a boolean term, evaluated with hvsl::eval)
//   mem[a] |-> x      a is in a declared page and the word at a equals x
//   access(vm) |-> S  S is the set of the base addresses of the pages vm can access
//   owner(p) |-> vm   the page holding p is owned by vm (a hypervisor page has no
//                     VM owner: the chunk is undecided, Truth::Unknown)
//   excl(p) |-> b     the page holding p has the exclusive flag b
//   tx(vm) / rx(vm)   |-> p: the base address of vm's TX / RX page
//   rxstate(vm) |-> (full, len, sender): vm's RX state (empty: len = sender = 0)
//   trans(h) |-> (sender, receiver, pages, kind), retrieved(h) |-> b: the
//                     transaction behind handle h (kind encoded as in the
//                     profile; a free or invalid handle: the chunk fails)
//   handles() |-> S   S is the set of free handles
//   reg(vm, n) |-> x  register n of vm (0..30: r0..r30; 31: pc; 32: nz) equals x
//   P(args)           P's body (Machine::predicates) with the parameters bound,
//                     up to a nesting depth (deeper: Truth::Unknown); a
//                     pattern argument binds to what the body's first chunk
//                     with that parameter as its value holds (also inside a
//                     forall, as in "forall i in 0 .. n { mem[p + i] |-> v }")
//   A &*& B           both hold; parts are evaluated in order, and a part that
//                     needs a name a later part binds is retried after it
//   exists x. A       x is bound by the first chunk value (or predicate
//                     argument) that is exactly x, or by a fact "x == term";
//                     there is no search over values: otherwise Truth::Unknown
//   forall i in lo .. hi { A }   A holds for every i
//   if c { A } else { B }        A if c holds, otherwise B
//
// A chunk value (or predicate argument) that is a variable with no value yet
// is a pattern: it takes the concrete value. "_" patterns are such variables
// too (the frontend names them "_1", "_2", ...). A set value "{?x}" (the term
// {} insert x, x with no value yet) binds x if the set has exactly one
// element, and fails otherwise. A read-only chunk ("[_]", in a hypercall's
// requires) is evaluated as any other chunk.
//
// For a hypercall spec (specs/ffa.hvsl; tests/conformance/):
// AssertionEvalOptions::export_if_bindings makes the names a taken 'if'
// branch binds visible after it and returns them (the outcome guards use
// them), and AssertionEvalResult::chunks lists the concrete chunks the
// evaluation matched (its footprint, for a frame check).
//
// NOT checked: separation and permissions. A &*& B only needs both to hold,
// not that they describe disjoint resources (mem[a] |-> 1 &*& mem[a] |-> 1
// holds), and fractions ([1/2]) are ignored. Whether the VM may access a
// word is not checked either: it is the access set's business.
#include <array>
#include <string>
#include <vector>

#include "logic/spec.h"
#include "logic/state.h"
#include "logic/term.h"

namespace hvsl {

enum class Truth { Holds, Fails, Unknown };
std::string_view name(Truth t);

struct AssertionEvalOptions {
  unsigned max_predicate_depth = 32;  // nested predicate unfoldings before giving up (Unknown)
  // Names bound in the taken branch of an 'if' stay bound after it (and are
  // returned in AssertionEvalResult::bindings), as in a hypercall's requires
  // clause. Off for VM specs, whose 'if' branches keep their names inside.
  bool export_if_bindings = false;
};

// A chunk the evaluation matched: resource(keys), concretely. mem, owner and
// excl keys are as written (an address), not normalised to the page.
struct MatchedChunk {
  std::string resource;     // "mem", "access", "trans", "handles", ...
  std::vector<Value> keys;
  bool read_only = false;   // written '[_]'
};

struct AssertionEvalResult {
  Truth truth = Truth::Holds;
  std::string reason;  // Fails / Unknown: the part that decided it, and why
  // The given bindings plus the names the assertion binds at its top level
  // (patterns not under exists, forall, if or a predicate; with
  // export_if_bindings also those of a taken 'if' branch), so that a
  // postcondition can refer to them. Registers and old.* are not included.
  Env bindings;
  // The chunks matched, in evaluation order (a chunk in the branch of an 'if'
  // that was not taken is not here; one may appear twice). Complete only if
  // the assertion holds.
  std::vector<MatchedChunk> chunks;
  bool holds() const { return truth == Truth::Holds; }
};

// Evaluates `a` (null: emp) on `s` for VM `vm`: registers from s.vms[vm],
// old.rN from `old_regs`, logical variables from `bindings`.
AssertionEvalResult eval_assertion(const AssertionPtr& a, const State& s, VmId vm,
                                   const std::array<Word, kRegCount>& old_regs, const Env& bindings = {},
                                   const AssertionEvalOptions& opts = {});

}  // namespace hvsl
