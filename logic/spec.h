#pragma once
// Resolved separation-logic assertions and the specs attached to a VM's code.
// The frontend builds them from the syntax; vcgen/ consumes and produces them.
//
// Terms inside assertions use these variable names:
//   r0..r30, nz     the VM's registers now
//   old.r0, ...     the registers when the code started (old(...))
//   any other name  a logical variable (pattern ?x, exists, predicate
//                   parameter, forall index)
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "logic/source_loc.h"
#include "logic/term.h"

namespace hvsl {

// An exact fraction in (0, 1], the share of a resource an assertion holds.
struct Perm {
  std::uint64_t num = 1, den = 1;
  static Perm make(std::uint64_t n, std::uint64_t d);  // normalised
  bool full() const { return num == den; }
  friend bool operator==(const Perm&, const Perm&) = default;
  friend bool operator<(const Perm& a, const Perm& b) { return (__int128)a.num * b.den < (__int128)b.num * a.den; }
  friend Perm operator+(const Perm& a, const Perm& b);
  friend Perm operator-(const Perm& a, const Perm& b);  // requires b <= a
  friend Perm operator*(const Perm& a, const Perm& b);
  std::string str() const;
};

// The resources an assertion can name: a chunk is resource(keys) |-> values.
struct ResourceInfo {
  std::string name;
  std::vector<Sort> keys;
  std::vector<Sort> values;
};
const ResourceInfo* resource_info(const std::string& name);  // nullptr if unknown

struct Assertion;
using AssertionPtr = std::shared_ptr<const Assertion>;

struct Assertion {
  enum class Kind { Emp, Pure, Chunk, Pred, Sep, Exists, Forall, If };
  Kind kind = Kind::Emp;
  SourceLoc loc;
  std::string text;                 // as written, for messages
  Term cond;                        // Pure; If
  std::string name;                 // Chunk: the resource; Pred: the predicate
  std::vector<Term> args;           // Chunk: keys; Pred: arguments
  std::vector<Term> values;         // Chunk: values
  Perm perm;                        // Chunk, Pred
  bool read_only = false;           // Chunk written [_]: some fraction is held; matched, not taken
  std::vector<AssertionPtr> parts;  // Sep: the conjuncts; If: then, else
  std::vector<std::pair<std::string, Sort>> vars;  // Exists: bound variables; Forall: the index
  Term lo, hi;                      // Forall: lo <= index < hi (constants)
  AssertionPtr body;                // Exists, Forall
};

struct Predicate {
  std::string name;
  std::vector<std::pair<std::string, Sort>> params;
  AssertionPtr body;
  SourceLoc loc;
};

// Ghost code between instructions.
struct GhostOp {
  enum class Kind { Assert, Invariant, Fold, Unfold };
  Kind kind = Kind::Assert;
  AssertionPtr assertion;   // Assert, Invariant; Fold/Unfold: the Pred assertion
  SourceLoc loc;
  // Written before a label at the same address: only for the path that
  // falls through from the previous instruction, not for jumps to the label.
  bool fallthrough_only = false;
};

// What must hold when the VM's code ends.
struct Postcondition {
  bool never_terminates = false;  // no path may end (halt included)
  AssertionPtr assertion;         // on halting (null: true)
  SourceLoc loc;
};

struct VmSpec {
  AssertionPtr requires_;                  // null: emp
  SourceLoc requires_loc;
  std::optional<Postcondition> ensures;    // nullopt: the code is not verified
  // What the VM is given whenever control switches to it (VMSL's VMProp);
  // whoever switches to it must hand this over. Null: nothing.
  // `receives_from` holds the protocols for one giver ('receives from vm1').
  struct Protocol {
    AssertionPtr assertion;
    SourceLoc loc;
  };
  AssertionPtr receives;
  SourceLoc receives_loc;
  std::map<std::uint32_t, Protocol> receives_from;
  // The protocol when VM `giver` hands control over.
  Protocol protocol_from(std::uint32_t giver) const {
    auto it = receives_from.find(giver);
    return it != receives_from.end() ? it->second : Protocol{receives, receives_loc};
  }
  // Ghost code before the instruction at each index (index == size: after the last).
  std::map<std::size_t, std::vector<GhostOp>> ghost;
};

}  // namespace hvsl
