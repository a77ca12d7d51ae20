#include "vcgen/claims.h"

#include <map>

#include <fmt/format.h>

namespace hvsl {
namespace {

class Collector {
 public:
  explicit Collector(const Machine& m) : m_(m) {}

  // Adds the chunks of `a` (both branches of an 'if': either may be held).
  void add(const AssertionPtr& a, const Env& env) {
    using K = Assertion::Kind;
    switch (a->kind) {
      case K::Sep:
        for (const auto& p : a->parts) add(p, env);
        return;
      case K::If:
        add(a->parts[0], env);
        add(a->parts[1], env);
        return;
      case K::Exists: add(a->body, env); return;
      case K::Forall: {
        for (Word i = a->lo->value; i < a->hi->value; ++i) {
          Env inner = env;
          inner[a->vars[0].first] = Value{Sort::Word, i, {}};
          add(a->body, inner);
        }
        return;
      }
      case K::Chunk: {
        HeldClaim c{a->name, {}, a->perm, a->loc};
        for (const auto& k : a->args) {
          auto v = eval(k, *m_.profile, env);
          if (!v || v->sort != Sort::Word) {
            if (!out.unchecked) out.unchecked = a;
            return;
          }
          c.keys.push_back(v->word);
        }
        out.claims.push_back(std::move(c));
        return;
      }
      case K::Pred:
        if (!out.unchecked) out.unchecked = a;
        return;
      default: return;
    }
  }

  HeldClaims out;

 private:
  const Machine& m_;
};

struct Claim {
  VmId vm = 0;
  Perm perm;
  SourceLoc loc;
};

}  // namespace

std::string HeldClaim::text() const {
  bool mem = name == "mem";
  std::string out = name + (mem ? "[" : "(");
  for (std::size_t i = 0; i < keys.size(); ++i) out += fmt::format("{}{}", i ? ", " : "", keys[i]);
  return out + (mem ? "]" : ")");
}

HeldClaims collect_claims(const Machine& m, const AssertionPtr& a) {
  Collector c(m);
  if (a) c.add(a, {});
  return std::move(c.out);
}

std::vector<ClaimProblem> check_claims(const Machine& m, const std::vector<VmId>& vms) {
  std::vector<ClaimProblem> out;
  if (vms.size() < 2) return out;
  std::map<std::string, std::vector<Claim>> by_key;
  for (VmId v : vms) {
    const VmDecl& d = m.vms[v];
    HeldClaims held = collect_claims(m, d.spec.requires_);
    for (const auto& c : held.claims) by_key[c.text()].push_back(Claim{v, c.perm, c.loc});
    if (const AssertionPtr& u = held.unchecked) {
      Failure f;
      f.id = "claims.unchecked";
      f.message = fmt::format("{}'s precondition holds '{}', whose place is not a constant, so hvsl cannot check "
                              "that no other VM holds it too",
                              d.name, u->text.empty() ? u->name : u->text);
      f.loc = u->loc;
      f.inconclusive = true;
      out.push_back({v, std::move(f)});
    }
  }
  for (const auto& [key, claims] : by_key) {
    Perm total{0, 1};
    for (std::size_t i = 0; i < claims.size(); ++i) {
      const Claim& c = claims[i];
      if (i > 0 && (Perm{1, 1} < total + c.perm)) {
        const Claim& first = claims[0];
        Failure f;
        f.id = "claims.overlap";
        f.message = fmt::format("{} and {} both hold {} (more than all of it between them), but each keeps what it "
                                "holds while the other runs",
                                m.vms[first.vm].name, m.vms[c.vm].name, key);
        f.loc = c.loc;
        f.related = first.loc;
        f.related_note = fmt::format("{} holds it here", m.vms[first.vm].name);
        out.push_back({c.vm, std::move(f)});
        break;
      }
      total = i == 0 ? c.perm : total + c.perm;
    }
  }
  return out;
}

}  // namespace hvsl
