#include "logic/assertion_eval.h"

#include <set>

#include <fmt/format.h>

#include "logic/encoding.h"

namespace hvsl {

std::string_view name(Truth t) {
  switch (t) {
    case Truth::Holds: return "holds";
    case Truth::Fails: return "fails";
    case Truth::Unknown: return "unknown";
  }
  return "?";
}

namespace {

// Blocked: the part needs a variable that has no value yet (a later part of
// the enclosing &*& may bind it). It never leaves the evaluator.
enum class St { Holds, Fails, Unknown, Blocked };

struct R {
  St st = St::Holds;
  std::string why;      // Fails / Unknown
  std::string missing;  // Blocked: the variable
};

R holds() { return {}; }
R fails(std::string why) { return {St::Fails, std::move(why), {}}; }
R unknown(std::string why) { return {St::Unknown, std::move(why), {}}; }
R blocked(std::string var) { return {St::Blocked, {}, std::move(var)}; }

Value word_value(Word w) { return Value{Sort::Word, w, {}}; }
Value bool_value(bool b) { return Value{Sort::Bool, b ? Word(1) : Word(0), {}}; }
Value set_value(std::set<Word> s) { return Value{Sort::Set, 0, std::move(s)}; }

std::string show(const Value& v) {
  switch (v.sort) {
    case Sort::Bool: return v.word ? "true" : "false";
    case Sort::Word: return fmt::format("{}", v.word);
    case Sort::Set: {
      std::string s;
      for (Word w : v.set) s += (s.empty() ? "" : ", ") + fmt::format("{}", w);
      return "{" + s + "}";
    }
  }
  return "?";
}

std::string show_chunk(const Assertion& a) {
  if (!a.text.empty()) return a.text;
  std::string keys;
  for (const auto& k : a.args) keys += (keys.empty() ? "" : ", ") + to_string(k);
  std::string head = a.name == "mem" ? "mem[" + keys + "]" : a.name + "(" + keys + ")";
  if (a.kind == Assertion::Kind::Pred) return head;
  std::string vals;
  for (const auto& v : a.values) vals += (vals.empty() ? "" : ", ") + to_string(v);
  return head + " |-> " + (a.values.size() == 1 ? vals : "(" + vals + ")");
}

// The top-level conjuncts of a boolean term.
void conjuncts(const Term& t, std::vector<Term>& out) {
  if (t->kind == Kind::And) {
    conjuncts(t->args[0], out);
    conjuncts(t->args[1], out);
  } else {
    out.push_back(t);
  }
}

class Evaluator {
 public:
  Evaluator(const State& s, const AssertionEvalOptions& o)
      : s_(s), m_(*s.machine), p_(s.profile()), pages_(m_), opts_(o) {}

  // Evaluates the conjunction of `parts`, binding patterns into `env`.
  R conj(const std::vector<const Assertion*>& parts, Env& env, unsigned depth) {
    std::vector<const Assertion*> pending = parts;
    std::optional<R> undecided;
    while (!pending.empty()) {
      bool progress = false;
      std::vector<const Assertion*> still;
      std::string missing;
      for (const Assertion* a : pending) {
        R r = node(*a, env, depth);
        switch (r.st) {
          case St::Holds: progress = true; break;
          case St::Fails: return r;
          case St::Unknown:
            if (!undecided) undecided = r;
            progress = true;
            break;
          case St::Blocked:
            if (missing.empty()) missing = r.missing;
            still.push_back(a);
            break;
        }
      }
      pending = std::move(still);
      if (pending.empty()) break;
      if (!progress && !bind_by_equality(pending, env)) return blocked(missing);
    }
    return undecided ? *undecided : holds();
  }

  std::vector<MatchedChunk> take_matched() { return std::move(matched_); }

 private:
  const State& s_;
  const Machine& m_;
  const Profile& p_;
  PageIndex pages_;
  AssertionEvalOptions opts_;
  std::vector<MatchedChunk> matched_;  // every chunk that held, in order
  // Parameters of the predicate being unfolded whose argument is a pattern:
  // the first chunk in the body that fixes one binds it for the whole body,
  // even inside a forall, if or exists (whose own names stay inside).
  std::set<std::string> open_;

  void export_open(const Env& inner, Env& env) const {
    for (const auto& n : open_)
      if (!env.count(n))
        if (auto it = inner.find(n); it != inner.end()) env[n] = it->second;
  }

  static bool unbound_var(const Term& t, const Env& env) { return t->kind == Kind::Var && !env.count(t->name); }

  // The value of a term, or the name of a variable it needs.
  std::optional<Value> term(const Term& t, const Env& env, std::string& missing) const {
    if (auto v = eval(t, p_, env)) return v;
    std::map<std::string, Sort> vars;
    collect_vars(t, vars);
    for (const auto& [n, sort] : vars)
      if (!env.count(n)) {
        missing = n;
        return std::nullopt;
      }
    missing = "?";  // not a missing variable: a term eval() cannot compute
    return std::nullopt;
  }

  // When nothing else progresses: a pending fact "x == t" (a top-level
  // conjunct of it) with x unbound and t computable forces x's value.
  bool bind_by_equality(const std::vector<const Assertion*>& pending, Env& env) const {
    for (const Assertion* a : pending) {
      if (a->kind != Assertion::Kind::Pure) continue;
      std::vector<Term> cs;
      conjuncts(a->cond, cs);
      for (const auto& c : cs) {
        if (c->kind != Kind::Eq) continue;
        for (int side = 0; side < 2; ++side) {
          const Term& x = c->args[side];
          const Term& t = c->args[1 - side];
          if (!unbound_var(x, env)) continue;
          std::string missing;
          if (auto v = term(t, env, missing)) {
            if (v->sort != x->sort) continue;
            env[x->name] = *v;
            return true;
          }
        }
      }
    }
    return false;
  }

  R node(const Assertion& a, Env& env, unsigned depth) {
    using K = Assertion::Kind;
    switch (a.kind) {
      case K::Emp: return holds();
      case K::Pure: {
        std::string missing;
        auto v = term(a.cond, env, missing);
        if (!v) return missing == "?" ? unknown("cannot evaluate " + to_string(a.cond)) : blocked(missing);
        if (v->word) return holds();
        return fails(fmt::format("'{}' is false", a.text.empty() ? to_string(a.cond) : a.text));
      }
      case K::Chunk: return chunk(a, env);
      case K::Pred: return pred(a, env, depth);
      case K::Sep: {
        std::vector<const Assertion*> parts;
        for (const auto& p : a.parts) parts.push_back(p.get());
        return conj(parts, env, depth);
      }
      case K::Exists: {
        Env inner = env;
        for (const auto& [v, sort] : a.vars) inner.erase(v);
        R r = conj({a.body.get()}, inner, depth);
        if (r.st == St::Holds) export_open(inner, env);
        if (r.st == St::Blocked)
          for (const auto& [v, sort] : a.vars)
            if (v == r.missing)
              return unknown(fmt::format("no value of '{}' is determined by a chunk or an equation (the evaluator "
                                         "does not search)",
                                         v));
        return r;  // the body's bindings stay inside
      }
      case K::Forall: {
        const std::string& var = a.vars[0].first;
        std::optional<R> undecided;
        for (Word i = a.lo->value; i < a.hi->value; ++i) {
          Env inner = env;
          inner[var] = word_value(i);
          R r = conj({a.body.get()}, inner, depth);
          if (r.st == St::Holds) export_open(inner, env);
          if (r.st == St::Fails || r.st == St::Blocked) {
            if (r.st == St::Fails) r.why = fmt::format("for {} = {}: {}", var, i, r.why);
            return r;
          }
          if (r.st == St::Unknown && !undecided) {
            r.why = fmt::format("for {} = {}: {}", var, i, r.why);
            undecided = r;
          }
        }
        return undecided ? *undecided : holds();
      }
      case K::If: {
        std::string missing;
        auto c = term(a.cond, env, missing);
        if (!c) return missing == "?" ? unknown("cannot evaluate " + to_string(a.cond)) : blocked(missing);
        Env inner = env;
        R r = conj({a.parts[c->word ? 0 : 1].get()}, inner, depth);
        if (r.st == St::Holds) {
          if (opts_.export_if_bindings) env = std::move(inner);  // a superset of env
          else export_open(inner, env);
        }
        return r;
      }
    }
    return unknown("unknown assertion kind");
  }

  // The concrete values of resource(keys), or why there are none.
  R actual(const Assertion& a, const std::vector<Value>& keys, std::vector<Value>& out) const {
    const std::string& r = a.name;
    auto page_index = [&](Word addr) { return pages_.find(addr); };
    auto vm_id = [&](Word w) -> std::optional<VmId> {
      if (w >= m_.vms.size()) return std::nullopt;
      return VmId(w);
    };
    if (r == "mem") {
      Word addr = keys[0].word;
      auto pi = page_index(addr);
      if (!pi) return fails(fmt::format("{}: address {} is in no declared page", show_chunk(a), addr));
      out.push_back(word_value(s_.word(*pi, addr % p_.page_size)));
      return holds();
    }
    if (r == "access") {
      auto v = vm_id(keys[0].word);
      if (!v) return fails(fmt::format("{}: {} is no VM", show_chunk(a), keys[0].word));
      std::set<Word> set;
      for (std::size_t i = 0; i < m_.pages.size(); ++i)
        if (contains(s_.pgt[i].access, *v)) set.insert(m_.pages[i].base);
      out.push_back(set_value(std::move(set)));
      return holds();
    }
    if (r == "owner" || r == "excl") {
      auto pi = page_index(keys[0].word);
      if (!pi) return fails(fmt::format("{}: address {} is in no declared page", show_chunk(a), keys[0].word));
      if (r == "excl") {
        out.push_back(bool_value(s_.pgt[*pi].exclusive));
        return holds();
      }
      if (!s_.pgt[*pi].owner)
        return unknown(fmt::format("{}: the page is owned by the hypervisor, which no VM value denotes", show_chunk(a)));
      out.push_back(word_value(*s_.pgt[*pi].owner));
      return holds();
    }
    if (r == "tx" || r == "rx") {
      auto v = vm_id(keys[0].word);
      if (!v) return fails(fmt::format("{}: {} is no VM", show_chunk(a), keys[0].word));
      const auto& page = r == "tx" ? m_.vms[*v].tx : m_.vms[*v].rx;
      if (!page) return fails(fmt::format("{}: the VM has no {} page", show_chunk(a), r == "tx" ? "TX" : "RX"));
      out.push_back(word_value(m_.pages[*page].base));
      return holds();
    }
    if (r == "rxstate") {
      auto v = vm_id(keys[0].word);
      if (!v) return fails(fmt::format("{}: {} is no VM", show_chunk(a), keys[0].word));
      const auto& rx = s_.vms[*v].rx;
      out.push_back(bool_value(rx.has_value()));
      out.push_back(word_value(rx ? rx->length : 0));
      out.push_back(word_value(rx ? rx->sender : 0));
      return holds();
    }
    if (r == "trans" || r == "retrieved") {
      auto it = s_.trans.find(keys[0].word);
      if (it == s_.trans.end()) return fails(fmt::format("{}: {} is not a valid handle", show_chunk(a), keys[0].word));
      if (!it->second) return fails(fmt::format("{}: handle {} is free", show_chunk(a), keys[0].word));
      const Transaction& t = *it->second;
      if (r == "retrieved") {
        out.push_back(bool_value(t.retrieved));
        return holds();
      }
      out.push_back(word_value(t.sender));
      out.push_back(word_value(t.receiver));
      out.push_back(set_value(std::set<Word>(t.pages.begin(), t.pages.end())));
      out.push_back(word_value(encode(p_, t.kind)));
      return holds();
    }
    if (r == "reg") {  // reg(vm, n) |-> v: register rn of a VM (r0..r30, then pc and nz by index)
      auto v = vm_id(keys[0].word);
      if (!v) return fails(fmt::format("{}: {} is no VM", show_chunk(a), keys[0].word));
      if (keys[1].word >= kRegCount) return fails(fmt::format("{}: {} is no register", show_chunk(a), keys[1].word));
      out.push_back(word_value(s_.vms[*v].regs[keys[1].word]));
      return holds();
    }
    if (r == "handles") {
      std::set<Word> free;
      for (const auto& [h, t] : s_.trans)
        if (!t) free.insert(h);
      out.push_back(set_value(std::move(free)));
      return holds();
    }
    if (auto nova = actual_nova(a, keys, out)) return *nova;
    return unknown(fmt::format("{}: unknown resource '{}'", show_chunk(a), r));
  }

  // The abi nova resources (docs/nova.md); nullopt if `a` is none of them.
  std::optional<R> actual_nova(const Assertion& a, const std::vector<Value>& keys, std::vector<Value>& out) const {
    const std::string& r = a.name;
    if (r != "cap" && r != "utcb" && r != "portal" && r != "ec" && r != "reply" && r != "sm" && r != "sms")
      return std::nullopt;
    if (m_.abi != AbiKind::Nova) return fails(fmt::format("{}: the machine does not declare 'abi nova'", show_chunk(a)));
    const NovaState& n = s_.nova;
    if (r == "sms") {
      out.push_back(word_value(n.sms.size()));
      return holds();
    }
    Word k = keys[0].word;
    if (r == "cap") {
      if (k >= n.caps.size()) return fails(fmt::format("{}: {} is no protection domain", show_chunk(a), k));
      auto it = n.caps[k].find(keys[1].word);
      Capability c = it == n.caps[k].end() || it->second.null() ? Capability{} : it->second;
      for (Word w : {Word(c.kind), c.obj, c.perms}) out.push_back(word_value(w));
      return holds();
    }
    if (r == "portal") {
      if (k >= n.portals.size()) return fails(fmt::format("{}: {} is no portal", show_chunk(a), k));
      out.push_back(word_value(n.portals[k].ec));
      out.push_back(word_value(n.portals[k].id));
      return holds();
    }
    if (r == "sm") {
      if (k >= n.sms.size()) return fails(fmt::format("{}: {} is no semaphore", show_chunk(a), k));
      out.push_back(word_value(n.sms[k].counter));
      out.push_back(word_value(n.sms[k].queue.size()));
      return holds();
    }
    if (k >= m_.vms.size() || k >= n.ecs.size()) return fails(fmt::format("{}: {} is no VM", show_chunk(a), k));
    if (r == "utcb") {
      if (!m_.vms[k].utcb) return fails(fmt::format("{}: the VM has no UTCB", show_chunk(a)));
      out.push_back(word_value(m_.pages[*m_.vms[k].utcb].base));
      return holds();
    }
    if (r == "ec") {  // EC_DEAD (5) once its VM halted or failed
      out.push_back(word_value(s_.vms[k].mode != Mode::Exec ? 5 : Word(n.ecs[k].wait)));
      return holds();
    }
    out.push_back(bool_value(n.ecs[k].partner.has_value()));
    out.push_back(word_value(n.ecs[k].partner.value_or(0)));
    return holds();
  }

  R chunk(const Assertion& a, Env& env) {
    std::vector<Value> keys;
    for (const auto& k : a.args) {
      std::string missing;
      auto v = term(k, env, missing);
      if (!v) return missing == "?" ? unknown("cannot evaluate " + to_string(k)) : blocked(missing);
      keys.push_back(*v);
    }
    std::vector<Value> have;
    R r = actual(a, keys, have);
    if (r.st != St::Holds) return r;
    if (have.size() != a.values.size()) return unknown(fmt::format("{}: wrong number of values", show_chunk(a)));
    Env local = env;
    for (std::size_t i = 0; i < a.values.size(); ++i) {
      const Term& v = a.values[i];
      if (unbound_var(v, local)) {  // a pattern: it takes the value
        local[v->name] = have[i];
        continue;
      }
      if (v->kind == Kind::Insert && v->args[0]->kind == Kind::EmptySet && unbound_var(v->args[1], local) &&
          have[i].sort == Sort::Set) {  // "{?x}": the one element of the set
        if (have[i].set.size() != 1)
          return fails(fmt::format("{}: the set is {}, not one element", show_chunk(a), show(have[i])));
        local[v->args[1]->name] = word_value(*have[i].set.begin());
        continue;
      }
      std::string missing;
      auto want = term(v, local, missing);
      if (!want) return missing == "?" ? unknown("cannot evaluate " + to_string(v)) : blocked(missing);
      if (!(*want == have[i])) {
        std::string where = keys.empty() ? a.name + "()" : a.name == "mem" ? fmt::format("mem[{}]", keys[0].word)
                                                                           : fmt::format("{}({})", a.name, show(keys[0]));
        return fails(fmt::format("{}: {} holds {}, not {}", show_chunk(a), where, show(have[i]), show(*want)));
      }
    }
    env = std::move(local);
    matched_.push_back(MatchedChunk{a.name, std::move(keys), a.read_only});
    return holds();
  }

  R pred(const Assertion& a, Env& env, unsigned depth) {
    auto it = m_.predicates.find(a.name);
    if (it == m_.predicates.end()) return unknown(fmt::format("unknown predicate '{}'", a.name));
    const Predicate& p = it->second;
    if (p.params.size() != a.args.size()) return unknown(fmt::format("{}: wrong number of arguments", show_chunk(a)));
    if (depth >= opts_.max_predicate_depth)
      return unknown(fmt::format("{}: predicates nested deeper than {}", show_chunk(a), opts_.max_predicate_depth));
    Env body;
    std::vector<std::size_t> binders;
    for (std::size_t k = 0; k < a.args.size(); ++k) {
      const Term& arg = a.args[k];
      if (unbound_var(arg, env)) {
        binders.push_back(k);
        continue;
      }
      std::string missing;
      auto v = term(arg, env, missing);
      if (!v) return missing == "?" ? unknown("cannot evaluate " + to_string(arg)) : blocked(missing);
      body[p.params[k].first] = *v;
    }
    if (!p.body) return holds();
    std::set<std::string> saved = std::move(open_);
    open_.clear();
    for (std::size_t k : binders) open_.insert(p.params[k].first);
    R r = conj({p.body.get()}, body, depth + 1);
    open_ = std::move(saved);
    if (r.st == St::Blocked)
      return unknown(fmt::format("{}: its body needs a value for '{}' that nothing determines", show_chunk(a), r.missing));
    if (r.st != St::Holds) {
      r.why = fmt::format("{}: {}", show_chunk(a), r.why);
      return r;
    }
    Env local = env;
    for (std::size_t k : binders) {
      const std::string& param = p.params[k].first;
      auto v = body.find(param);
      if (v == body.end())
        return unknown(fmt::format("{}: its body does not determine parameter '{}'", show_chunk(a), param));
      const std::string& var = a.args[k]->name;
      if (auto old = local.find(var); old != local.end() && !(old->second == v->second))
        return fails(fmt::format("{}: '{}' would be both {} and {}", show_chunk(a), var, show(old->second),
                                 show(v->second)));
      local[var] = v->second;
    }
    env = std::move(local);
    return holds();
  }
};

bool is_register_var(const std::string& n) {
  return n.rfind("old.", 0) == 0 || (reg_by_name(n).has_value() && *reg_by_name(n) != kPc);
}

}  // namespace

AssertionEvalResult eval_assertion(const AssertionPtr& a, const State& s, VmId vm,
                                   const std::array<Word, kRegCount>& old_regs, const Env& bindings,
                                   const AssertionEvalOptions& opts) {
  AssertionEvalResult out;
  Env env = bindings;
  for (Reg r = 0; r < kRegCount; ++r) {
    if (r == kPc) continue;
    env[reg_name(r)] = word_value(s.vms.at(vm).regs[r]);
    env["old." + reg_name(r)] = word_value(old_regs[r]);
  }
  if (a) {
    Evaluator ev(s, opts);
    R r = ev.conj({a.get()}, env, 0);
    switch (r.st) {
      case St::Holds: out.truth = Truth::Holds; break;
      case St::Fails: out.truth = Truth::Fails; break;
      case St::Unknown: out.truth = Truth::Unknown; break;
      case St::Blocked:
        out.truth = Truth::Unknown;
        r.why = fmt::format("no value for '{}'", r.missing);
        break;
    }
    out.reason = std::move(r.why);
    out.chunks = ev.take_matched();
  }
  for (auto& [n, v] : env)
    if (!is_register_var(n)) out.bindings.emplace(n, std::move(v));
  return out;
}

}  // namespace hvsl
