#pragma once
// The symbolic heap: chunks "resource(keys) |-> values" with a permission.
// Chunks are indexed by resource and keys, so the common case (a known
// address) is found without asking the solver.
#include <map>
#include <string>
#include <vector>

#include "logic/spec.h"
#include "logic/term.h"

namespace hvsl {

struct Chunk {
  std::string name;           // "mem", "access", ... or "pred:NAME" for a predicate instance
  std::vector<Term> keys;
  std::vector<Term> values;
  Perm perm;
};

class Heap {
 public:
  using Bucket = std::map<std::vector<Term>, Chunk>;

  // The chunk with exactly these keys (syntactically), or null.
  Chunk* find(const std::string& name, const std::vector<Term>& keys);
  const Chunk* find(const std::string& name, const std::vector<Term>& keys) const;
  // Every chunk of a resource.
  Bucket* bucket(const std::string& name);
  const Bucket* bucket(const std::string& name) const;
  // Adds a chunk; a chunk with the same keys is merged into it (permissions
  // add up). Returns the stored chunk.
  Chunk& add(Chunk c);
  // Removes `p` of a chunk's permission; removes the chunk when none is left.
  void take(const std::string& name, const std::vector<Term>& keys, Perm p);
  std::vector<const Chunk*> all() const;
  // Rewrites every key and value (chunks whose keys become equal merge).
  template <typename F>
  void rewrite(F&& f) {
    auto old = std::move(buckets_);
    buckets_.clear();
    symbolic_.clear();
    for (auto& [name, bucket] : old)
      for (auto& [keys, c] : bucket) {
        for (auto& k : c.keys) k = f(k);
        for (auto& v : c.values) v = f(v);
        add(std::move(c));
      }
  }
  // How many chunks of a resource have a key that is not a literal.
  std::size_t symbolic_keys(const std::string& name) const;

 private:
  std::map<std::string, Bucket> buckets_;
  std::map<std::string, std::size_t> symbolic_;
};

std::string describe(const Chunk& c);  // "mem[2000] |-> 5"

}  // namespace hvsl
