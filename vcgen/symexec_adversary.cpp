// The executor's side of robust safety (docs/robust_safety.md): what code
// in the unknown VMs may change while this VM is descheduled, pages this VM
// exposes to them by a memory transaction, and pages it 'shares'.
#include <map>
#include <set>

#include <fmt/format.h>

#include "logic/encoding.h"
#include "logic/nova.h"
#include "vcgen/symexec.h"

namespace hvsl {

Term Executor::some_unknown(const Term& vm) const {
  Term out = tb_.boolean(false);
  for (VmId u = 0; u < m_.vms.size(); ++u)
    if (adv_.unknown(u)) out = tb_.or_(out, tb_.eq(vm, tb_.word(u)));
  return out;
}

Term Executor::page_in_reach(const SymState& s, const Term& page) const {
  std::vector<Term> pages;
  for (const auto& [p, why] : adv_.pages) pages.push_back(tb_.word(p));
  for (Word p : s.exposed) pages.push_back(tb_.word(p));
  Term set = tb_.set_of(pages);
  if (s.extra_reach.valid()) set = tb_.union_(set, s.extra_reach);
  return tb_.member(page, set);
}

namespace {

template <class Key>
std::vector<Term> words_of(const TermBuilder& tb, const std::map<Key, Adversary::Why>& m) {
  std::vector<Term> out;
  for (const auto& [k, why] : m) out.push_back(tb.word(k));
  return out;
}

}  // namespace

// When the adversary may change chunk c. This is the machine's semantics
// seen from an unknown VM u: it writes the pages it can access (and those
// it can retrieve or reclaim); a hypercall changes u's own access set and
// RX state, the page-table entries and transactions of pages it reaches,
// the free handles, and the RX page and state of any VM whose RX page is
// empty (a message). TX and RX page assignments never change.
//
// abi nova: u changes the capabilities of the PDs it reaches (its own, and
// through OBJ capabilities), the portals and semaphores their capabilities
// name (and any semaphore made at run time), the number of semaphores, the
// call state and UTCB of the ECs it can call, and by replying the UTCB of
// an EC waiting for its reply. UTCB assignments and the page table never
// change.
Term Executor::adversary_reaches(SymState& s, const Chunk& c) {
  const std::string& n = c.name;
  if (n == "mem") {
    Term page = tb_.page_of(c.keys[0]);
    Term out = page_in_reach(s, page);
    if (adv_.nova) return tb_.or_(out, utcb_awaits_unknown(s, page));
    for (VmId j = 0; j < m_.vms.size(); ++j) {
      const VmDecl& d = m_.vms[j];
      if (!d.rx || adv_.unknown(j)) continue;  // an unknown VM's RX page is in reach already
      Term full = tb_.boolean(false);
      if (Chunk* st = s.heap.find("rxstate", {tb_.word(j)})) full = st->values[0];
      out = tb_.or_(out, tb_.and_(tb_.eq(page, tb_.word(m_.pages[*d.rx].base)), tb_.not_(full)));
    }
    return out;
  }
  if (adv_.nova) {
    if (n == "cap") return nova_reached(c.keys[0], CapKind::Obj);
    if (n == "ec" || n == "reply") return nova_reached(c.keys[0], CapKind::Ec);
    if (n == "portal") return nova_reached(c.keys[0], CapKind::Pt);
    if (n == "sm") return nova_reached(c.keys[0], CapKind::Sm);
    // UTCB assignments and the page table (access, owner, excl) never change.
    if (n == "utcb" || n == "access" || n == "owner" || n == "excl") return tb_.boolean(false);
    return tb_.boolean(true);  // sms(), predicate instances, anything new
  }
  if (n == "owner" || n == "excl") return page_in_reach(s, c.keys[0]);
  if (n == "access") return some_unknown(c.keys[0]);
  if (n == "rxstate") return tb_.or_(some_unknown(c.keys[0]), tb_.not_(c.values[0]));
  if (n == "trans") {
    // Only its sender can end a transaction, or its receiver by retrieving
    // a donation; a freed handle may then be reused for anything.
    Term donation = tb_.eq(c.values[3], tb_.word(encode(*m_.profile, TransKind::Donate)));
    return tb_.or_(some_unknown(c.values[0]), tb_.and_(some_unknown(c.values[1]), donation));
  }
  if (n == "retrieved") {
    Chunk* t = s.heap.find("trans", c.keys);
    if (!t) return tb_.boolean(true);
    return tb_.or_(some_unknown(t->values[0]), some_unknown(t->values[1]));
  }
  if (n == "tx" || n == "rx") return tb_.boolean(false);
  return tb_.boolean(true);  // handles(), predicate instances, anything new
}

Term Executor::reach_closed(const Chunk& c, const Term& reach) const {
  auto subset = [&](const Term& a) { return tb_.eq(tb_.minus(a, reach), tb_.empty_set()); };
  const std::string& n = c.name;
  if (adv_.nova) {
    if (n == "cap") {
      auto kind_is = [&](CapKind k) { return tb_.eq(c.values[0], tb_.word(Word(k))); };
      std::vector<Term> named;
      for (CapKind k : {CapKind::Obj, CapKind::Ec, CapKind::Pt, CapKind::Sm})
        named.push_back(tb_.implies(kind_is(k), nova_reached(c.values[1], k)));
      return tb_.implies(nova_reached(c.keys[0], CapKind::Obj), tb_.and_(named));
    }
    if (n == "portal")
      return tb_.implies(nova_reached(c.keys[0], CapKind::Pt), nova_reached(c.values[0], CapKind::Ec));
    return Term();
  }
  if (n == "access") return tb_.implies(some_unknown(c.keys[0]), subset(c.values[0]));
  if (n == "owner") return tb_.implies(some_unknown(c.values[0]), tb_.member(c.keys[0], reach));
  if (n == "trans")
    return tb_.implies(tb_.or_(some_unknown(c.values[0]), some_unknown(c.values[1])), subset(c.values[2]));
  return Term();
}

// Whether object x of this kind is in the unknown PDs' reach (Obj: a PD
// whose capabilities they change; Ec: an EC they may call). Objects made at
// run time are counted in.
Term Executor::nova_reached(const Term& x, CapKind kind) const {
  auto in = [&](const auto& map, Word made_from) {
    return tb_.or_(tb_.member(x, tb_.set_of(words_of(tb_, map))), tb_.le(tb_.word(made_from), x));
  };
  switch (kind) {
    case CapKind::Obj: return in(adv_.pds, adv_.declared_pds);
    case CapKind::Ec: return in(adv_.ecs, adv_.declared_pds);
    case CapKind::Pt: return in(adv_.portals, adv_.declared_portals);
    case CapKind::Sm: return in(adv_.sms, adv_.declared_sms);
    default: return tb_.boolean(true);
  }
}

// A reply writes the UTCB of the EC reply(u) names; an unknown u's pending
// reply may go to any page its caller's utcb chunk names.
Term Executor::utcb_awaits_unknown(const SymState& s, const Term& page) const {
  Term out = tb_.boolean(false);
  const Heap::Bucket* replies = s.heap.bucket("reply");
  const Heap::Bucket* utcbs = s.heap.bucket("utcb");
  if (!replies || !utcbs) return out;
  for (const auto& [rk, r] : *replies)
    for (const auto& [uk, u] : *utcbs)
      out = tb_.or_(out, tb_.and_({some_unknown(rk[0]), r.values[0], tb_.eq(uk[0], r.values[1]),
                                   tb_.eq(page, tb_.page_of(u.values[0]))}));
  return out;
}

// A call that may switch to an unknown PD: its reply may write the caller's
// UTCB (up to all 512 words) until control comes back. (A switch to an
// unknown PD by a reply needs nothing: only an EC the unknown PDs can call
// replies to one, and its UTCB is in the reach already.) As for a page given
// to an unknown VM by a memory transaction, the caller must hold all of it,
// so no other known VM holds a part the reply changes unseen; the page is
// in the reach while it waits (switch_vm).
bool Executor::expose_utcb(SymState& s, std::size_t index) {
  if (!decl_.utcb) return true;
  const PageDecl& pd = m_.pages[*decl_.utcb];
  if (adv_.pages.count(pd.base)) return true;  // unknown PDs can call this EC: its UTCB is in the reach anyway
  for (Word i = 0; i < m_.profile->page_size; ++i) {
    const Chunk* c = s.heap.find("mem", {tb_.word(pd.base + i)});
    if (c && c->perm.full()) continue;
    report(s, "expose.partial",
           fmt::format("this call may go to an unknown PD, whose reply may write all of the UTCB of '{}' (page "
                       "{}), but '{}' does not hold all of it (mem[{}] is {}): another VM may hold that part and "
                       "would not see the reply. Hold the whole UTCB (forall i in 0 .. PAGE_SIZE {{ mem[{} + i] |-> "
                       "_ }})",
                       decl_.name, pd.name, decl_.name, pd.base + i, c ? "only partly held" : "not held", pd.name),
           loc_of(index), {}, {}, nullptr, Term());
    return false;
  }
  s.exposed.insert(pd.base);
  return true;
}

// A chunk a hypercall's footprint asks for that this VM does not hold but
// the unknown PDs reach (their EC state, their UTCB words, a capability in
// their space): the machine has it, with a value this VM does not know, and
// no known VM holds it (check_footprints). The call may use it; it goes back
// to the adversary after the call (return_borrowed).
std::optional<Chunk> Executor::borrow(SymState& s, const std::string& name, const std::vector<Term>& keys) {
  if (!borrowing_ || !adv_.nova || lazy_world_) return std::nullopt;
  std::vector<Word> words;
  for (const auto& k : keys) {
    if (!k.valid() || !is_lit(k)) return std::nullopt;
    words.push_back(k->value);
  }
  if (!adv_.reaches(m_, name, words)) return std::nullopt;
  const ResourceInfo* info = name == "mem" ? nullptr : resource_info(name);
  Chunk c{name, keys, {}, Perm{1, 1}};
  if (name == "mem") c.values.push_back(fresh("unknown", Sort::Word));
  else if (info)
    for (Sort v : info->values) c.values.push_back(fresh("unknown", v));
  else return std::nullopt;
  if (Term closed = reach_closed(c, Term()); closed.valid()) s.path.push_back(closed);
  s.borrowed.emplace_back(name, keys);
  return c;
}

// After the call: the borrowed chunks go back to the adversary. What the
// call wrote into them must keep the reach closed (a capability given to an
// unknown PD names only objects it already reaches): hvsl's NOVA model does
// not let the reach grow.
bool Executor::return_borrowed(SymState& s, std::size_t index) {
  for (const auto& [name, keys] : s.borrowed) {
    Chunk* c = s.heap.find(name, keys);
    if (!c) continue;
    Term closed = reach_closed(*c, Term());
    if (closed.valid() && !is_true(closed)) {
      auto out = prove(s, closed, "reach.grows", loc_of(index));
      if (out.verdict != smt::Verdict::Valid) {
        report(s, "reach.grows",
               fmt::format("this call may give an unknown PD {}, which names an object outside the unknown PDs' "
                           "reach; hvsl's NOVA model does not let that reach grow (docs/robust_safety.md)",
                           show(*c)),
               loc_of(index), {}, {}, &out, closed);
        return false;
      }
    }
    s.heap.take(name, keys, c->perm);
  }
  s.borrowed.clear();
  return true;
}

// The unknown VMs may run: every chunk they may change gets a fresh value
// (this VM still holds it, knowing nothing of its value); predicate
// instances, whose contents are hidden, are given up.
void Executor::adversary_may_run(SymState& s, const SourceLoc& at) {
  if (!adv_.any()) return;
  struct Change {
    std::string name;
    std::vector<Term> keys;
    Perm perm;
    bool drop = false;
  };
  std::vector<Change> changes;
  for (const Chunk* c : s.heap.all()) {
    if (c->name.rfind("pred:", 0) == 0) {
      changes.push_back({c->name, c->keys, c->perm, true});
      continue;
    }
    Term may = adversary_reaches(s, *c);
    if (is_false(may) || !feasible(s, may, "an unknown VM may change " + c->name, at)) continue;
    changes.push_back({c->name, c->keys, c->perm, false});
  }
  std::set<std::string> changed;
  std::map<std::string, std::size_t> words_on_page;  // memory, summarised by page
  for (const auto& ch : changes) {
    Chunk* c = s.heap.find(ch.name, ch.keys);
    if (!c) continue;
    const PageDecl* page = ch.name == "mem" && is_lit(ch.keys[0]) ? m_.page_at(ch.keys[0]->value) : nullptr;
    if (page) ++words_on_page[page->name];
    else changed.insert(show(*c).substr(0, show(*c).find(" |->")));
    if (ch.drop) {
      s.heap.take(ch.name, ch.keys, ch.perm);
      continue;
    }
    for (auto& v : c->values) v = fresh("unknown", v->sort);
    if (ch.name == "mem" && is_lit(ch.keys[0])) s.adversary_writes.emplace_back(ch.keys[0]->value, c->values[0]->name);
  }
  for (const auto& [page, n] : words_on_page)
    changed.insert(n == 1 ? fmt::format("a word of {}", page) : fmt::format("{} words of {}", n, page));
  if (!changed.empty()) {
    std::string list;
    for (const auto& c : changed) list += (list.empty() ? "" : ", ") + c;
    s.trace.push_back(PathStep{s.pc, fmt::format("unknown VMs may run and change {}", list), at, true});
  }
}

// After a hypercall: a transaction this VM holds whose other party may be
// unknown exposes its pages, which the adversary may write from now on.
// Soundness needs every word of such a page held by this VM (then no other
// known VM holds any of it, and none is handed on: see switch_vm).
void Executor::note_exposure(SymState& s, std::size_t index) {
  if (!adv_.any()) return;
  Heap::Bucket* trans = s.heap.bucket("trans");
  if (!trans) return;
  std::vector<Term> page_sets;
  for (const auto& [keys, c] : *trans) {
    Term party = tb_.or_(some_unknown(c.values[0]), some_unknown(c.values[1]));
    if (is_false(party) || !feasible(s, party, "transaction with an unknown VM", loc_of(index))) continue;
    page_sets.push_back(c.values[2]);
  }
  for (const Term& ps : page_sets) {
    std::vector<Word> pages;
    bool concrete = true;
    Term rest = ps;  // {a, b} is insert(insert(empty, a), b)
    while (concrete && rest->kind == Kind::Insert) {
      if (is_lit(rest->args[1])) pages.push_back(rest->args[1]->value);
      else concrete = false;
      rest = rest->args[0];
    }
    if (!concrete || rest->kind != Kind::EmptySet) {
      report(s, "expose.unknown_pages",
             fmt::format("this call may give an unknown VM pages {} that hvsl cannot name, so it cannot tell what "
                         "the unknown VM may write",
                         show(ps)),
             loc_of(index), {}, {}, nullptr, Term());
      s.dead = true;
      return;
    }
    for (Word p : pages) {
      if (s.exposed.count(p) || adv_.pages.count(p)) continue;
      s.exposed.insert(p);
      Word size = m_.profile->page_size;
      for (Word i = 0; i < size; ++i) {
        const Chunk* c = s.heap.find("mem", {tb_.word(p + i)});
        if (c && c->perm.full()) continue;
        const PageDecl* pd = m_.page_at(p);
        std::string name = pd ? pd->name : fmt::format("{}", p);
        report(s, "expose.partial",
               fmt::format("this call lets an unknown VM write page {}, but '{}' does not hold all of its memory "
                           "({} is {}): another VM may hold that part and would not see the unknown VM's writes. "
                           "Hold the whole page (forall i in 0 .. PAGE_SIZE {{ mem[{} + i] |-> _ }}) to give it "
                           "to an unknown VM",
                           name, decl_.name, fmt::format("mem[{}]", p + i), c ? "only partly held" : "not held",
                           name),
               loc_of(index), {}, {}, nullptr, Term());
        break;
      }
    }
  }
}

// Chunks on exposed pages must stay with this VM: another known VM given
// one would not know the unknown VM may write it.
bool Executor::keeps_exposed(const SymState& before, const SymState& after, std::size_t index,
                             const std::string& to) {
  if (before.exposed.empty()) return true;
  for (const Chunk* c : before.heap.all()) {
    if (c->name != "mem" && c->name != "owner" && c->name != "excl") continue;
    if (!is_lit(c->keys[0])) continue;
    Word page = c->name == "mem" ? m_.profile->page_of(c->keys[0]->value) : c->keys[0]->value;
    if (!before.exposed.count(page)) continue;
    const Chunk* now = after.heap.find(c->name, c->keys);
    if (now && now->perm == c->perm) continue;
    report(before, "protocol.exposed",
           fmt::format("'{}' hands {} to {}, but an unknown VM may write it (it was given to one by a memory "
                       "transaction), and {} would not know that",
                       decl_.name, show(*c).substr(0, show(*c).find(" |->")), to, to),
           loc_of(index), {}, {}, nullptr, Term());
    return false;
  }
  return true;
}

// A page this VM 'shares' (no owner of its content): a load gives any value.
bool Executor::shared_access(SymState& s, const Term& addr) {
  if (decl_.shares.empty()) return false;
  std::vector<Term> pages;
  for (const auto& sh : decl_.shares) pages.push_back(tb_.word(m_.pages[sh.page].base));
  Term on = tb_.member(tb_.page_of(addr), tb_.set_of(pages));
  if (is_false(on)) return false;
  if (is_true(on)) return true;
  return prove(s, on, "shared page", {}).verdict == smt::Verdict::Valid;
}

}  // namespace hvsl
