#include "vcgen/symexec.h"

#include <filesystem>
#include <functional>

#include <regex>

#include <fmt/format.h>

#include "vcgen/replay.h"

namespace hvsl {

// A term for a message: the verifier's fresh names read as the names the
// spec used ("v#3" as "v", an anonymous "_2#5" as "_").
std::string show(const Term& t) {
  static const std::regex fresh_suffix("#[0-9]+");
  static const std::regex anonymous("\\b_[0-9]+\\b");
  return std::regex_replace(std::regex_replace(to_string(t), fresh_suffix, ""), anonymous, "_");
}

std::string show(const Chunk& c) {
  static const std::regex fresh_suffix("#[0-9]+");
  static const std::regex anonymous("\\b_[0-9]+\\b");
  return std::regex_replace(std::regex_replace(describe(c), fresh_suffix, ""), anonymous, "_");
}

Executor::Executor(const Machine& m, VmId vm, const HvcSpecTable& hvc, const VerifyOptions& opts,
                   smt::Solver& solver, BlockResult& result)
    : m_(m), vm_(vm), decl_(m.vms[vm]), code_(*m.vms[vm].code), hvc_(hvc), opts_(opts), solver_(solver),
      result_(result), tb_(*m.profile), adv_(adversary_of(m)) {}

namespace {

// Whether an assertion may name the access set of `vm`, directly or inside a
// predicate it uses (any access chunk there counts: its VM may be a parameter).
bool mentions_access(const AssertionPtr& a, VmId vm, const Machine& m, int depth = 0) {
  if (!a || depth > 64) return a != nullptr;
  if (a->kind == Assertion::Kind::Chunk && a->name == "access" &&
      (!is_lit(a->args[0]) || a->args[0]->value == vm || depth > 0))
    return true;
  if (a->kind == Assertion::Kind::Pred) {
    auto it = m.predicates.find(a->name);
    if (it != m.predicates.end() && mentions_access(it->second.body, vm, m, depth + 1)) return true;
  }
  for (const auto& p : a->parts)
    if (mentions_access(p, vm, m, depth)) return true;
  return mentions_access(a->body, vm, m, depth);
}

}  // namespace

Chunk Executor::declared_access() const {
  std::vector<Term> pages;
  for (const auto& pg : m_.pages)
    if (contains(pg.access, vm_)) pages.push_back(tb_.word(pg.base));
  return Chunk{"access", {tb_.word(vm_)}, {tb_.set_of(pages)}, Perm{1, 1}};
}

Term Executor::code_word_fact(const Chunk& c) const {
  const Term& key = c.keys[0];
  const Term& value = c.values[0];
  auto enc = [&](std::size_t k) { return tb_.word(*m_.encoding.find(code_.instrs[k])); };
  if (is_lit(key)) {
    Word a = key->value;
    if (a < code_.base || a - code_.base >= code_.instrs.size()) return tb_.boolean(true);
    return tb_.eq(value, enc(a - code_.base));
  }
  Term fact = tb_.boolean(true);
  for (std::size_t k = 0; k < code_.instrs.size(); ++k)
    fact = tb_.and_(fact, tb_.implies(tb_.eq(key, tb_.word(code_.base + k)), tb_.eq(value, enc(k))));
  return fact;
}

void Executor::assume_code_loaded(SymState& s) {
  Heap::Bucket* mem = s.heap.bucket("mem");
  if (!mem) return;
  for (const auto& [keys, c] : *mem) {
    Term fact = code_word_fact(c);
    if (!is_true(fact)) s.path.push_back(fact);
  }
}

bool Executor::code_intact(SymState& s, const SourceLoc& at, const std::string& id) {
  Heap::Bucket* mem = s.heap.bucket("mem");
  if (!mem) return true;
  for (const auto& [keys, c] : *mem) {
    Term fact = code_word_fact(c);
    if (is_true(fact)) continue;
    if (!check(s, fact, id,
               [&] {
                 return fmt::format("the code may have overwritten its own instructions ({} may be a code word "
                                    "holding something else)",
                                    show(c));
               },
               at))
      return false;
  }
  return true;
}

// The word at pc must still be this instruction: a chunk that may be there
// must hold it.
bool Executor::fetch_word_ok(SymState& s, std::size_t index) {
  Heap::Bucket* mem = s.heap.bucket("mem");
  if (!mem) return true;
  Term pc = tb_.word(s.pc);
  Term want = tb_.word(*m_.encoding.find(code_.instrs[index]));
  std::vector<const Chunk*> near;
  if (const Chunk* c = s.heap.find("mem", {pc})) near.push_back(c);
  if (s.heap.symbolic_keys("mem") > 0)
    for (const auto& [keys, c] : *mem)
      if (!is_lit(keys[0])) near.push_back(&c);
  for (const Chunk* c : near) {
    Term ok = tb_.implies(tb_.eq(c->keys[0], pc), tb_.eq(c->values[0], want));
    if (is_true(ok)) continue;
    auto out = prove(s, ok, "fetch (code unchanged)", loc_of(index));
    if (out.verdict == smt::Verdict::Valid) continue;
    s.trace.push_back(PathStep{s.pc, {}, loc_of(index)});
    report(s, "fetch.modified",
           fmt::format("the word at {} may no longer be the instruction '{}': the code overwrote it", s.pc,
                       to_string(code_.instrs[index])),
           loc_of(index), {}, {}, &out, ok);
    return false;
  }
  return true;
}

std::vector<PathStep> Executor::path_of(const SymState& s) const {
  std::vector<PathStep> path = s.trace;
  for (auto& step : path)
    if (!step.ghost && step.pc >= code_.base && step.pc - code_.base < code_.instrs.size())
      step.text = to_string(code_.instrs[step.pc - code_.base]) + step.text;
  return path;
}

SourceLoc Executor::loc_of(std::size_t index) const {
  return index < code_.locs.size() ? code_.locs[index] : code_.loc;
}

// ---- terms ---------------------------------------------------------------------

Term Executor::fresh(const std::string& base, Sort s) {
  return tb_.var(fmt::format("{}#{}", base, ++fresh_counter_), s);
}

// Replaces registers by their current values and logical variables by their
// bindings, refolding constants on the way.
Term Executor::subst(const Term& t, const SymState& s, const Bindings& b) {
  if (t->kind == Kind::Var) {
    if (auto r = reg_by_name(t->name); r && *r != kPc) return s.regs[*r];
    auto it = b.find(t->name);
    if (it != b.end()) return it->second;
    return t;
  }
  if (t->args.empty()) return t;
  std::vector<Term> a;
  a.reserve(t->args.size());
  for (const auto& x : t->args) a.push_back(subst(x, s, b));
  return tb_.rebuild(t, std::move(a));
}

// The value a term must have on this path, if it has exactly one.
std::optional<Word> Executor::concrete(SymState& s, const Term& t, const SourceLoc& loc, bool& unknown) {
  unknown = false;
  if (is_lit(t)) return t->value;
  Term probe = fresh("value", Sort::Word);
  std::vector<Term> q = s.path;
  q.push_back(tb_.eq(probe, t));
  auto out = satisfy(q, "branch target", loc);
  unknown = out.verdict == smt::Verdict::Unknown;
  if (out.verdict != smt::Verdict::Valid) return std::nullopt;
  auto it = out.model.find(probe->name);
  if (it == out.model.end()) return std::nullopt;
  Word v = it->second.word;
  auto unique = prove(s, tb_.eq(t, tb_.word(v)), "branch target is unique", loc);
  unknown = unique.verdict == smt::Verdict::Unknown;
  if (unique.verdict != smt::Verdict::Valid) return std::nullopt;
  return v;
}

// ---- solver ---------------------------------------------------------------------

smt::Outcome Executor::prove(const SymState& s, const Term& goal, const std::string& purpose, const SourceLoc& loc) {
  if (is_true(goal)) {
    smt::Outcome o;
    o.verdict = smt::Verdict::Valid;
    return o;
  }
  auto out = solver_.check_valid(s.path, goal, purpose);
  record(purpose, loc, s.path, goal, out);
  return out;
}

smt::Outcome Executor::satisfy(const std::vector<Term>& q, const std::string& purpose, const SourceLoc& loc) {
  auto out = solver_.check_sat(q, purpose);
  record(purpose, loc, q, Term(), out);
  return out;
}

// Counts a query and, if asked, keeps it for the library's users.
void Executor::record(const std::string& purpose, const SourceLoc& loc, const std::vector<Term>& assumptions,
                      const Term& goal, const smt::Outcome& out) {
  ++result_.queries;
  if (!opts_.keep_vcs) return;
  const char* verdict = out.verdict == smt::Verdict::Unknown ? "unknown"
                        : goal.valid() ? (out.verdict == smt::Verdict::Valid ? "valid" : "invalid")
                                       : (out.verdict == smt::Verdict::Valid ? "sat" : "unsat");
  result_.vcs.push_back(VcRecord{purpose, loc, assumptions, goal, verdict, out.smtlib, out.time});
}

smt::Verdict Executor::feasibility(const SymState& s, const Term& extra, const std::string& purpose,
                                   const SourceLoc& loc) {
  if (is_false(extra)) return smt::Verdict::Invalid;
  if (is_true(extra) && s.path.empty()) return smt::Verdict::Valid;
  std::vector<Term> q = s.path;
  if (!is_true(extra)) q.push_back(extra);
  return satisfy(q, purpose, loc).verdict;
}

bool Executor::feasible(const SymState& s, const Term& extra, const std::string& purpose, const SourceLoc& loc) {
  if (is_false(extra)) return false;
  if (is_true(extra)) return true;
  // Unknown: explore the path anyway (exploring too much is safe).
  return feasibility(s, extra, purpose, loc) != smt::Verdict::Invalid;
}

bool Executor::check(SymState& s, const Term& goal, const std::string& id,
                     const std::function<std::string()>& message, const SourceLoc& loc, const SourceLoc& related,
                     const std::string& note) {
  auto out = prove(s, goal, id, loc);
  if (out.verdict == smt::Verdict::Valid) return true;
  report(s, id, message(), loc, related, note, &out, goal);
  // Go on as if it held, to find the failures after it on this path.
  s.path.push_back(goal);
  return false;
}

void Executor::report(const SymState& s, const std::string& id, const std::string& message, const SourceLoc& loc,
                      const SourceLoc& related, const std::string& note, const smt::Outcome* outcome,
                      const Term& goal) {
  std::string key = fmt::format("{}:{}:{}", loc.file, loc.line, loc.col);
  if (!reported_.insert({id, key}).second) return;  // the same failure on another path
  Failure f;
  f.id = id;
  f.message = message;
  f.loc = loc;
  f.related = related;
  f.related_note = note;
  f.path = path_of(s);
  smt::Outcome model_source;
  if (outcome && outcome->verdict == smt::Verdict::Unknown) {
    f.inconclusive = true;
    f.message += fmt::format(" (the solver could not decide: {})", outcome->reason);
  } else {
    if (!outcome || outcome->verdict != smt::Verdict::Invalid) {
      // No model yet (a missing resource): any state on this path shows it.
      model_source = satisfy(s.path, id + " (model)", loc);
      outcome = model_source.verdict == smt::Verdict::Valid ? &model_source : nullptr;
    }
    if (outcome) f.cex = make_counterexample(m_, vm_, *s.start, s, outcome->model, goal, id, opts_.replay);
  }
  result_.failures.push_back(std::move(f));
}

// ---- produce and consume ---------------------------------------------------------------

namespace {
// A vector holding just `s`, moved in ({std::move(s)} would copy it: the
// elements of an initializer_list are const).
std::vector<SymState> one(SymState s) {
  std::vector<SymState> v;
  v.push_back(std::move(s));
  return v;
}
}  // namespace

std::vector<SymState> Executor::produce(SymState s, const AssertionPtr& a, Bindings& b) {
  using K = Assertion::Kind;
  switch (a->kind) {
    case K::Emp: return one(std::move(s));
    case K::Pure: {
      Term c = subst(a->cond, s, b);
      if (is_false(c)) return {};
      if (!is_true(c)) s.path.push_back(c);
      pin_value(s, c, b);
      return one(std::move(s));
    }
    case K::Chunk: case K::Pred: {
      Chunk c;
      c.name = a->kind == K::Pred ? "pred:" + a->name : a->name;
      c.perm = a->perm * scale_;
      auto value = [&](const Term& t, Sort sort) {
        if (t->kind == Kind::Var && !reg_by_name(t->name) && !b.count(t->name)) {
          Term v = fresh(t->name, sort);
          b[t->name] = v;  // a pattern ?x: bind x to a fresh value
          return v;
        }
        return subst(t, s, b);
      };
      for (const auto& k : a->args) c.keys.push_back(value(k, k->sort));
      for (const auto& v : a->values) c.values.push_back(value(v, v->sort));
      // Separation: a second full chunk at the same place is impossible, and
      // distinct full chunks of a resource have distinct keys. (Not for
      // predicate instances: p(x) &*& p(x) can hold.)
      Heap::Bucket* bucket = a->kind == K::Pred ? nullptr : s.heap.bucket(c.name);
      bool literal_new = true;
      for (const auto& k : c.keys) literal_new = literal_new && is_lit(k);
      auto against = [&](const std::vector<Term>& keys, const Chunk& other) {
        if (keys == c.keys) {
          if (Perm{1, 1} < other.perm + c.perm) return false;  // two wholes of one thing: impossible
          for (std::size_t i = 0; i < c.values.size(); ++i) s.path.push_back(tb_.eq(other.values[i], c.values[i]));
          return true;
        }
        bool literal = literal_new;
        for (const auto& k : keys) literal = literal && is_lit(k);
        if (literal || !(c.perm.full() || other.perm.full())) return true;
        Term same = tb_.boolean(true);
        for (std::size_t i = 0; i < keys.size(); ++i) same = tb_.and_(same, tb_.eq(keys[i], c.keys[i]));
        s.path.push_back(tb_.not_(same));
        return true;
      };
      if (bucket && literal_new && s.heap.symbolic_keys(c.name) == 0) {
        // Only a chunk with the same literal keys can clash: no scan.
        if (const Chunk* other = s.heap.find(c.name, c.keys))
          if (!against(other->keys, *other)) return {};
      } else if (bucket) {
        for (const auto& [keys, other] : *bucket)
          if (!against(keys, other)) return {};
      }
      if (s.start && s.fresh && c.name == "mem") s.start->memory.emplace_back(c.keys[0], c.values[0]);
      else if (s.start && s.fresh) s.start->kernel.push_back(c);
      s.heap.add(std::move(c));
      return one(std::move(s));
    }
    case K::Sep: {
      std::vector<SymState> states = one(std::move(s));
      for (const auto& part : a->parts) {
        std::vector<SymState> next;
        for (auto& st : states)
          for (auto& r : produce(std::move(st), part, b)) next.push_back(std::move(r));
        states = std::move(next);
      }
      return states;
    }
    case K::Exists: {
      for (const auto& [v, sort] : a->vars) b[v] = fresh(v, sort);
      return produce(std::move(s), a->body, b);
    }
    case K::Forall: {
      std::vector<SymState> states = one(std::move(s));
      for (Word i = a->lo->value; i < a->hi->value; ++i) {
        std::vector<SymState> next;
        for (auto& st : states) {
          Bindings inner = b;
          inner[a->vars[0].first] = tb_.word(i);
          for (auto& r : produce(std::move(st), a->body, inner)) next.push_back(std::move(r));
        }
        states = std::move(next);
      }
      return states;
    }
    case K::If: {
      // A branch the path rules out is dropped here: explored, it would
      // only cost queries (a hypercall's frame repeats its footprint's
      // 'if's, whose conditions the outcome's guard may have settled).
      Term c = subst(a->cond, s, b);
      std::vector<SymState> out;
      auto ruled_out = [&](const Term& cond, const char* what) {
        return !is_true(cond) && !feasible(s, cond, what, {});
      };
      if (!is_false(c) && !ruled_out(c, "produce (if)")) {
        SymState t = s;
        if (!is_true(c)) t.path.push_back(c);
        Bindings bt = b;
        for (auto& r : produce(std::move(t), a->parts[0], bt)) out.push_back(keep_branch(std::move(r), bt, b));
      }
      if (!is_true(c) && !ruled_out(tb_.not_(c), "produce (else)")) {
        SymState e = std::move(s);
        if (!is_false(c)) e.path.push_back(tb_.not_(c));
        Bindings be = b;
        for (auto& r : produce(std::move(e), a->parts[1], be)) out.push_back(keep_branch(std::move(r), be, b));
      }
      return out;
    }
  }
  return {};
}

// Finds the chunks a reference can denote: by the exact keys first (no
// solver), then the one chunk the path forces, and otherwise a case split
// over every chunk whose keys may be equal (aliasing decided by Z3).
std::vector<Executor::Match> Executor::match_chunk(SymState s, const std::string& name,
                                                   const std::vector<Term>& keys, const Purpose& p,
                                                   const std::string& missing_id,
                                                   const std::function<std::string()>& missing_msg,
                                                   const SourceLoc& clause) {
  bool all_bound = true;
  for (const auto& k : keys) all_bound = all_bound && k.valid();
  if (all_bound)
    if (Chunk* c = s.heap.find(name, keys)) {
      std::vector<Term> found = c->keys;
      std::vector<Match> out;
      out.push_back(Match{std::move(s), std::move(found)});
      return out;
    }
  struct Candidate {
    std::vector<Term> keys;
    Term same;
  };
  std::vector<Candidate> cands;
  if (Heap::Bucket* bucket = s.heap.bucket(name)) {
    for (const auto& [ks, c] : *bucket) {
      Term same = tb_.boolean(true);
      for (std::size_t i = 0; i < keys.size(); ++i)
        if (keys[i].valid()) same = tb_.and_(same, tb_.eq(ks[i], keys[i]));
      if (!is_false(same)) cands.push_back({ks, same});
    }
  }
  std::vector<Match> out;
  Term none = tb_.boolean(true);
  bool forced = false;
  // One model of the path picks the chunk the reference most likely denotes;
  // if the path forces that one, no other can be meant.
  const Candidate* guess = cands.size() == 1 ? &cands[0] : nullptr;
  if (cands.size() > 1) {
    std::vector<Term> probes;
    std::vector<Term> q = s.path;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      probes.push_back(keys[i].valid() ? fresh("key", keys[i]->sort) : Term());
      if (keys[i].valid()) q.push_back(tb_.eq(probes[i], keys[i]));
    }
    auto model = satisfy(q, p.id + " (which chunk)", p.at);
    if (model.verdict == smt::Verdict::Valid) {
      for (const auto& c : cands) {
        bool all = true;
        for (std::size_t i = 0; i < keys.size() && all; ++i) {
          if (!keys[i].valid()) continue;
          auto v = model.model.find(probes[i]->name);
          all = is_lit(c.keys[i]) && v != model.model.end() && v->second.word == c.keys[i]->value;
        }
        if (all) {
          guess = &c;
          break;
        }
      }
    }
  }
  if (guess &&
      (is_true(guess->same) || prove(s, guess->same, p.id + " (which chunk)", p.at).verdict == smt::Verdict::Valid)) {
    out.push_back(Match{s, guess->keys});
    forced = true;
  }
  if (!forced) {
    for (const auto& c : cands) {
      none = tb_.and_(none, tb_.not_(c.same));
      if (!feasible(s, c.same, p.id + " (may alias)", p.at)) continue;
      SymState t = s;
      t.path.push_back(c.same);
      out.push_back(Match{std::move(t), c.keys});
    }
    smt::Verdict v = feasibility(s, none, p.id + " (no chunk)", p.at);
    std::optional<Chunk> borrowed;
    if (v != smt::Verdict::Invalid) borrowed = borrow(s, name, keys);
    if (borrowed) {  // abi nova: the adversary's, for this call (symexec_adversary.cpp)
      SymState made = std::move(s);
      if (!is_true(none)) made.path.push_back(none);
      std::vector<Term> made_keys = borrowed->keys;
      made.heap.add(std::move(*borrowed));
      apply_facts(made);
      out.push_back(Match{std::move(made), std::move(made_keys)});
    } else if (v != smt::Verdict::Invalid && lazy_world_ && name != "tx" && name != "rx") {  // FTLR: the machine has it; the step now looks at it
      SymState made = std::move(s);
      if (!is_true(none)) made.path.push_back(none);
      std::vector<Term> made_keys = lazy_chunk(made, name, keys).keys;
      out.push_back(Match{std::move(made), std::move(made_keys)});
    } else if (v != smt::Verdict::Invalid) {
      SymState bad = std::move(s);
      if (!is_true(none)) bad.path.push_back(none);
      smt::Outcome undecided;
      undecided.reason = "the solver could not decide which resource is meant";
      report(bad, missing_id, missing_msg(), p.at, clause, "required by this clause",
             v == smt::Verdict::Unknown ? &undecided : nullptr, Term());
    }
  }
  return out;
}

std::vector<SymState> Executor::consume(SymState s, const AssertionPtr& a, Bindings& b, const Purpose& p) {
  using K = Assertion::Kind;
  switch (a->kind) {
    case K::Emp: return one(std::move(s));
    case K::Pure: {
      Term c = subst(a->cond, s, b);
      // The names the clause itself uses (small), not those of the values
      // substituted into it (which can be large, and are all bound).
      std::map<std::string, Sort> vars;
      collect_vars(a->cond, vars);
      for (const auto& [v, sort] : vars)
        if (!v.empty() && v.find('#') == std::string::npos && v.find('.') == std::string::npos && !reg_by_name(v) &&
            !b.count(v)) {
          report(s, p.id + ".witness",
                 fmt::format("{} needs a value for '{}', but nothing before this fact determines it; let a "
                             "resource determine it first (e.g. 'mem[a] |-> {}' before the fact)",
                             p.what, v, v),
                 p.at, a->loc, "in this clause", nullptr, Term());
          return {};
        }
      check(s, c, p.id + ".false",
            [&] { return fmt::format("{} may not hold: {}", p.what, a->text.empty() ? show(a->cond) : a->text); },
            p.at, a->loc, "this clause may be false");
      return one(std::move(s));
    }
    case K::Chunk: case K::Pred: {
      std::string name = a->kind == K::Pred ? "pred:" + a->name : a->name;
      std::vector<Term> keys;
      std::vector<std::string> key_binders;
      for (const auto& k : a->args) {
        bool binder = k->kind == Kind::Var && !reg_by_name(k->name) && !b.count(k->name);
        keys.push_back(binder ? Term() : subst(k, s, b));
        key_binders.push_back(binder ? k->name : "");
      }
      std::vector<SymState> out;
      auto missing = [&] {
        Chunk shown{name, {}, {}, a->perm};
        for (const auto& k : keys) shown.keys.push_back(k.valid() ? k : tb_.var("_", Sort::Word));
        std::string what = show(shown);
        what = what.substr(0, what.find(" |->"));
        return fmt::format("{} needs {}, which is not held here (not given by the precondition or the invariant, "
                           "or given away)",
                           p.what, what);
      };
      auto matches = match_chunk(std::move(s), name, keys, p, p.id + ".permission", missing, a->loc);
      for (auto& [st, chunk_keys] : matches) {
        Bindings bm = matches.size() == 1 ? std::move(b) : b;
        Chunk& c = *st.heap.find(name, chunk_keys);
        Perm need = a->perm * scale_;
        if (!a->read_only && c.perm < need) {
          report(st, p.id + ".permission",
                 fmt::format("{} needs permission {} of {}, but only {} is held", p.what, need.str(), show(c),
                             c.perm.str()),
                 p.at, a->loc, "required by this clause", nullptr, Term());
          continue;
        }
        for (std::size_t i = 0; i < key_binders.size(); ++i)
          if (!key_binders[i].empty()) bm[key_binders[i]] = c.keys[i];
        std::vector<Term> chunk_values = c.values;
        if (!a->read_only) st.heap.take(name, chunk_keys, need);  // [_]: only read
        for (std::size_t i = 0; i < a->values.size(); ++i) {
          const Term& v = a->values[i];
          if (v->kind == Kind::Var && !reg_by_name(v->name) && !bm.count(v->name)) {
            bm[v->name] = chunk_values[i];
            continue;
          }
          if (const Term* elem = singleton_pattern(v, bm)) {
            // "{?x}": the held set must be written as one element
            const Term& have = chunk_values[i];
            if (have->kind == Kind::Insert && have->args[0]->kind == Kind::EmptySet) {
              bm[(*elem)->name] = have->args[1];
              continue;
            }
            report(st, p.id + ".value",
                   fmt::format("{} needs a set of one element in {}, but it holds {}", p.what,
                               show(Chunk{name, chunk_keys, {have}, Perm{1, 1}}), show(have)),
                   p.at, a->loc, "this clause asks for one element", nullptr, Term());
            st.dead = true;
            break;
          }
          Term want = subst(v, st, bm);
          const Term& have = chunk_values[i];
          check(st, tb_.eq(have, want), p.id + ".value",
                [&] {
                  std::string place = show(Chunk{name, chunk_keys, {have}, Perm{1, 1}});
                  return fmt::format("{} may not hold: {}, which may differ from {}", p.what, place, show(want));
                },
                p.at, a->loc, "this clause may be false");
        }
        if (st.dead) continue;
        if (matches.size() == 1) {
          b = std::move(bm);
        } else {  // this alias's names stay with its state
          for (const auto& [k, v] : bm)
            if (!b.count(k) || !(b.at(k) == v)) st.branch[k] = v;
        }
        out.push_back(std::move(st));
      }
      return out;
    }
    case K::Sep: {
      // After a split (an alias, an 'if'), states may bind the same names to
      // different values: each state goes on with its own bindings. One
      // state alone gives them back in `b`; several keep theirs in `branch`.
      struct Item {
        SymState st;
        Bindings b;
      };
      std::vector<Item> items;
      items.push_back({std::move(s), b});
      for (const auto& part : a->parts) {
        std::vector<Item> next;
        for (auto& it : items) {
          std::map<std::string, Term> branch_before = it.st.branch;
          Bindings local = it.b;
          auto results = consume(std::move(it.st), part, local, p);
          for (auto& r : results) {
            Bindings rb = local;
            for (const auto& [k, v] : r.branch) {  // names a deeper split bound for this state
              auto old = branch_before.find(k);
              if (old == branch_before.end() || !(old->second == v)) rb[k] = v;
            }
            next.push_back({std::move(r), std::move(rb)});
          }
        }
        items = std::move(next);
      }
      std::vector<SymState> out;
      if (items.size() == 1) b = items[0].b;
      for (auto& it : items) {
        if (items.size() > 1)
          for (const auto& [k, v] : it.b)
            if (!b.count(k) || !(b.at(k) == v)) it.st.branch[k] = v;
        out.push_back(std::move(it.st));
      }
      return out;
    }
    case K::Exists: {
      Bindings inner = b;
      for (const auto& [v, sort] : a->vars) inner.erase(v);
      return consume(std::move(s), a->body, inner, p);
    }
    case K::Forall: {
      std::vector<SymState> states = one(std::move(s));
      for (Word i = a->lo->value; i < a->hi->value; ++i) {
        std::vector<SymState> next;
        for (auto& st : states) {
          Bindings inner = b;
          inner[a->vars[0].first] = tb_.word(i);
          for (auto& r : consume(std::move(st), a->body, inner, p)) next.push_back(std::move(r));
        }
        states = std::move(next);
      }
      return states;
    }
    case K::If: {
      Term c = subst(a->cond, s, b);
      std::vector<SymState> out;
      if (!is_false(c) && feasible(s, c, p.id + " (if)", p.at)) {
        SymState t = s;
        if (!is_true(c)) t.path.push_back(c);
        Bindings bt = b;
        for (auto& r : consume(std::move(t), a->parts[0], bt, p)) out.push_back(keep_branch(std::move(r), bt, b));
      }
      if (!is_true(c) && feasible(s, tb_.not_(c), p.id + " (else)", p.at)) {
        SymState e = std::move(s);
        if (!is_false(c)) e.path.push_back(tb_.not_(c));
        Bindings be = b;
        for (auto& r : consume(std::move(e), a->parts[1], be, p)) out.push_back(keep_branch(std::move(r), be, b));
      }
      return out;
    }
  }
  return {};
}

// ---- execution --------------------------------------------------------------------

SymState Executor::initial_state() {
  SymState s;
  s.pc = code_.base;
  s.start = std::make_shared<RunStart>();
  for (Reg r = 0; r < kRegCount; ++r) {
    if (r == kPc) continue;
    s.regs[r] = tb_.var(fmt::format("{}.{}", decl_.name, reg_name(r)), Sort::Word);
    s.env["old." + reg_name(r)] = s.regs[r];
  }
  s.start->pc = s.pc;
  s.start->regs = s.regs;
  return s;
}

void Executor::run() {
  SymState s = initial_state();
  Bindings b = s.env;
  std::vector<SymState> starts;
  if (decl_.spec.requires_) starts = produce(std::move(s), decl_.spec.requires_, b);
  else starts.push_back(std::move(s));
  // Before a secondary first runs, the primary may run unknown VMs.
  if (vm_ != 0)
    for (auto& st : starts) adversary_may_run(st, code_.loc);
  // A secondary first runs when the primary switches to it, and so is
  // handed its protocol then, as at every later switch.
  if (AssertionPtr first = decl_.spec.protocol_from(0).assertion; vm_ != 0 && first) {
    std::vector<SymState> given;
    for (auto& st : starts) {
      Bindings rb;
      for (auto& r : produce(std::move(st), first, rb)) given.push_back(std::move(r));
    }
    starts = std::move(given);
  }
  for (const auto& [k, v] : b) pre_env_[k] = v;
  // Nothing vouches for what an unknown VM hands over when it switches to
  // this one (issue: robust safety), so a protocol must not rely on it.
  for (VmId v = 0; v < m_.vms.size(); ++v) {
    // v cannot hand control to this VM (abi nova: by calling it; a reply
    // is checked at the call, in switch_vm)
    bool can = adv_.nova ? adv_.ecs.count(vm_) > 0 : (vm_ == 0 || v == 0);
    if (m_.vms[v].known || !can || v == vm_) continue;
    auto proto = decl_.spec.protocol_from(v);
    if (!proto.assertion || proto.assertion->kind == Assertion::Kind::Emp) continue;
    Failure f;
    f.id = "protocol.unknown";
    f.message = fmt::format("{} can hand control to {}, but an unknown VM cannot be trusted to hand over what "
                            "'receives' asks for",
                            m_.vms[v].name, decl_.name);
    f.loc = proto.loc;
    result_.failures.push_back(std::move(f));
    break;
  }
  // A contradictory precondition would make every claim true: report it.
  std::vector<SymState> live;
  for (auto& st : starts) {
    if (!st.path.empty() && feasibility(st, tb_.boolean(true), "requires is satisfiable", decl_.spec.requires_loc) ==
                                smt::Verdict::Invalid)
      continue;
    live.push_back(std::move(st));
  }
  if (live.empty() && decl_.spec.requires_) {
    Failure f;
    f.id = "requires.unsatisfiable";
    f.message = "the precondition can never hold (it contradicts itself or the VM's implicit resources), so "
                "verifying under it would prove nothing";
    f.loc = decl_.spec.requires_loc;
    result_.failures.push_back(std::move(f));
    return;
  }
  starts = std::move(live);
  for (auto& st : starts) {
    for (const auto& [k, v] : b) st.env[k] = v;
    // The VM's access set is the declared one unless the precondition says otherwise.
    if (!mentions_access(decl_.spec.requires_, vm_, m_)) st.heap.add(declared_access());
    assume_code_loaded(st);
    apply_facts(st);
    work_.push_back(std::move(st));
  }
  while (!work_.empty()) {
    SymState st = std::move(work_.back());
    work_.pop_back();
    std::size_t before = work_.size();
    execute(std::move(st));
    if (work_.size() == before) ++result_.paths;  // a path ended here
  }
}

void Executor::execute(SymState s) {
  while (true) {
    if (s.pc < code_.base || s.pc - code_.base >= code_.instrs.size()) {
      report(s, "fetch.outside",
             fmt::format("the code may continue at address {}, outside the program of '{}' (the fetch fails or runs "
                         "unknown words)",
                         s.pc, decl_.name),
             s.trace.empty() ? code_.loc : s.trace.back().loc, {}, {}, nullptr, Term());
      return;
    }
    std::size_t index = s.pc - code_.base;
    if (!ghost(s, index)) return;
    s.fresh = false;
    if (++s.steps > opts_.max_path_steps) {
      report(s, "path.too_long",
             fmt::format("a path runs for more than {} steps; a loop probably needs an invariant", opts_.max_path_steps),
             loc_of(index), {}, {}, nullptr, Term());
      return;
    }
    if (!fetch_ok(s, index)) return;
    const Instr& i = code_.instrs[index];
    s.trace.push_back(PathStep{s.pc, {}, loc_of(index)});  // text filled in by path_of()
    switch (i.op) {
      case Op::Bne: case Op::Br: case Op::Halt: case Op::Fail: case Op::Hvc:
        step(s, i, index);
        return;  // these end or split the path; step() queues what continues
      default:
        step(s, i, index);
        if (s.path.empty() || !is_false(s.path.back())) break;
        return;
    }
    if (s.dead) return;
  }
}

bool Executor::ghost(SymState& s, std::size_t index) {
  auto it = decl_.spec.ghost.find(index);
  if (it == decl_.spec.ghost.end()) return true;
  const auto& ops = it->second;
  // When an item splits the state (an if, or aliasing), the other states
  // resume after that item; this one goes on.
  auto go_on = [&](std::vector<SymState> states, std::size_t k) {
    if (states.empty()) return false;
    for (std::size_t j = 1; j < states.size(); ++j) {
      states[j].ghost_done = k + 1;
      work_.push_back(std::move(states[j]));
    }
    s = std::move(states[0]);
    return true;
  };
  for (std::size_t k = s.ghost_done; k < ops.size(); ++k) {
    const GhostOp& op = ops[k];
    if (op.fallthrough_only && s.jumped) continue;
    Purpose p;
    p.at = op.loc;
    p.clause = op.assertion ? op.assertion->loc : op.loc;
    switch (op.kind) {
      case GhostOp::Kind::Invariant: {
        if (s.fresh && s.started_at == index) continue;  // this run starts from it
        p.id = "invariant";
        p.what = "the loop invariant";
        Bindings b = s.env;
        s.trace.push_back(PathStep{s.pc, "reaches the invariant", op.loc, true});
        if (!code_intact(s, op.loc, "invariant.code")) return false;
        for (auto& rest : consume(s, op.assertion, b, p)) {
          // An invariant that does not mention the VM's access set claims the declared one.
          if (mentions_access(op.assertion, vm_, m_)) continue;
          Chunk want = declared_access();
          Chunk* have = rest.heap.find("access", want.keys);
          if (!have || !have->perm.full()) {
            report(rest, "invariant.access",
                   "the loop invariant does not mention the VM's access set, so it claims the declared one, but "
                   "the code no longer holds it here",
                   op.loc, {}, {}, nullptr, Term());
            continue;
          }
          check(rest, tb_.eq(have->values[0], want.values[0]), "invariant.access",
                [] {
                  return std::string(
                      "the loop invariant does not mention the VM's access set, so it claims the declared one, "
                      "which may have changed here");
                },
                op.loc);
        }
        start_from_invariant(index, op);
        return false;
      }
      case GhostOp::Kind::Assert: {
        p.id = "assert";
        p.what = "the assertion";
        Bindings b = s.env;
        // An assertion changes no resources; what it learned (its facts, and
        // a case split) carries on.
        std::vector<SymState> after;
        for (auto& checked : consume(s, op.assertion, b, p)) {
          SymState t = s;
          t.path = std::move(checked.path);
          after.push_back(std::move(t));
        }
        if (!go_on(std::move(after), k)) return false;
        break;
      }
      case GhostOp::Kind::Fold: case GhostOp::Kind::Unfold: {
        bool fold = op.kind == GhostOp::Kind::Fold;
        const Assertion& inst = *op.assertion;
        const Predicate& pred = m_.predicates.at(inst.name);
        p.id = fold ? "fold" : "unfold";
        p.what = fmt::format("'{} {}'", fold ? "fold" : "unfold", inst.name);
        Bindings outer = s.env;
        Bindings body_env;
        for (std::size_t a = 0; a < pred.params.size(); ++a)
          body_env[pred.params[a].first] = subst(inst.args[a], s, outer);
        // A fraction of an instance stands for that fraction of its body.
        std::vector<SymState> done;
        if (fold) {
          scale_ = inst.perm;
          auto taken_all = consume(s, pred.body, body_env, p);
          scale_ = Perm{1, 1};
          for (auto& taken : taken_all) {
            Bindings none = taken.env;
            for (auto& made : produce(std::move(taken), op.assertion, none)) done.push_back(std::move(made));
          }
        } else {
          Bindings b = s.env;
          for (auto& taken : consume(s, op.assertion, b, p)) {
            Bindings body = body_env;
            scale_ = inst.perm;
            auto made_all = produce(std::move(taken), pred.body, body);
            scale_ = Perm{1, 1};
            for (auto& made : made_all) done.push_back(std::move(made));
          }
        }
        if (!go_on(std::move(done), k)) return false;
        break;
      }
    }
  }
  s.ghost_done = 0;
  return true;
}

void Executor::start_from_invariant(std::size_t index, const GhostOp& inv) {
  if (!invariants_started_.insert(index).second) return;
  // Every register is unknown at a cut point except what the invariant says.
  SymState s;
  s.pc = code_.base + index;
  s.started_at = index;
  s.start = std::make_shared<RunStart>();
  std::string label = fmt::format("{}", s.pc);
  for (const auto& l : m_.labels)
    if (l.vm == vm_ && l.addr == s.pc) label = l.name;
  for (Reg r = 0; r < kRegCount; ++r) {
    if (r == kPc) continue;
    s.regs[r] = tb_.var(fmt::format("{}.{}@{}", decl_.name, reg_name(r), label), Sort::Word);
  }
  // old(...) and the precondition's names keep their meaning.
  s.env = pre_env_;
  s.start->pc = s.pc;
  s.start->regs = s.regs;
  if (!mentions_access(inv.assertion, vm_, m_)) s.heap.add(declared_access());
  Bindings b = s.env;
  // The invariant's own patterns are bound afresh each time it is reached,
  // so they stay out of the environment.
  for (auto& st : produce(std::move(s), inv.assertion, b)) {
    assume_code_loaded(st);
    st.trace.push_back(PathStep{st.pc, "starts from the invariant", inv.loc, true});
    work_.push_back(std::move(st));
  }
}

Term Executor::access_set(SymState& s, std::size_t index) {
  Chunk* c = s.heap.find("access", {tb_.word(vm_)});
  if (!c) {
    report(s, "access.permission",
           fmt::format("'{}' no longer holds its access set here, so nothing shows it can access memory", decl_.name),
           loc_of(index), {}, {}, nullptr, Term());
    return Term();
  }
  return c->values[0];
}

bool Executor::fetch_ok(SymState& s, std::size_t index) {
  Term set = access_set(s, index);
  if (!set.valid()) return false;
  Term page = tb_.page_of(tb_.word(s.pc));
  Term ok = tb_.member(page, set);
  if (decl_.tx) ok = tb_.and_(ok, tb_.ne(page, tb_.word(m_.pages[*decl_.tx].base)));
  auto out = prove(s, ok, "fetch", loc_of(index));
  if (out.verdict != smt::Verdict::Valid) {
    s.trace.push_back(PathStep{s.pc, {}, loc_of(index)});
    report(s, "fetch.access",
           fmt::format("'{}' may not be able to read its own code at {} (the fetch would fail: FailI)", decl_.name,
                       s.pc),
           loc_of(index), {}, {}, &out, ok);
    return false;
  }
  return fetch_word_ok(s, index);
}

bool Executor::data_access_ok(SymState& s, const Term& addr, bool write, std::size_t index) {
  Term set = access_set(s, index);
  if (!set.valid()) return false;
  Term page = tb_.page_of(addr);
  Term ok = tb_.member(page, set);
  const auto& own = write ? decl_.rx : decl_.tx;
  if (own) ok = tb_.and_(ok, tb_.ne(page, tb_.word(m_.pages[*own].base)));
  std::string what = write ? "write" : "read";
  return check(
      s, ok, write ? "str.fault" : "ldr.fault",
      [&] {
        return fmt::format("'{}' may {} address {}, which it cannot {} (no access{}): the VM would end in "
                           "FailPageFaultI",
                           to_string(code_.instrs[index]), what, show(addr), what,
                           own ? (write ? ", or its own RX page" : ", or its own TX page") : "");
      },
      loc_of(index));
}

void Executor::branch_to(SymState s, const Term& target, std::size_t index) {
  bool unknown = false;
  auto t = concrete(s, target, loc_of(index), unknown);
  if (!t) {
    smt::Outcome undecided;
    undecided.reason = "the solver could not decide the target";
    report(s, "branch.target",
           fmt::format("the target of '{}' is not determined on this path ({}); hvsl needs a known target",
                       to_string(code_.instrs[index]), show(target)),
           loc_of(index), {}, {}, unknown ? &undecided : nullptr, Term());
    return;
  }
  s.pc = *t;
  s.jumped = true;
  work_.push_back(std::move(s));
}

void Executor::step(SymState& s, const Instr& i, std::size_t index) {
  auto& r = s.regs;
  Word next = m_.profile->add(s.pc, 1);
  switch (i.op) {
    case Op::Nop: break;
    case Op::MovImm: r[i.a] = tb_.word(i.imm); break;
    case Op::MovReg: r[i.a] = r[i.b]; break;
    case Op::Add: r[i.a] = tb_.add(r[i.a], r[i.b]); break;
    case Op::Sub: r[i.a] = tb_.sub(r[i.a], r[i.b]); break;
    case Op::Mult: r[i.a] = tb_.mul(r[i.a], tb_.word(i.imm)); break;
    case Op::CmpImm: case Op::CmpReg: {
      Term a = r[i.a], b = i.op == Op::CmpImm ? tb_.word(i.imm) : r[i.b];
      r[kNz] = tb_.ite(tb_.lt(a, b), tb_.word(kNzLess), tb_.ite(tb_.lt(b, a), tb_.word(kNzGreater), tb_.word(kNzEqual)));
      break;
    }
    case Op::Ldr: case Op::Str: {
      data_access(std::move(s), i, index);
      s.dead = true;  // the accesses queued their own states
      return;
    }
    case Op::Bne: {
      Term equal = tb_.eq(r[kNz], tb_.word(kNzEqual));
      Term target = r[i.a];
      if (!is_false(equal) && feasible(s, equal, "bne not taken", loc_of(index))) {
        SymState fall = s;
        if (!is_true(equal)) fall.path.push_back(equal);
        fall.trace.back().text += " (not taken)";
        fall.pc = next;
        fall.jumped = false;
        work_.push_back(std::move(fall));
      }
      if (!is_true(equal) && feasible(s, tb_.not_(equal), "bne taken", loc_of(index))) {
        SymState taken = std::move(s);
        if (!is_false(equal)) taken.path.push_back(tb_.not_(equal));
        taken.trace.back().text += " (taken)";
        branch_to(std::move(taken), target, index);
      }
      return;
    }
    case Op::Br: {
      Term target = r[i.a];  // copied: `r` refers into `s`, which is moved
      branch_to(std::move(s), target, index);
      return;
    }
    case Op::Halt: at_halt(s, index); return;
    case Op::Fail:
      report(s, "fail.reached", "the code can reach 'fail' (the VM would end in FailI)", loc_of(index),
             decl_.spec.ensures ? decl_.spec.ensures->loc : SourceLoc{}, "the postcondition allows no failure",
             nullptr, Term());
      return;
    case Op::Hvc: hypercall(s, index); return;
  }
  s.pc = next;
  s.jumped = false;
}

// ldr and str: the access check, then the memory chunk (maybe a case split
// over the chunks a symbolic address can denote), then the effect.
void Executor::data_access(SymState s, const Instr& i, std::size_t index) {
  bool write = i.op == Op::Str;
  Term addr = s.regs[i.b];
  if (!data_access_ok(s, addr, write, index)) return;
  if (shared_access(s, addr)) {  // 'shares': nothing is known of the content, and a store is not remembered
    if (!write) s.regs[i.a] = fresh("shared", Sort::Word);
    s.pc = m_.profile->add(s.pc, 1);
    s.jumped = false;
    work_.push_back(std::move(s));
    return;
  }
  Purpose p{write ? "str" : "ldr", "this instruction", loc_of(index), {}};
  // The code may read its own words (they hold its instructions) when no
  // chunk can be at that address.
  if (!write && is_lit(addr) && addr->value >= code_.base && addr->value - code_.base < code_.instrs.size() &&
      !s.heap.find("mem", {addr}) && s.heap.symbolic_keys("mem") == 0) {
    s.regs[i.a] = tb_.word(*m_.encoding.find(code_.instrs[addr->value - code_.base]));
    s.pc = m_.profile->add(s.pc, 1);
    s.jumped = false;
    work_.push_back(std::move(s));
    return;
  }
  auto missing = [&] {
    return fmt::format("'{}' {} mem[{}], which the code does not {} (add 'mem[...] |-> ...' to the precondition or "
                       "the loop invariant)",
                       to_string(i), write ? "writes" : "reads", show(addr), write ? "own" : "hold");
  };
  auto matches = match_chunk(std::move(s), "mem", {addr}, p, "mem.permission", missing, {});
  for (auto& [st, keys] : matches) {
    Chunk& c = *st.heap.find("mem", keys);
    if (write && !c.perm.full()) {
      report(st, "mem.permission",
             fmt::format("'{}' writes {}, but the code holds only {} of it (a write needs all of it)", to_string(i),
                         show(c), c.perm.str()),
             loc_of(index), {}, {}, nullptr, Term());
      continue;
    }
    if (write) c.values[0] = st.regs[i.a];
    else st.regs[i.a] = c.values[0];
    st.pc = m_.profile->add(st.pc, 1);
    st.jumped = false;
    work_.push_back(std::move(st));
  }
}

void Executor::at_halt(SymState& s, std::size_t index) {
  const Postcondition& post = *decl_.spec.ensures;
  if (post.never_terminates) {
    report(s, "never_terminates.halts",
           "the code can halt, but its postcondition says it never terminates", loc_of(index), post.loc,
           "the postcondition is here", nullptr, Term());
    return;
  }
  if (!post.assertion) return;
  Purpose p{"postcondition", "the postcondition", loc_of(index), post.loc};
  Bindings b = s.env;
  consume(std::move(s), post.assertion, b, p);
}

// Control passes from this VM to VM `target`: the caller hands over what
// the target's protocol says it receives ('receives'), keeps the rest, and
// when control comes back it is handed its own protocol. A switch to itself
// changes nothing.
std::vector<SymState> Executor::switch_vm(SymState s, const Term& target, std::size_t index) {
  std::vector<SymState> out;
  // While this VM is descheduled, other VMs may run. Known VMs whose code
  // is verified respect what it holds; unknown VMs are the adversary (see
  // adversary_may_run); a known VM whose code is not verified is neither.
  for (VmId v = 0; v < m_.vms.size(); ++v) {
    const VmDecl& other = m_.vms[v];
    if (v == vm_ || !other.known || !other.code || other.spec.ensures) continue;
    Failure f;
    f.id = "switch.untrusted";
    f.message = fmt::format("this call may let {} run, whose code has no 'ensures', so it is not verified and may "
                            "change what {} holds; nothing after this point is proved (give {} a spec, or declare "
                            "it unknown)",
                            other.name, decl_.name, other.name);
    f.loc = loc_of(index);
    f.path = path_of(s);
    f.inconclusive = true;
    result_.failures.push_back(std::move(f));
    return out;
  }
  for (VmId v = 0; v < m_.vms.size(); ++v) {
    Term is = tb_.eq(target, tb_.word(v));
    if (is_false(is) || !feasible(s, is, "switch to " + m_.vms[v].name, loc_of(index))) continue;
    SymState t = s;
    if (!is_true(is)) t.path.push_back(is);
    if (v == vm_) {
      out.push_back(std::move(t));
      continue;
    }
    t.trace.back().text += fmt::format(" (switch to {})", m_.vms[v].name);
    std::vector<SymState> handed;
    const VmDecl& to = m_.vms[v];
    // abi nova: control comes back from an unknown PD by its reply, which
    // hands over nothing anyone vouches for, and may write this VM's UTCB.
    bool utcb_exposed = false;
    if (adv_.nova && adv_.unknown(v)) {
      if (auto back = decl_.spec.protocol_from(v);
          back.assertion && back.assertion->kind != Assertion::Kind::Emp) {
        report(t, "protocol.unknown",
               fmt::format("this call may go to {}, which is unknown: its reply cannot be trusted to hand over "
                           "what '{}' receives from it",
                           to.name, decl_.name),
               loc_of(index), back.loc, "the protocol is here", nullptr, Term());
        continue;
      }
      bool had = decl_.utcb && t.exposed.count(m_.pages[*decl_.utcb].base);
      if (!expose_utcb(t, index)) continue;
      utcb_exposed = decl_.utcb && !had;
    }
    auto give = to.spec.protocol_from(vm_);
    if (to.known && give.assertion) {
      Purpose p{"protocol", fmt::format("what {} receives when {} hands it control", to.name, decl_.name),
                loc_of(index), give.loc};
      Bindings b;
      SymState before = t;
      for (auto& h : consume(std::move(t), give.assertion, b, p))
        if (keeps_exposed(before, h, index, to.name)) handed.push_back(std::move(h));
    } else {
      handed.push_back(std::move(t));
    }
    // Unknown VMs may run before control comes back: the primary when it
    // runs one, a secondary whenever it gives control to the primary (which
    // may run any of them first).
    // abi nova: whoever runs next may call or reply to unknown PDs before
    // control comes back, so every switch lets them run.
    if (adv_.nova || vm_ != 0 || adv_.unknown(v))
      for (auto& h : handed) {
        adversary_may_run(h, loc_of(index));
        if (utcb_exposed) h.exposed.erase(m_.pages[*decl_.utcb].base);
      }
    // Control comes back from the VM it went to: a secondary returns it to
    // the primary that ran it, and only the primary runs secondaries.
    AssertionPtr back = decl_.spec.protocol_from(v).assertion;
    for (auto& h : handed) {
      if (!back) {
        out.push_back(std::move(h));
        continue;
      }
      Bindings b;
      for (auto& r : produce(std::move(h), back, b)) out.push_back(std::move(r));
    }
  }
  return out;
}

// A fact "x == literal" about a fresh value x (a register a call wrote, a
// handle it chose) makes x that literal everywhere in the state, so later
// chunks are found by their literal keys and fractions of one chunk merge.
void Executor::pin_value(SymState& s, const Term& fact, Bindings& b) {
  if (fact->kind != Kind::Eq) return;
  const Term* var = &fact->args[0];
  const Term* lit = &fact->args[1];
  if (!is_lit(*lit)) std::swap(var, lit);
  if ((*var)->kind != Kind::Var || !is_lit(*lit) || reg_by_name((*var)->name)) return;
  const std::string name = (*var)->name;
  const Term value = *lit;
  Bindings one{{name, value}};
  SymState none;  // registers stay themselves: only `name` is replaced
  for (Reg r = 0; r < kRegCount; ++r) none.regs[r] = tb_.var(reg_name(r), Sort::Word);
  auto f = [&](const Term& t) { return subst(t, none, one); };
  for (Reg r = 0; r < kRegCount; ++r)
    if (s.regs[r].valid()) s.regs[r] = f(s.regs[r]);
  s.heap.rewrite(f);
  for (auto& [k, v] : b) v = f(v);
  for (auto& [k, v] : s.env) v = f(v);
  for (auto& [k, v] : s.branch) v = f(v);
}

// The spec file's invariants: for every tuple of held chunks that matches
// an invariant's pattern (syntactically: a bound name must be the chunk's
// term itself), its fact is added to the path condition. These are facts
// of every state the hypervisor keeps, so assuming them is sound.
void Executor::apply_facts(SymState& s) {
  for (const auto& f : hvc_.facts) {
    std::function<void(std::size_t, Bindings&)> match = [&](std::size_t i, Bindings& b) {
      if (i == f.chunks.size()) {
        Term fact = subst(f.fact, s, b);
        if (!is_true(fact)) s.path.push_back(fact);
        return;
      }
      const Assertion& pat = *f.chunks[i];
      Heap::Bucket* bucket = s.heap.bucket(pat.name);
      if (!bucket) return;
      for (const auto& [keys, c] : *bucket) {
        Bindings nb = b;
        auto bind = [&](const Term& want, const Term& have) {
          if (want->kind == Kind::Var && !reg_by_name(want->name) && !nb.count(want->name)) {
            nb[want->name] = have;
            return true;
          }
          if (const Term* x = singleton_pattern(want, nb)) {
            if (have->kind != Kind::Insert || have->args[0]->kind != Kind::EmptySet) return false;
            nb[(*x)->name] = have->args[1];
            return true;
          }
          return subst(want, s, nb) == have;
        };
        bool ok = true;
        for (std::size_t k = 0; ok && k < pat.args.size(); ++k) ok = bind(pat.args[k], c.keys[k]);
        for (std::size_t k = 0; ok && k < pat.values.size(); ++k) ok = bind(pat.values[k], c.values[k]);
        if (ok) match(i + 1, nb);
      }
    };
    Bindings b;
    match(0, b);
  }
}

// A state leaving an 'if' branch keeps the names the branch bound.
SymState Executor::keep_branch(SymState s, const Bindings& inner, const Bindings& outer) {
  for (const auto& [k, v] : inner)
    if (!outer.count(k)) s.branch.emplace(k, v);
  return s;
}

// The element x of a value written "{?x}" whose x is not bound yet, or null.
const Term* Executor::singleton_pattern(const Term& v, const Bindings& b) const {
  if (v->kind != Kind::Insert || v->args[0]->kind != Kind::EmptySet) return nullptr;
  const Term& x = v->args[1];
  if (x->kind != Kind::Var || reg_by_name(x->name) || b.count(x->name)) return nullptr;
  return &x;
}

// `hvc`: the call is chosen by the selecting register's value (a case split
// when it is symbolic); its requires clause is consumed, then each outcome
// whose guard may hold continues with the guard assumed, the written
// registers made fresh and the outcome's ensures produced. The spec file's
// outcomes were checked to be disjoint and to cover every case
// (vcgen/abi_check.h), so the outcomes explored are the ones that can happen.
void Executor::hypercall(SymState& s, std::size_t index) {
  Term selector = s.regs[hvc_.select];
  std::string sel_name = reg_name(hvc_.select);
  if (hvc_.select_modulus) {
    selector = tb_.mod(selector, tb_.word(hvc_.select_modulus));
    sel_name += fmt::format(" % {}", hvc_.select_modulus);
  }
  std::vector<const HvcSpec*> candidates;
  Term none = tb_.boolean(true);
  for (const auto& spec : hvc_.calls) {
    Term is = tb_.eq(selector, tb_.word(spec.id));
    none = tb_.and_(none, tb_.not_(is));
    if (!is_false(is) && feasible(s, is, "hvc " + spec.name, loc_of(index))) candidates.push_back(&spec);
  }
  if (!is_false(none) && feasible(s, none, "hvc without spec", loc_of(index))) {
    SymState bad = s;
    if (!is_true(none)) bad.path.push_back(none);
    std::string value = is_lit(selector) ? fmt::format("{}", selector->value) : to_string(selector);
    report(bad, "hvc.no_spec",
           hvc_.calls.empty()
               ? fmt::format("'hvc' with {} = {}: no hypercall spec file is loaded", sel_name, value)
               : fmt::format("'hvc' with {} = {}: {} specifies no hypercall with this function id", sel_name,
                             value, std::filesystem::path(hvc_.file).filename().string()),
           loc_of(index), {}, {}, nullptr, Term());
  }
  for (const HvcSpec* spec : candidates) {
    SymState t = s;
    Term is = tb_.eq(selector, tb_.word(spec->id));
    if (!is_true(is)) t.path.push_back(is);
    Bindings b;
    b["caller"] = tb_.word(vm_);
    for (Reg r = 0; r < kGeneralRegs; ++r) b["old." + reg_name(r)] = t.regs[r];
    Purpose p{"hvc.requires", fmt::format("the precondition of hypercall {}", spec->name), loc_of(index), spec->loc};
    std::vector<SymState> ready;
    t.branch.clear();
    borrowing_ = true;
    if (spec->requires_) ready = consume(std::move(t), spec->requires_, b, p);
    else ready.push_back(std::move(t));
    borrowing_ = false;
    for (auto& st : ready) {
      Bindings sb = b;  // with the names this state's 'if' branches bound
      for (auto& [k, v] : st.branch) sb[k] = v;
      st.branch.clear();
      for (const auto& outcome : spec->outcomes) {
        Term guard = subst(outcome.guard, st, sb);
        if (is_false(guard) || !feasible(st, guard, "hvc outcome " + outcome.name, loc_of(index))) continue;
        SymState o = st;
        if (!is_true(guard)) o.path.push_back(guard);
        o.trace.back().text += fmt::format(" ({}: {})", spec->name, outcome.name);
        o.outcome_loc = outcome.loc;
        for (Reg w : outcome.writes) o.regs[w] = fresh(fmt::format("{}.{}", decl_.name, reg_name(w)), Sort::Word);
        Bindings ob = sb;
        for (auto& done : produce(std::move(o), outcome.ensures, ob)) {
          if (!return_borrowed(done, index)) continue;
          if (!collect_) note_exposure(done, index);
          if (done.dead) continue;
          done.pc = m_.profile->add(done.pc, 1);
          done.jumped = false;
          if (outcome.switch_to.valid() && !collect_) {
            for (auto& back : switch_vm(std::move(done), subst(outcome.switch_to, done, ob), index)) {
              apply_facts(back);
              work_.push_back(std::move(back));
            }
            continue;
          }
          apply_facts(done);
          work_.push_back(std::move(done));
        }
      }
    }
  }
}

}  // namespace hvsl
