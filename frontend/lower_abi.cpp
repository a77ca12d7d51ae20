// Lowers a hypercall spec file (ast::AbiFile) to logic/abi.h: names,
// sorts and resources are checked as in a program's specs; the checks that
// need the solver (outcomes that overlap or miss a case) are in
// vcgen/abi_check.cpp.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "frontend/grammar.h"
#include "frontend/lower_spec.h"
#include "frontend/parser.h"
#include "logic/encoding.h"
#include "logic/instruction.h"
#include "logic/nova.h"

namespace hvsl {
namespace {

class AbiLowering {
 public:
  AbiLowering(const SourceFile& src, Diagnostics& diags, const Profile& p, std::size_t vm_count, AbiKind kind)
      : src_(src), diags_(diags), p_(p), tb_(p), spec_(src, diags, p, [this](const std::string& n) {
          return constant(n);
        }) {
    for (const auto& c : kind == AbiKind::Nova ? nova_constants(p) : builtin_constants(p))
      constants_[std::string(c.name)] = c.value;
    constants_["VM_COUNT"] = Word(vm_count);
  }

  std::optional<Abi> lower(const ast::AbiFile& file) {
    Abi abi;
    abi.file = src_.name();
    const ast::SelectDecl* select = nullptr;
    for (const auto& d : file) {
      if (auto* s = boost::get<ast::SelectDecl>(&d)) {
        if (select) {
          auto& e = diags_.error(spec_.loc(*s), "the selecting register is declared twice");
          add_note(e, spec_.loc(*select), "first declared here");
          continue;
        }
        select = s;
        auto r = reg_by_name(s->reg.text);
        if (!r || *r >= kGeneralRegs) {
          diags_.error(spec_.loc(s->reg), fmt::format("'select' needs a general register (r0..r30), not '{}'",
                                                      s->reg.text));
          continue;
        }
        abi.select = *r;
        if (s->modulus) {
          SpecLowering::Scope none;
          ast::SExpr e;
          e.first = *s->modulus;
          e.begin = s->modulus->begin;
          e.end = s->modulus->end;
          auto m = spec_.expr(e, none, Sort::Word);
          if (m && is_lit(*m) && (*m)->value >= 2) abi.select_modulus = (*m)->value;
          else if (m) diags_.error(spec_.loc(*s->modulus), "'select r % N' needs N of at least 2");
        }
      }
    }
    if (!select && !file.empty()) {
      SourceLoc at = src_.loc(0);
      if (auto* h = boost::get<ast::HypercallDecl>(&file.front())) at = spec_.loc(h->name);
      else if (auto* i = boost::get<ast::AbiInvariant>(&file.front())) at = spec_.loc(*i);
      diags_.error(at, "a hypercall spec file must say which register selects the call ('select r0') before its "
                       "first hypercall");
    }
    for (const auto& d : file)
      if (auto* inv = boost::get<ast::AbiInvariant>(&d))
        if (auto f = invariant(*inv)) abi.facts.push_back(std::move(*f));
    std::map<Word, const ast::HypercallDecl*> ids;
    std::set<std::string> names;
    for (const auto& d : file) {
      auto* h = boost::get<ast::HypercallDecl>(&d);
      if (!h) continue;
      auto call = hypercall(*h);
      if (!call) continue;
      if (!names.insert(call->name).second) {
        diags_.error(spec_.loc(h->name), fmt::format("hypercall '{}' is specified twice", call->name));
        continue;
      }
      if (auto [it, fresh] = ids.emplace(call->id, h); !fresh) {
        auto& e = diags_.error(spec_.loc(h->name), fmt::format("hypercall '{}' has the function id {:#x} of '{}'",
                                                              call->name, call->id, it->second->name.text));
        add_note(e, spec_.loc(it->second->name), "that one is here");
        continue;
      }
      abi.calls.push_back(std::move(*call));
    }
    if (diags_.has_errors()) return std::nullopt;
    return abi;
  }

 private:
  const SourceFile& src_;
  Diagnostics& diags_;
  const Profile& p_;
  TermBuilder tb_;
  SpecLowering spec_;
  std::map<std::string, Word> constants_;

  std::optional<Word> constant(const std::string& n) const {
    auto it = constants_.find(n);
    if (it == constants_.end()) return std::nullopt;
    return it->second;
  }

  std::optional<AbiFact> invariant(const ast::AbiInvariant& inv) {
    AbiFact f;
    f.loc = spec_.loc(inv);
    SpecLowering::Scope scope;
    scope.read_only = true;
    scope.key_patterns = true;
    auto pattern = spec_.assertion(inv.pattern, scope);
    if (!pattern) return std::nullopt;
    std::vector<AssertionPtr> parts =
        pattern->kind == Assertion::Kind::Sep ? pattern->parts : std::vector<AssertionPtr>{pattern};
    for (const auto& p : parts) {
      if (p->kind != Assertion::Kind::Chunk) {
        diags_.error(p->loc, "an invariant's pattern is resources joined by '&*&' (no facts, predicates or "
                             "quantifiers); put conditions after 'implies'");
        return std::nullopt;
      }
      f.chunks.push_back(p);
    }
    auto t = spec_.expr(inv.fact, scope, Sort::Bool);
    if (!t) return std::nullopt;
    if ((*t)->sort != Sort::Bool) {
      diags_.error(spec_.loc(inv.fact), "what follows 'implies' must be a boolean");
      return std::nullopt;
    }
    f.fact = *t;
    return f;
  }

  std::optional<HvcSpec> hypercall(const ast::HypercallDecl& h) {
    HvcSpec call;
    call.name = h.name.text;
    call.loc = spec_.loc(h.name);
    SpecLowering::Scope scope;
    scope.vars["caller"] = Sort::Word;
    if (h.id) {
      auto t = spec_.expr(*h.id, scope, Sort::Word);
      if (!t) return std::nullopt;
      if (!is_lit(*t) || (*t)->sort != Sort::Word) {
        diags_.error(spec_.loc(*h.id), "a function id must be a constant word");
        return std::nullopt;
      }
      call.id = (*t)->value;
    } else if (auto v = constant(h.name.text)) {
      call.id = *v;
    } else {
      diags_.error(spec_.loc(h.name), fmt::format("'{}' is not a known function id; give it one: 'hypercall {} = "
                                                  "<id> {{ ... }}'",
                                                  h.name.text, h.name.text));
      return std::nullopt;
    }
    bool ok = true;
    const ast::RequiresItem* req = nullptr;
    std::set<std::string> outcome_names;
    const ast::OutcomeDecl* otherwise = nullptr;
    for (const auto& item : h.items) {
      if (auto* r = boost::get<ast::RequiresItem>(&item)) {
        if (req) {
          auto& e = diags_.error(spec_.loc(*r), "a hypercall has one 'requires' clause");
          add_note(e, spec_.loc(*req), "the first one is here");
          ok = false;
          continue;
        }
        if (!call.outcomes.empty()) {
          diags_.error(spec_.loc(*r), "'requires' comes before the outcomes");
          ok = false;
          continue;
        }
        req = r;
        scope.read_only = true;
        call.requires_ = spec_.assertion(r->assertion, scope);
        scope.read_only = false;
        if (!call.requires_) ok = false;
        else if (!footprint_ok(call.requires_)) ok = false;
      } else if (auto* l = boost::get<ast::LetItem>(&item)) {
        if (scope.vars.count(l->name.text) || scope.lets.count(l->name.text) || constant(l->name.text)) {
          diags_.error(spec_.loc(l->name), fmt::format("'{}' is already a name here; choose another", l->name.text));
          ok = false;
          continue;
        }
        auto t = spec_.expr(l->value, scope, std::nullopt);
        if (!t) ok = false;
        else scope.lets[l->name.text] = *t;
      } else {
        const auto& o = boost::get<ast::OutcomeDecl>(item);
        if (!outcome_names.insert(o.name.text).second) {
          diags_.error(spec_.loc(o.name), fmt::format("outcome '{}' is given twice", o.name.text));
          ok = false;
          continue;
        }
        if (otherwise) {
          auto& e = diags_.error(spec_.loc(o), "no outcome can follow the 'otherwise' outcome");
          add_note(e, spec_.loc(*otherwise), "the 'otherwise' outcome is here");
          ok = false;
          continue;
        }
        auto out = outcome(o, scope, call.requires_);
        if (!out) {
          ok = false;
          continue;
        }
        if (out->otherwise) otherwise = &o;
        call.outcomes.push_back(std::move(*out));
      }
    }
    if (ok && call.outcomes.empty()) {
      diags_.error(spec_.loc(h.name), fmt::format("hypercall '{}' has no outcome", call.name));
      ok = false;
    }
    if (!ok) return std::nullopt;
    call.facts = tb_.boolean(true);
    if (call.requires_) collect_facts(call.requires_, call.facts);
    if (otherwise) {
      // "otherwise": exactly when no earlier guard holds
      Term none = tb_.boolean(true);
      for (std::size_t i = 0; i + 1 < call.outcomes.size(); ++i) none = tb_.and_(none, tb_.not_(call.outcomes[i].guard));
      call.outcomes.back().guard = none;
    }
    return call;
  }

  // The top-level pure conjuncts of a requires clause: facts every outcome may use.
  void collect_facts(const AssertionPtr& a, Term& facts) {
    if (a->kind == Assertion::Kind::Pure) facts = tb_.and_(facts, a->cond);
    if (a->kind == Assertion::Kind::Sep)
      for (const auto& p : a->parts) collect_facts(p, facts);
  }

  // Chunks taken below 'forall' or 'exists' cannot be given back by name,
  // so there they must be only read ([_]).
  bool footprint_ok(const AssertionPtr& a, bool nested = false) {
    using K = Assertion::Kind;
    switch (a->kind) {
      case K::Chunk: case K::Pred:
        if (nested && !a->read_only) {
          diags_.error(a->loc, "below 'forall' or 'exists' in a hypercall's requires, a resource can only be read: "
                               "write it with '[_]'");
          return false;
        }
        return true;
      case K::Sep: {
        bool ok = true;
        for (const auto& p : a->parts) ok = footprint_ok(p, nested) && ok;
        return ok;
      }
      case K::If: return footprint_ok(a->parts[0], nested) && footprint_ok(a->parts[1], nested);
      case K::Exists: case K::Forall: return footprint_ok(a->body, true);
      default: return true;
    }
  }

  std::optional<HvcOutcome> outcome(const ast::OutcomeDecl& o, SpecLowering::Scope scope, const AssertionPtr& req) {
    HvcOutcome out;
    out.name = o.name.text;
    out.loc = spec_.loc(o.name);
    if (auto* g = boost::get<ast::SExpr>(&o.guard)) {
      out.guard_loc = spec_.loc(*g);
      auto t = spec_.expr(*g, scope, Sort::Bool);
      if (!t) return std::nullopt;
      if ((*t)->sort != Sort::Bool) {
        diags_.error(spec_.loc(*g), "the condition after 'when' must be a boolean");
        return std::nullopt;
      }
      out.guard = *t;
    } else {
      out.guard_loc = spec_.loc(boost::get<ast::OtherwiseGuard>(o.guard));
      out.guard = tb_.boolean(true);
      out.otherwise = true;
    }
    for (const auto& r : o.writes) {
      auto reg = reg_by_name(r.text);
      if (!reg || *reg >= kGeneralRegs) {
        diags_.error(spec_.loc(r), fmt::format("'writes' lists general registers (r0..r30), not '{}'", r.text));
        return std::nullopt;
      }
      out.writes.push_back(*reg);
    }
    if (o.switch_to) {
      auto t = spec_.expr(*o.switch_to, scope, Sort::Word);
      if (!t) return std::nullopt;
      if ((*t)->sort != Sort::Word) {
        diags_.error(spec_.loc(*o.switch_to), "'switch to' needs a VM id (a word)");
        return std::nullopt;
      }
      out.switch_to = at_call(*t);
    }
    auto sep = std::make_shared<Assertion>();
    sep->kind = Assertion::Kind::Sep;
    sep->loc = out.loc;
    std::set<std::string> replaced;
    for (const auto& head : o.frees) {
      auto key = head_key(head, scope);
      if (!key) return std::nullopt;
      if (!req || !takes(req, *key)) {
        diags_.error(spec_.loc(head), "'frees' names a resource that the requires clause does not take");
        return std::nullopt;
      }
      replaced.insert(*key);
    }
    if (o.ensures) {
      auto post = spec_.assertion(*o.ensures, scope);
      if (!post) return std::nullopt;
      sep->loc = post->loc;
      sep->parts.push_back(post);
      collect_chunk_keys(post, out.writes, replaced);
    }
    // What the outcome does not mention, it leaves as it was.
    if (req) give_back(req, replaced, *sep);
    out.ensures = sep;
    return out;
  }

  // The key of "trans(h)" as chunk_key writes it.
  std::optional<std::string> head_key(const ast::PointsToHead& head, SpecLowering::Scope& scope) {
    const ResourceInfo* info = resource_info(head.resource);
    if (!info || head.keys.size() != info->keys.size()) {
      diags_.error(spec_.loc(head), fmt::format("'{}' takes {} argument{}", head.resource,
                                                info ? info->keys.size() : 0, info && info->keys.size() == 1 ? "" : "s"));
      return std::nullopt;
    }
    std::string k = head.resource + "(";
    for (std::size_t i = 0; i < head.keys.size(); ++i) {
      auto t = spec_.expr(head.keys[i], scope, info->keys[i]);
      if (!t) return std::nullopt;
      k += to_string(at_call(*t)) + ",";
    }
    return k + ")";
  }

  bool takes(const AssertionPtr& a, const std::string& key) {
    switch (a->kind) {
      case Assertion::Kind::Chunk: return !a->read_only && key_at_call(*a) == key;
      case Assertion::Kind::Sep:
        for (const auto& p : a->parts)
          if (takes(p, key)) return true;
        return false;
      case Assertion::Kind::If: return takes(a->parts[0], key) || takes(a->parts[1], key);
      default: return false;
    }
  }

  static std::string chunk_key(const Assertion& a) {
    std::string k = (a.kind == Assertion::Kind::Pred ? "pred:" : "") + a.name + "(";
    for (const auto& t : a.args) k += to_string(t) + ",";
    return k + ")";
  }

  // Keys are compared as values at the call: a footprint chunk's registers
  // are the call's (old.rN); in an ensures, a register the outcome does not
  // write still holds its value at the call, and old(rN) is that value.
  std::string key_at_call(const Assertion& a) {
    Assertion copy = a;
    for (auto& t : copy.args) t = at_call(t);
    return chunk_key(copy);
  }

  // The chunks an ensures clause produces (in either branch of an 'if'):
  // the footprint's chunks of the same keys are not given back.
  void collect_chunk_keys(const AssertionPtr& a, const std::vector<Reg>& writes, std::set<std::string>& out) {
    if (a->kind == Assertion::Kind::Chunk || a->kind == Assertion::Kind::Pred) {
      Assertion copy = *a;
      for (auto& t : copy.args) t = unwritten_at_call(t, writes);
      out.insert(chunk_key(copy));
    }
    if (a->kind == Assertion::Kind::Sep || a->kind == Assertion::Kind::If)
      for (const auto& p : a->parts) collect_chunk_keys(p, writes, out);
  }

  // `t` of an ensures with the registers the outcome does not write read
  // at the call (they hold the same value).
  Term unwritten_at_call(const Term& t, const std::vector<Reg>& writes) {
    if (t->kind == Kind::Var) {
      auto r = reg_by_name(t->name);
      if (r && std::find(writes.begin(), writes.end(), *r) == writes.end())
        return tb_.var("old." + reg_name(*r), t->sort);
      return t;
    }
    if (t->args.empty()) return t;
    std::vector<Term> a;
    for (const auto& x : t->args) a.push_back(unwritten_at_call(x, writes));
    return tb_.rebuild(t, std::move(a));
  }

  // A term of the requires clause as the ensures must read it: registers
  // as they were at the call (old.rN), since the call may write them.
  Term at_call(const Term& t) {
    if (t->kind == Kind::Var) {
      if (auto r = reg_by_name(t->name)) return tb_.var("old." + reg_name(*r), t->sort);
      return t;
    }
    if (t->args.empty()) return t;
    std::vector<Term> a;
    for (const auto& x : t->args) a.push_back(at_call(x));
    return tb_.rebuild(t, std::move(a));
  }

  // The chunks `a` takes that are not in `replaced`, with the same 'if'
  // structure (a branch's chunks come back only if that branch was taken),
  // read at the call.
  void give_back(const AssertionPtr& a, const std::set<std::string>& replaced, Assertion& into) {
    if (a->kind == Assertion::Kind::Sep)
      for (const auto& p : a->parts) give_back(p, replaced, into);
    if ((a->kind == Assertion::Kind::Chunk || a->kind == Assertion::Kind::Pred) && !a->read_only &&
        !replaced.count(key_at_call(*a))) {
      auto copy = std::make_shared<Assertion>(*a);
      for (auto& t : copy->args) t = at_call(t);
      for (auto& t : copy->values) t = at_call(t);
      into.parts.push_back(copy);
    }
    if (a->kind == Assertion::Kind::If) {
      auto branch = [&](const AssertionPtr& b) {
        auto sep = std::make_shared<Assertion>();
        sep->kind = Assertion::Kind::Sep;
        sep->loc = b->loc;
        give_back(b, replaced, *sep);
        return sep;
      };
      auto t = branch(a->parts[0]), e = branch(a->parts[1]);
      if (t->parts.empty() && e->parts.empty()) return;
      auto copy = std::make_shared<Assertion>(*a);
      copy->cond = at_call(a->cond);
      copy->parts = {t, e};
      into.parts.push_back(copy);
    }
  }
};

}  // namespace

std::optional<Abi> parse_abi(const SourceFile& src, const Profile& profile, std::size_t vm_count,
                             Diagnostics& diags, AbiKind kind) {
  ast::AbiFile file;
  if (!parse_abi_ast(src, file, diags)) return std::nullopt;
  return AbiLowering(src, diags, profile, vm_count, kind).lower(file);
}

}  // namespace hvsl
