// The executor's side of robust safety (docs/robust_safety.md): what code
// in the unknown VMs may change while this VM is descheduled, pages this VM
// exposes to them by a memory transaction, and pages it 'shares'.
#include <map>
#include <set>

#include <fmt/format.h>

#include "logic/encoding.h"
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

// When the adversary may change chunk c. This is the machine's semantics
// seen from an unknown VM u: it writes the pages it can access (and those
// it can retrieve or reclaim); a hypercall changes u's own access set and
// RX state, the page-table entries and transactions of pages it reaches,
// the free handles, and the RX page and state of any VM whose RX page is
// empty (a message). TX and RX page assignments never change.
Term Executor::adversary_reaches(SymState& s, const Chunk& c) {
  const std::string& n = c.name;
  if (n == "mem") {
    Term page = tb_.page_of(c.keys[0]);
    Term out = page_in_reach(s, page);
    for (VmId j = 0; j < m_.vms.size(); ++j) {
      const VmDecl& d = m_.vms[j];
      if (!d.rx || adv_.unknown(j)) continue;  // an unknown VM's RX page is in reach already
      Term full = tb_.boolean(false);
      if (Chunk* st = s.heap.find("rxstate", {tb_.word(j)})) full = st->values[0];
      out = tb_.or_(out, tb_.and_(tb_.eq(page, tb_.word(m_.pages[*d.rx].base)), tb_.not_(full)));
    }
    return out;
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
