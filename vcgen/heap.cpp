#include "vcgen/heap.h"

namespace hvsl {

Chunk* Heap::find(const std::string& name, const std::vector<Term>& keys) {
  auto b = buckets_.find(name);
  if (b == buckets_.end()) return nullptr;
  auto c = b->second.find(keys);
  return c == b->second.end() ? nullptr : &c->second;
}

const Chunk* Heap::find(const std::string& name, const std::vector<Term>& keys) const {
  auto b = buckets_.find(name);
  if (b == buckets_.end()) return nullptr;
  auto c = b->second.find(keys);
  return c == b->second.end() ? nullptr : &c->second;
}

Heap::Bucket* Heap::bucket(const std::string& name) {
  auto b = buckets_.find(name);
  return b == buckets_.end() ? nullptr : &b->second;
}

const Heap::Bucket* Heap::bucket(const std::string& name) const {
  auto b = buckets_.find(name);
  return b == buckets_.end() ? nullptr : &b->second;
}

namespace {
bool literal_keys(const std::vector<Term>& keys) {
  for (const auto& k : keys)
    if (!is_lit(k)) return false;
  return true;
}
}  // namespace

std::size_t Heap::symbolic_keys(const std::string& name) const {
  auto it = symbolic_.find(name);
  return it == symbolic_.end() ? 0 : it->second;
}

Chunk& Heap::add(Chunk c) {
  Bucket& b = buckets_[c.name];
  auto it = b.find(c.keys);
  if (it == b.end()) {
    if (!literal_keys(c.keys)) ++symbolic_[c.name];
    return b.emplace(c.keys, std::move(c)).first->second;
  }
  it->second.perm = it->second.perm + c.perm;
  return it->second;
}

void Heap::take(const std::string& name, const std::vector<Term>& keys, Perm p) {
  Bucket& b = buckets_[name];
  auto it = b.find(keys);
  if (it == b.end()) return;
  if (it->second.perm == p) {
    if (!literal_keys(keys)) --symbolic_[name];
    b.erase(it);
  } else {
    it->second.perm = it->second.perm - p;
  }
}

std::vector<const Chunk*> Heap::all() const {
  std::vector<const Chunk*> out;
  for (const auto& [n, b] : buckets_)
    for (const auto& [k, c] : b) out.push_back(&c);
  return out;
}

std::string describe(const Chunk& c) {
  std::string keys;
  for (const auto& k : c.keys) keys += (keys.empty() ? "" : ", ") + to_string(k);
  std::string out;
  if (c.name.rfind("pred:", 0) == 0) out = c.name.substr(5) + "(" + keys + ")";
  else if (c.name == "mem") out = "mem[" + keys + "]";
  else out = c.name + "(" + keys + ")";
  if (c.name.rfind("pred:", 0) != 0) {
    std::string vals;
    for (const auto& v : c.values) vals += (vals.empty() ? "" : ", ") + to_string(v);
    out += " |-> " + (c.values.size() == 1 ? vals : "(" + vals + ")");
  }
  if (!c.perm.full()) out += " [" + c.perm.str() + "]";
  return out;
}

}  // namespace hvsl
