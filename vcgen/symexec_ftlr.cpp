// The automated fundamental theorem (vcgen/ftlr.h): one step of the unknown
// VM this executor was made for, from a symbolic state that holds every
// resource of the machine.
#include <algorithm>
#include <chrono>
#include <set>

#include <fmt/format.h>

#include "vcgen/ftlr.h"
#include "vcgen/symexec.h"

namespace hvsl {

// The machine for one step of this VM, built on demand: it starts with the
// free handles (an arbitrary subset of the valid ones), the mailbox
// assignments and this VM's access set; any other resource a hypercall's
// footprint asks for is created then, with fresh values (lazy_chunk). The
// unknown VMs' reach R is the declared one plus an arbitrary set of pages
// known VMs exposed; the state keeps it closed: the unknown VMs' access sets,
// the pages they own and the pages of their transactions are in R.
SymState Executor::ftlr_world() {
  SymState w = initial_state();
  w.start = std::make_shared<RunStart>();
  w.start->pc = w.pc;
  w.start->regs = w.regs;
  w.extra_reach = fresh("exposed", Sort::Set);
  std::vector<Term> valid;
  for (Word h : m_.handles) valid.push_back(tb_.word(h));
  Term free = fresh("free", Sort::Set);
  w.path.push_back(tb_.eq(tb_.minus(free, tb_.set_of(valid)), tb_.empty_set()));
  w.heap.add(Chunk{"handles", {}, {free}, Perm{1, 1}});
  for (VmId v = 0; v < m_.vms.size(); ++v) {
    const VmDecl& d = m_.vms[v];
    if (d.tx) w.heap.add(Chunk{"tx", {tb_.word(v)}, {tb_.word(m_.pages[*d.tx].base)}, Perm{1, 1}});
    if (d.rx) w.heap.add(Chunk{"rx", {tb_.word(v)}, {tb_.word(m_.pages[*d.rx].base)}, Perm{1, 1}});
  }
  if (!adv_.nova) lazy_chunk(w, "access", {tb_.word(vm_)});
  return w;
}

Term Executor::ftlr_reach(const SymState& s) const {
  std::vector<Term> pages;
  for (const auto& [p, why] : adv_.pages) pages.push_back(tb_.word(p));
  return tb_.union_(tb_.set_of(pages), s.extra_reach);
}

// A resource the step's footprint asks for that the state does not hold
// yet: it exists in the machine with values the step does not know. The
// facts that keep the reach closed, and the spec file's invariants, hold
// of it.
Chunk& Executor::lazy_chunk(SymState& s, const std::string& name, const std::vector<Term>& keys) {
  const ResourceInfo* info = resource_info(name);
  Chunk c{name, keys, {}, Perm{1, 1}};
  for (std::size_t i = 0; i < c.keys.size(); ++i)
    if (!c.keys[i].valid()) c.keys[i] = fresh("key", info ? info->keys[i] : Sort::Word);
  if (name == "trans") {  // one page, as the spec file's transactions
    c.values = {fresh("sender", Sort::Word), fresh("receiver", Sort::Word), tb_.set_of({fresh("page", Sort::Word)}),
                fresh("kind", Sort::Word)};
  } else if (info) {
    for (Sort v : info->values) c.values.push_back(fresh(name, v));
  }
  if (Term closed = reach_closed(c, ftlr_reach(s)); closed.valid()) s.path.push_back(closed);
  if (adv_.nova) nova_world_facts(s, c);
  if (name == "trans" || name == "retrieved") {
    std::vector<Term> valid;
    for (Word h : m_.handles) valid.push_back(tb_.word(h));
    s.path.push_back(tb_.member(c.keys[0], tb_.set_of(valid)));
    if (const Chunk* free = s.heap.find("handles", {})) s.path.push_back(tb_.not_(tb_.member(c.keys[0], free->values[0])));
  }
  s.lazy_pre.push_back(c);
  Chunk& added = s.heap.add(std::move(c));
  apply_facts(s);
  return added;
}

// What a NOVA kernel keeps of the declared machine: only a VM with a
// declared UTCB has one, at its page, for good (an IPC with a party without
// one fails with BAD_PAR, which the spec file does not describe); and
// semaphores are numbered on from the declared ones.
void Executor::nova_world_facts(SymState& s, const Chunk& c) {
  if (c.name == "utcb") {
    std::vector<Term> with;
    for (VmId v = 0; v < m_.vms.size(); ++v)
      if (m_.vms[v].utcb) {
        with.push_back(tb_.word(v));
        s.path.push_back(tb_.implies(tb_.eq(c.keys[0], tb_.word(v)),
                                     tb_.eq(c.values[0], tb_.word(m_.pages[*m_.vms[v].utcb].base))));
      }
    s.path.push_back(tb_.member(c.keys[0], tb_.set_of(with)));
  }
  if (c.name == "sms") s.path.push_back(tb_.le(tb_.word(adv_.declared_sms), c.values[0]));
}

// The chunk of `s` with keys equal to `c`'s on its path (syntactically
// first, then by asking the solver), or null.
const Chunk* Executor::ftlr_find(SymState& s, const Chunk& c) {
  if (const Chunk* same = s.heap.find(c.name, c.keys)) return same;
  const Heap::Bucket* bucket = s.heap.bucket(c.name);
  if (!bucket) return nullptr;
  for (const auto& [keys, other] : *bucket) {
    Term eq = tb_.boolean(true);
    for (std::size_t i = 0; i < keys.size(); ++i) eq = tb_.and_(eq, tb_.eq(keys[i], c.keys[i]));
    if (is_false(eq)) continue;
    if (is_true(eq) || prove(s, eq, "ftlr (same chunk)", code_.loc).verdict == smt::Verdict::Valid) return &other;
  }
  return nullptr;
}

void Executor::ftlr_fail(SymState& s, const std::string& message, const Term& goal, const SourceLoc& at) {
  auto out = prove(s, goal, "ftlr", at);
  if (out.verdict == smt::Verdict::Valid) return;
  Failure f;
  f.id = out.verdict == smt::Verdict::Unknown ? "ftlr.unknown" : "ftlr.step";
  f.message = message;
  f.loc = at;
  f.path = path_of(s);
  f.inconclusive = out.verdict == smt::Verdict::Unknown;
  if (!f.inconclusive) {
    Counterexample c;
    c.replay_note = "a symbolic step of the unknown VM; no concrete program is run";
    for (const auto& [name, v] : out.model)
      c.logical.emplace_back(name, v.sort == Sort::Bool ? (v.word ? "true" : "false") : fmt::format("{}", v.word));
    f.cex = std::move(c);
  }
  std::string key = fmt::format("{}:{}:{}", at.line, at.col, message);
  if (reported_.insert({f.id, key}).second) result_.failures.push_back(std::move(f));
}

void Executor::ftlr() {
  SymState pre = ftlr_world();
  lazy_world_ = true;
  Term reach = ftlr_reach(pre);

  // A store writes a page the VM can access, and so one in its reach.
  {
    SymState s = pre;
    Term addr = fresh("addr", Sort::Word);
    Term acc;
    if (adv_.nova) {  // NOVA's page table is the declared one
      std::vector<Term> pages;
      for (const auto& pg : m_.pages)
        if (contains(pg.access, vm_)) pages.push_back(tb_.word(pg.base));
      acc = tb_.set_of(pages);
    } else {
      acc = s.heap.find("access", {tb_.word(vm_)})->values[0];
    }
    s.path.push_back(tb_.member(tb_.page_of(addr), acc));
    Chunk target{"mem", {addr}, {fresh("mem", Sort::Word)}, Perm{1, 1}};
    s.trace.push_back(PathStep{s.pc, "str (any address it can write)", decl_.loc, true});
    ftlr_fail(s, fmt::format("a store by the unknown {} can write a page outside its reach", decl_.name),
              adversary_reaches(s, target), decl_.loc);
  }

  // Every outcome of every hypercall, from any registers.
  SymState s = pre;
  s.trace.push_back(PathStep{s.pc, {}, code_.loc});
  collect_ = true;
  hypercall(s, 0);
  collect_ = false;
  lazy_world_ = false;
  std::vector<SymState> after = std::move(work_);
  work_.clear();
  struct Pending {
    SymState post;
    std::vector<std::pair<std::string, Term>> goals;
    Term all;
    SourceLoc at;
  };
  std::vector<Pending> pending;
  for (auto& post : after) {
    ++result_.paths;
    std::string step = post.trace.back().text;  // " (SHARE: ok)"
    SourceLoc at = post.outcome_loc.valid() ? post.outcome_loc : code_.loc;
    // The state before the step, as far as the step looked at it.
    SymState before = pre;
    before.path = post.path;
    for (const auto& c : post.lazy_pre) before.heap.add(c);
    // What must hold after the step: each a message and a condition. All
    // are proved in one query; only if that fails are they asked one by one,
    // to report the ones that fail.
    std::vector<std::pair<std::string, Term>> goals;
    auto name_of = [&](const Chunk& c) { return show(c).substr(0, show(c).find(" |->")); };
    std::vector<const Chunk*> touched;  // changed or new chunks of `post`
    // Nothing outside the reach changed (a value may be rebuilt as another
    // term: then it is equal, or the chunk in reach) ...
    for (const Chunk* c : before.heap.all()) {
      const Chunk* now = ftlr_find(post, *c);
      Term same = tb_.boolean(now && now->perm == c->perm);
      for (std::size_t i = 0; now && i < c->values.size(); ++i)
        if (!(now->values[i] == c->values[i])) same = tb_.and_(same, tb_.eq(now->values[i], c->values[i]));
      if (is_true(same)) continue;
      if (now) touched.push_back(now);
      goals.emplace_back(fmt::format("hvc{} by the unknown {} changes {}, which the adversary model says it cannot "
                                     "reach",
                                     step, decl_.name, name_of(*c)),
                         tb_.or_(same, adversary_reaches(before, *c)));
    }
    // ... nothing new appeared outside it ...
    for (const Chunk* c : post.heap.all()) {
      if (ftlr_find(before, *c)) continue;
      touched.push_back(c);
      goals.emplace_back(fmt::format("hvc{} by the unknown {} creates {}, which the adversary model says it cannot "
                                     "reach",
                                     step, decl_.name, name_of(*c)),
                         adversary_reaches(post, *c));
    }
    // ... and the reach is still closed (unchanged chunks keep it as before).
    for (const Chunk* c : touched) {
      Term closed = reach_closed(*c, reach);
      if (closed.valid())
        goals.emplace_back(fmt::format("hvc{} by the unknown {} leaves {} outside the unknown VMs' reach", step,
                                       decl_.name, name_of(*c)),
                           closed);
    }
    Term all = tb_.boolean(true);
    for (const auto& [msg, g] : goals) all = tb_.and_(all, g);
    if (!is_true(all)) pending.push_back({std::move(post), std::move(goals), all, at});
  }
  // One query for all outcomes: each outcome's path implies its goals. Only
  // if that fails is each outcome, then each goal, asked alone.
  Term every = tb_.boolean(true);
  for (const auto& p : pending) every = tb_.and_(every, tb_.implies(tb_.and_(p.post.path), p.all));
  SymState none = pre;
  none.path.clear();
  if (is_true(every) || prove(none, every, "ftlr", code_.loc).verdict == smt::Verdict::Valid) return;
  for (auto& p : pending) {
    if (prove(p.post, p.all, "ftlr", p.at).verdict == smt::Verdict::Valid) continue;
    for (const auto& [msg, g] : p.goals) ftlr_fail(p.post, msg, g, p.at);
  }
}

BlockResult check_unknown_steps(const Machine& m, VmId unknown, const HvcSpecTable& hvc, const VerifyOptions& opts,
                                smt::Solver& solver) {
  auto t0 = std::chrono::steady_clock::now();
  auto z0 = solver.stats().time;
  BlockResult r;
  r.vm = m.vms[unknown].name;
  r.loc = m.vms[unknown].loc;
  r.claim = "unknown VM, any code: each step keeps to the unknown VMs' reach (automated FTLR)";
  // The executor runs code; this VM's is one 'hvc' (its declared code, if
  // any, plays no part).
  Machine one = m;
  VmDecl& d = one.vms[unknown];
  CodeBlock code;
  code.base = d.code ? d.code->base : 0;
  code.instrs = {Instr{Op::Hvc}};
  code.loc = d.loc;
  code.locs = {d.loc};
  d.code = code;
  d.spec = VmSpec{};
  d.spec.ensures = Postcondition{};
  one.encode_programs();
  VerifyOptions quiet = opts;
  quiet.replay = false;  // the code is not the VM's: nothing to replay
  Executor ex(one, unknown, hvc, quiet, solver, r);
  ex.ftlr();
  // What the spec file does not describe cannot be checked against it:
  // say so, without calling it a failure of the step.
  std::vector<Failure> kept;
  std::set<std::string> unchecked;
  for (auto& f : r.failures) {
    if (f.id == "hvc.no_spec") {
      unchecked.insert(m.abi == AbiKind::Nova
                           ? "a call number no hypercall of the spec file has (create_pd, create_ec, create_sc and "
                             "create_pt put a new object in an empty selector of the caller's own space; a new "
                             "portal calls an EC the caller holds a capability for)"
                           : "a function id no hypercall of the spec file has (the machine returns INV_PARAM and "
                             "changes only the caller's registers)");
    } else if (f.id.rfind("hvc.requires", 0) == 0) {
      unchecked.insert(fmt::format("{} where the spec file's precondition does not hold ({})",
                                   f.path.empty() ? "a call" : f.path.back().text, f.message));
    } else {
      kept.push_back(std::move(f));
    }
  }
  r.failures = std::move(kept);
  for (const auto& u : unchecked) r.notes.push_back("not checked, the spec file does not describe it: " + u);
  r.verdict = verdict_of(r.failures);
  r.total_time = std::chrono::steady_clock::now() - t0;
  r.solver_time = solver.stats().time - z0;
  return r;
}

}  // namespace hvsl
