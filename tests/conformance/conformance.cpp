// The spec-conformance checker (conformance.h, docs/conformance.md); the
// random state generators are in generate_ffa.cpp and generate_nova.cpp.
#include "conformance.h"

#include <algorithm>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "frontend/diagnostics.h"
#include "frontend/parser.h"
#include "frontend/source.h"
#include "logic/assertion_eval.h"
#include "logic/encoding.h"
#include "logic/interpreter.h"

namespace conformance {

using hvsl::Env;
using hvsl::Machine;
using hvsl::Profile;
using hvsl::Reg;
using hvsl::Sort;
using hvsl::State;
using hvsl::Term;
using hvsl::Value;
using Regs = std::array<Word, hvsl::kRegCount>;

namespace {

// ---- values and keys -----------------------------------------------------------

Value word_value(Word w) { return Value{Sort::Word, w, {}}; }

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

std::string show_env(const Env& env) {
  std::string s;
  for (const auto& [n, v] : env)
    if (n.rfind("_", 0) != 0) s += (s.empty() ? "" : ", ") + n + " = " + show(v);
  return s;
}

std::string show_set(hvsl::VmSet s, std::size_t n) {
  std::string out;
  for (VmId v = 0; v < n; ++v)
    if (hvsl::contains(s, v)) out += (out.empty() ? "" : ", ") + fmt::format("vm{}", v);
  return "{" + out + "}";
}

// The key of a resource as the frame check compares them: "mem[1005]",
// "owner(4000)" (the page's base), "access(1)", "trans(3)", "handles()".
std::string resource_key(const std::string& resource, const std::vector<Word>& keys) {
  if (resource == "mem") return fmt::format("mem[{}]", keys.at(0));
  std::string k;
  for (Word w : keys) k += (k.empty() ? "" : ",") + fmt::format("{}", w);
  return resource + "(" + k + ")";
}

std::string chunk_key(const hvsl::MatchedChunk& c, const Profile& p) {
  std::vector<Word> keys;
  for (const auto& v : c.keys) keys.push_back(v.word);
  if ((c.resource == "owner" || c.resource == "excl") && !keys.empty()) keys[0] = p.page_of(keys[0]);
  return resource_key(c.resource, keys);
}

// ---- guards: three-valued, short-circuit ------------------------------------------
// A guard may use a name the requires bound only in a branch it did not take
// (SHARE's `refused` uses the owner of a page that only a valid descriptor
// names); the connectives decide without it when they can, as the guard's
// meaning does not depend on it then. nullopt: undecided (`missing` says why).

std::optional<bool> truth(const Term& t, const Profile& p, const Env& env, std::string& missing) {
  using hvsl::Kind;
  switch (t->kind) {
    case Kind::Not: {
      auto a = truth(t->args[0], p, env, missing);
      if (!a) return std::nullopt;
      return !*a;
    }
    case Kind::And: case Kind::Or: case Kind::Implies: {
      auto a = truth(t->args[0], p, env, missing), b = truth(t->args[1], p, env, missing);
      if (t->kind == Kind::Implies && a) a = !*a;  // a -> b == !a || b
      bool is_and = t->kind == Kind::And;
      if ((a && *a != is_and) || (b && *b != is_and)) return !is_and;  // a deciding operand
      if (a && b) return is_and;
      return std::nullopt;
    }
    case Kind::Ite:
      if (t->sort == Sort::Bool) {
        auto c = truth(t->args[0], p, env, missing);
        if (c) return truth(t->args[*c ? 1 : 2], p, env, missing);
        auto a = truth(t->args[1], p, env, missing), b = truth(t->args[2], p, env, missing);
        if (a && b && *a == *b) return a;
        return std::nullopt;
      }
      break;
    default: break;
  }
  if (auto v = hvsl::eval(t, p, env)) return v->word != 0;
  std::map<std::string, Sort> vars;
  hvsl::collect_vars(t, vars);
  for (const auto& [n, s] : vars)
    if (!env.count(n)) {
      missing = n;
      return std::nullopt;
    }
  missing = "(cannot evaluate " + hvsl::to_string(t) + ")";
  return std::nullopt;
}

// The registers as a guard or a `switch to` term reads them: rN at the call
// (guards) and old.rN (terms the lowering rewrote to the call's values).
Env with_registers(Env env, const Regs& regs) {
  for (Reg r = 0; r < hvsl::kRegCount; ++r) {
    if (r == hvsl::kPc) continue;
    env[hvsl::reg_name(r)] = word_value(regs[r]);
    env["old." + hvsl::reg_name(r)] = word_value(regs[r]);
  }
  return env;
}

// ---- abi nova: the kernel's resources as logic/assertion_eval presents them ----------------

bool is_nova(const State& s) { return s.machine->abi == hvsl::AbiKind::Nova; }

// ec(v): EC_READY 0, EC_IDLE 1, EC_REPLY 2, EC_BLOCKED 3, EC_HELPING 4, EC_DEAD 5
constexpr Word kEcReady = 0, kEcReply = 2, kEcBlocked = 3, kEcDead = 5;
Word ec_value(const State& s, VmId v) {
  return s.vms[v].mode != hvsl::Mode::Exec ? kEcDead : Word(s.nova.ecs[v].wait);
}
std::string show_ec(Word w) {
  static constexpr const char* names[] = {"EC_READY", "EC_IDLE", "EC_REPLY", "EC_BLOCKED", "EC_HELPING", "EC_DEAD"};
  return w < 6 ? names[w] : fmt::format("{}", w);
}
// cap(pd, sel): a null capability (no entry, kind null or no permission) is (CAP_NULL, 0, 0)
hvsl::Capability cap_value(const State& s, Word pd, Word sel) {
  if (pd >= s.nova.caps.size()) return {};
  auto it = s.nova.caps[pd].find(sel);
  return it == s.nova.caps[pd].end() || it->second.null() ? hvsl::Capability{} : it->second;
}
std::string show_cap(const hvsl::Capability& c) {
  return fmt::format("({}, {}, {})", Word(c.kind), c.obj, c.perms);
}
std::string show_reply(const hvsl::NovaEc& e) {
  return e.partner ? fmt::format("(true, {})", *e.partner) : std::string("(false, 0)");
}

// ---- the resources that changed --------------------------------------------------------

struct Change {
  std::string key;
  std::string before, after;
};

std::string show_trans(const std::optional<hvsl::Transaction>& t, const Profile& p) {
  if (!t) return "free";
  std::string ps;
  for (Word w : t->pages) ps += (ps.empty() ? "" : ", ") + fmt::format("{}", w);
  return fmt::format("(vm{}, vm{}, {{{}}}, {})", t->sender, t->receiver, ps, hvsl::encode(p, t->kind));
}

std::string show_rx(const std::optional<hvsl::RxMessage>& m) {
  if (!m) return "(false, 0, 0)";
  return fmt::format("(true, {}, {})", m->length, m->sender);
}

// abi nova: cap(pd, sel) (also of the PDs create_pd made), portal(p), ec(v),
// reply(v), sm(s) (counter, queue length) and sms(). A portal or semaphore
// that exists on one side only shows as "none" on the other.
void nova_changes(const State& a, const State& b, std::vector<Change>& out) {
  const auto &x = a.nova, &y = b.nova;
  for (std::size_t pd = 0; pd < std::max(x.caps.size(), y.caps.size()); ++pd) {
    std::set<Word> sels;
    if (pd < x.caps.size())
      for (const auto& [k, c] : x.caps[pd]) sels.insert(k);
    if (pd < y.caps.size())
      for (const auto& [k, c] : y.caps[pd]) sels.insert(k);
    for (Word sel : sels) {
      auto ca = cap_value(a, pd, sel), cb = cap_value(b, pd, sel);
      if (!(ca == cb)) out.push_back({resource_key("cap", {pd, sel}), show_cap(ca), show_cap(cb)});
    }
  }
  for (std::size_t k = 0; k < std::max(x.portals.size(), y.portals.size()); ++k) {
    auto show_pt = [&](const hvsl::NovaState& n) {
      return k < n.portals.size() ? fmt::format("({}, {})", n.portals[k].ec, n.portals[k].id) : std::string("none");
    };
    if (show_pt(x) != show_pt(y)) out.push_back({resource_key("portal", {k}), show_pt(x), show_pt(y)});
  }
  for (VmId v = 0; v < a.vms.size(); ++v) {
    Word ea = ec_value(a, v), eb = ec_value(b, v);
    if (ea != eb) out.push_back({resource_key("ec", {v}), show_ec(ea), show_ec(eb)});
    if (x.ecs[v].partner != y.ecs[v].partner)
      out.push_back({resource_key("reply", {v}), show_reply(x.ecs[v]), show_reply(y.ecs[v])});
  }
  for (std::size_t k = 0; k < std::max(x.sms.size(), y.sms.size()); ++k) {
    auto show_sm = [&](const hvsl::NovaState& n) {
      return k < n.sms.size() ? fmt::format("({}, {})", n.sms[k].counter, n.sms[k].queue.size()) : std::string("none");
    };
    if (show_sm(x) != show_sm(y)) out.push_back({resource_key("sm", {k}), show_sm(x), show_sm(y)});
  }
  if (x.sms.size() != y.sms.size())
    out.push_back({"sms()", fmt::format("{}", x.sms.size()), fmt::format("{}", y.sms.size())});
}

std::vector<Change> changes(const State& a, const State& b) {
  std::vector<Change> out;
  const Machine& m = *a.machine;
  const Profile& p = a.profile();
  for (std::size_t i = 0; i < a.mem.size(); ++i)
    if (a.mem[i] != b.mem[i]) {
      Word addr = m.pages[i / p.page_size].base + i % p.page_size;
      out.push_back({resource_key("mem", {addr}), fmt::format("{}", a.mem[i]), fmt::format("{}", b.mem[i])});
    }
  for (std::size_t i = 0; i < m.pages.size(); ++i) {
    const auto &x = a.pgt[i], &y = b.pgt[i];
    Word base = m.pages[i].base;
    auto owner = [](const std::optional<VmId>& o) { return o ? fmt::format("{}", *o) : std::string("hypervisor"); };
    if (x.owner != y.owner) out.push_back({resource_key("owner", {base}), owner(x.owner), owner(y.owner)});
    if (x.exclusive != y.exclusive)
      out.push_back({resource_key("excl", {base}), x.exclusive ? "true" : "false", y.exclusive ? "true" : "false"});
  }
  for (VmId v = 0; v < m.vms.size(); ++v) {
    std::set<Word> sa, sb;
    for (std::size_t i = 0; i < m.pages.size(); ++i) {
      if (hvsl::contains(a.pgt[i].access, v)) sa.insert(m.pages[i].base);
      if (hvsl::contains(b.pgt[i].access, v)) sb.insert(m.pages[i].base);
    }
    if (sa != sb)
      out.push_back({resource_key("access", {v}), show(Value{Sort::Set, 0, sa}), show(Value{Sort::Set, 0, sb})});
    const auto &ra = a.vms[v].rx, &rb = b.vms[v].rx;
    bool same = ra.has_value() == rb.has_value() && (!ra || (ra->length == rb->length && ra->sender == rb->sender));
    if (!same) out.push_back({resource_key("rxstate", {v}), show_rx(ra), show_rx(rb)});
  }
  std::set<Word> handles;
  for (const auto& [h, t] : a.trans) handles.insert(h);
  for (const auto& [h, t] : b.trans) handles.insert(h);
  std::set<Word> free_a, free_b;
  for (Word h : handles) {
    auto get = [&](const State& s) -> std::optional<hvsl::Transaction> {
      auto it = s.trans.find(h);
      if (it == s.trans.end()) return std::nullopt;
      return it->second;
    };
    auto ta = get(a), tb = get(b);
    if (a.trans.count(h) && !ta) free_a.insert(h);
    if (b.trans.count(h) && !tb) free_b.insert(h);
    bool trans_same = ta.has_value() == tb.has_value() &&
                      (!ta || (ta->sender == tb->sender && ta->receiver == tb->receiver && ta->pages == tb->pages &&
                               ta->kind == tb->kind));
    if (!trans_same) out.push_back({resource_key("trans", {h}), show_trans(ta, p), show_trans(tb, p)});
    bool ret_same = ta.has_value() == tb.has_value() && (!ta || ta->retrieved == tb->retrieved);
    auto ret = [](const std::optional<hvsl::Transaction>& t) {
      return !t ? std::string("free") : t->retrieved ? std::string("true") : std::string("false");
    };
    if (!ret_same) out.push_back({resource_key("retrieved", {h}), ret(ta), ret(tb)});
  }
  if (free_a != free_b) {
    Value va{Sort::Set, 0, free_a}, vb{Sort::Set, 0, free_b};
    out.push_back({"handles()", show(va), show(vb)});
  }
  if (is_nova(a)) nova_changes(a, b, out);
  return out;
}

// The registers, pc and mode of every VM: what changed.
std::vector<std::string> vm_changes(const State& a, const State& b) {
  std::vector<std::string> out;
  for (VmId v = 0; v < a.vms.size(); ++v) {
    for (Reg r = 0; r < hvsl::kRegCount; ++r)
      if (a.vms[v].regs[r] != b.vms[v].regs[r])
        out.push_back(fmt::format("vm{}.{}: {} -> {}", v, hvsl::reg_name(r), a.vms[v].regs[r], b.vms[v].regs[r]));
    if (a.vms[v].mode != b.vms[v].mode)
      out.push_back(fmt::format("vm{} mode: {} -> {}", v, hvsl::name(a.vms[v].mode), hvsl::name(b.vms[v].mode)));
  }
  if (a.current != b.current) out.push_back(fmt::format("current VM: vm{} -> vm{}", a.current, b.current));
  return out;
}


}  // namespace

// ---- describe -----------------------------------------------------------------------

namespace {

// abi nova: the VMs with their EC and UTCB, the object spaces, portals,
// semaphores and every UTCB's first words.
std::string describe_nova(const State& s) {
  const Machine& m = *s.machine;
  const Profile& p = s.profile();
  const hvsl::NovaState& n = s.nova;
  std::string out = fmt::format("profile {}, abi nova, {} VMs, current vm{}\n", p.name, m.vms.size(), s.current);
  for (VmId v = 0; v < m.vms.size(); ++v) {
    const auto& vm = s.vms[v];
    const auto& e = n.ecs[v];
    std::string wait = show_ec(ec_value(s, v));
    if (e.wait == hvsl::NovaEc::Wait::Callee) wait += fmt::format(" (for vm{})", e.callee);
    out += fmt::format("  vm{}{}: {} pc={} r0={:#x} r1={} r2={} r3={} r4={} ec={} reply={} utcb={}\n", v,
                       m.vms[v].local ? " (local)" : "", hvsl::name(vm.mode), vm.pc(), vm.regs[0], vm.regs[1],
                       vm.regs[2], vm.regs[3], vm.regs[4], wait, show_reply(e),
                       m.vms[v].utcb ? fmt::format("{}", m.pages[*m.vms[v].utcb].base) : std::string("none"));
  }
  for (std::size_t pd = 0; pd < n.caps.size(); ++pd) {
    out += fmt::format("  caps of pd{}:", pd);
    bool any = false;
    for (const auto& [sel, c] : n.caps[pd]) {
      out += fmt::format(
          " {}={}", sel,
          c.null() ? std::string("null") : fmt::format("{} {} perms {}", hvsl::name(c.kind), c.obj, c.perms));
      any = true;
    }
    out += any ? "\n" : " none\n";
  }
  out += "  portals:";
  for (std::size_t k = 0; k < n.portals.size(); ++k)
    out += fmt::format(" {}=(vm{}, id {})", k, n.portals[k].ec, n.portals[k].id);
  out += n.portals.empty() ? " none\n  semaphores:" : "\n  semaphores:";
  for (std::size_t k = 0; k < n.sms.size(); ++k) {
    std::string q;
    for (VmId w : n.sms[k].queue) q += (q.empty() ? "" : ", ") + fmt::format("vm{}", w);
    out += fmt::format(" {}=(counter {}, queue [{}])", k, n.sms[k].counter, q);
  }
  if (n.sms.empty()) out += " none";
  out += "\n  pages:";
  for (std::size_t i = 0; i < m.pages.size(); ++i) {
    const auto& e = s.pgt[i];
    out += fmt::format("\n    {} {}: owner {}{} access {}", m.pages[i].name, m.pages[i].base,
                       e.owner ? fmt::format("vm{}", *e.owner) : std::string("hypervisor"),
                       e.exclusive ? " exclusive" : "", show_set(e.access, m.vms.size()));
  }
  for (VmId v = 0; v < m.vms.size(); ++v)
    if (const auto& u = m.vms[v].utcb)
      out += fmt::format("\n  vm{}'s UTCB words 0..2: {} {} {}", v, s.word(*u, 0), s.word(*u, 1), s.word(*u, 2));
  return out + "\n";
}

}  // namespace

std::string describe(const State& s) {
  if (is_nova(s)) return describe_nova(s);
  const Machine& m = *s.machine;
  const Profile& p = s.profile();
  std::string out = fmt::format("profile {}, {} VMs, current vm{}\n", p.name, m.vms.size(), s.current);
  for (VmId v = 0; v < m.vms.size(); ++v) {
    const auto& vm = s.vms[v];
    auto page = [&](const std::optional<std::size_t>& i) {
      return i ? fmt::format("{}", m.pages[*i].base) : std::string("none");
    };
    out += fmt::format("  vm{}: {} pc={} r0={:#x} r1={} r2={} r3={} nz={} tx={} rx={} rxstate={}\n", v,
                       hvsl::name(vm.mode), vm.pc(), vm.regs[0], vm.regs[1], vm.regs[2], vm.regs[3],
                       vm.regs[hvsl::kNz], page(m.vms[v].tx), page(m.vms[v].rx), show_rx(vm.rx));
  }
  out += "  pages:";
  for (std::size_t i = 0; i < m.pages.size(); ++i) {
    const auto& e = s.pgt[i];
    out += fmt::format("\n    {} {}: owner {}{} access {}", m.pages[i].name, m.pages[i].base,
                       e.owner ? fmt::format("vm{}", *e.owner) : std::string("hypervisor"),
                       e.exclusive ? " exclusive" : "", show_set(e.access, m.vms.size()));
  }
  out += "\n  handles:";
  if (s.trans.empty()) out += " none";
  for (const auto& [h, t] : s.trans) {
    if (!t) out += fmt::format("\n    {}: free", h);
    else
      out += fmt::format("\n    {}: {} {}{}", h, hvsl::name(t->kind), show_trans(t, p), t->retrieved ? " retrieved" : "");
  }
  const auto& tx = m.vms[s.current].tx;
  if (tx) {
    out += fmt::format("\n  vm{}'s TX words 0..6:", s.current);
    for (Word k = 0; k < 7; ++k) out += fmt::format(" {}", s.word(*tx, k));
  }
  const auto& rx = m.vms[s.current].rx;
  if (rx) {
    out += fmt::format("\n  vm{}'s RX words 0..6:", s.current);
    for (Word k = 0; k < 7; ++k) out += fmt::format(" {}", s.word(*rx, k));
  }
  return out + "\n";
}

// ---- the invariants -------------------------------------------------------------------

namespace {

// Terms for labels and messages, parenthesised where needed (hvsl::to_string
// prints e == (k != 1) as "e == k != 1").
int prec(hvsl::Kind k) {
  using hvsl::Kind;
  switch (k) {
    case Kind::Implies: return 1;
    case Kind::Or: return 2;
    case Kind::And: return 3;
    case Kind::Eq: case Kind::Lt: case Kind::Le: case Kind::Member: return 4;
    case Kind::Add: case Kind::Sub: case Kind::Union: case Kind::Minus: return 5;
    case Kind::Mul: return 6;
    default: return 9;
  }
}

std::string show_term(const Term& t, int outer = 0) {
  using hvsl::Kind;
  auto paren = [&](int p, std::string s) { return p < outer ? "(" + s + ")" : s; };
  auto bin = [&](const char* op) {
    int p = prec(t->kind);
    int left = p == 4 ? 5 : p;  // comparisons do not chain: (p in a) == b
    return paren(p, show_term(t->args[0], left) + " " + op + " " + show_term(t->args[1], p + 1));
  };
  switch (t->kind) {
    case Kind::Not:
      if (t->args[0]->kind == Kind::Eq)
        return paren(4, show_term(t->args[0]->args[0], 5) + " != " + show_term(t->args[0]->args[1], 5));
      return "!" + show_term(t->args[0], 9);
    case Kind::Eq: return bin("==");
    case Kind::Lt: return bin("<");
    case Kind::Le: return bin("<=");
    case Kind::And: return bin("&&");
    case Kind::Or: return bin("||");
    case Kind::Implies: return bin("==>");
    case Kind::Add: return bin("+");
    case Kind::Sub: return bin("-");
    case Kind::Mul: return bin("*");
    case Kind::Member: return bin("in");
    case Kind::Minus: return bin("minus");
    case Kind::Insert:
      if (t->args[0]->kind == Kind::EmptySet) return "{" + show_term(t->args[1]) + "}";
      return hvsl::to_string(t);
    default: return hvsl::to_string(t);
  }
}

std::string show_chunk_pattern(const hvsl::Assertion& c) {
  std::string keys, values;
  for (const auto& k : c.args) keys += (keys.empty() ? "" : ", ") + show_term(k);
  for (const auto& v : c.values) values += (values.empty() ? "" : ", ") + show_term(v);
  if (c.values.size() > 1) values = "(" + values + ")";
  std::string res = c.name == "mem" ? "mem[" + keys + "]" : c.name + "(" + keys + ")";
  return res + (c.read_only ? " |->[_] " : " |-> ") + values;
}

// What a key of `resource` (position k) ranges over when the invariant's
// pattern binds it: what exists in the state. nullopt: no such resource.
std::optional<std::vector<Word>> key_domain(const std::string& resource, std::size_t k, const State& s) {
  const Machine& m = *s.machine;
  std::vector<Word> out;
  if (resource == "trans" || resource == "retrieved") {
    for (const auto& [h, t] : s.trans)
      if (t) out.push_back(h);
  } else if (resource == "owner" || resource == "excl") {
    for (const auto& pg : m.pages) out.push_back(pg.base);
  } else if (resource == "access" || resource == "tx" || resource == "rx" || resource == "rxstate" ||
             (resource == "reg" && k == 0)) {
    for (VmId v = 0; v < m.vms.size(); ++v) out.push_back(v);
  } else if (resource == "reg") {
    for (Reg r = 0; r < hvsl::kRegCount; ++r) out.push_back(r);
  } else if (resource == "mem") {
    for (const auto& pg : m.pages)
      for (Word i = 0; i < s.profile().page_size; ++i) out.push_back(pg.base + i);
  } else if (is_nova(s) && (resource == "ec" || resource == "reply" || resource == "utcb")) {
    for (VmId v = 0; v < m.vms.size(); ++v) out.push_back(v);
  } else if (is_nova(s) && resource == "portal") {
    for (Word k = 0; k < s.nova.portals.size(); ++k) out.push_back(k);
  } else if (is_nova(s) && resource == "sm") {
    for (Word k = 0; k < s.nova.sms.size(); ++k) out.push_back(k);
  } else if (is_nova(s) && resource == "cap" && k == 0) {
    for (Word pd = 0; pd < s.nova.caps.size(); ++pd) out.push_back(pd);
  } else if (is_nova(s) && resource == "cap") {  // the selectors holding a capability in some space
    std::set<Word> sels;
    for (const auto& space : s.nova.caps)
      for (const auto& [sel, c] : space)
        if (!c.null()) sels.insert(sel);
    out.assign(sels.begin(), sels.end());
  } else {
    return std::nullopt;
  }
  return out;
}

bool binds(const Term& t, const Env& env) {
  return t->kind == hvsl::Kind::Var && !env.count(t->name) && !hvsl::reg_by_name(t->name) &&
         t->name.rfind("old.", 0) != 0;
}

Value bool_value(bool b) { return Value{Sort::Bool, b ? Word(1) : Word(0), {}}; }

// The concrete values of resource(keys) as logic/assertion_eval presents
// them. Fails: the state has no such chunk; Unknown: no value denotes it
// (the owner of a hypervisor page).
struct Actual {
  hvsl::Truth truth = hvsl::Truth::Holds;
  std::vector<Value> values;
  std::string why;
};

Actual actual(const std::string& r, const std::vector<Word>& keys, const State& s, const hvsl::PageIndex& pages) {
  const Machine& m = *s.machine;
  Actual a;
  auto fails = [&] {
    a.truth = hvsl::Truth::Fails;
    return a;
  };
  auto vm = [&](Word w) { return w < m.vms.size(); };
  auto word = [&](Word w) { a.values.push_back(word_value(w)); };
  if (r == "mem") {
    auto pi = pages.find(keys[0]);
    if (!pi) return fails();
    word(s.word(*pi, keys[0] % s.profile().page_size));
  } else if (r == "access") {
    if (!vm(keys[0])) return fails();
    Value set{Sort::Set, 0, {}};
    for (std::size_t i = 0; i < m.pages.size(); ++i)
      if (hvsl::contains(s.pgt[i].access, VmId(keys[0]))) set.set.insert(m.pages[i].base);
    a.values.push_back(std::move(set));
  } else if (r == "owner" || r == "excl") {
    auto pi = pages.find(keys[0]);
    if (!pi) return fails();
    if (r == "excl") {
      a.values.push_back(bool_value(s.pgt[*pi].exclusive));
    } else if (!s.pgt[*pi].owner) {
      a.truth = hvsl::Truth::Unknown;
      a.why = fmt::format("owner({}): the page is owned by the hypervisor, which no VM value denotes", keys[0]);
    } else {
      word(*s.pgt[*pi].owner);
    }
  } else if (r == "tx" || r == "rx") {
    if (!vm(keys[0])) return fails();
    const auto& page = r == "tx" ? m.vms[keys[0]].tx : m.vms[keys[0]].rx;
    if (!page) return fails();
    word(m.pages[*page].base);
  } else if (r == "rxstate") {
    if (!vm(keys[0])) return fails();
    const auto& rx = s.vms[keys[0]].rx;
    a.values.push_back(bool_value(rx.has_value()));
    word(rx ? rx->length : 0);
    word(rx ? rx->sender : 0);
  } else if (r == "trans" || r == "retrieved") {
    auto it = s.trans.find(keys[0]);
    if (it == s.trans.end() || !it->second) return fails();
    const hvsl::Transaction& t = *it->second;
    if (r == "retrieved") {
      a.values.push_back(bool_value(t.retrieved));
    } else {
      word(t.sender);
      word(t.receiver);
      a.values.push_back(Value{Sort::Set, 0, std::set<Word>(t.pages.begin(), t.pages.end())});
      word(hvsl::encode(s.profile(), t.kind));
    }
  } else if (r == "reg") {
    if (!vm(keys[0]) || keys[1] >= hvsl::kRegCount) return fails();
    word(s.vms[keys[0]].regs[keys[1]]);
  } else if (r == "handles") {
    Value set{Sort::Set, 0, {}};
    for (const auto& [h, t] : s.trans)
      if (!t) set.set.insert(h);
    a.values.push_back(std::move(set));
  } else if (is_nova(s) && r == "cap") {
    if (keys[0] >= s.nova.caps.size()) return fails();
    auto c = cap_value(s, keys[0], keys[1]);
    for (Word w : {Word(c.kind), c.obj, c.perms}) word(w);
  } else if (is_nova(s) && r == "portal") {
    if (keys[0] >= s.nova.portals.size()) return fails();
    word(s.nova.portals[keys[0]].ec);
    word(s.nova.portals[keys[0]].id);
  } else if (is_nova(s) && r == "sm") {
    if (keys[0] >= s.nova.sms.size()) return fails();
    word(s.nova.sms[keys[0]].counter);
    word(s.nova.sms[keys[0]].queue.size());
  } else if (is_nova(s) && r == "sms") {
    word(s.nova.sms.size());
  } else if (is_nova(s) && (r == "ec" || r == "reply" || r == "utcb")) {
    if (!vm(keys[0])) return fails();
    if (r == "ec") {
      word(ec_value(s, VmId(keys[0])));
    } else if (r == "reply") {
      const auto& partner = s.nova.ecs[keys[0]].partner;
      a.values.push_back(bool_value(partner.has_value()));
      word(partner.value_or(0));
    } else {
      const auto& u = m.vms[keys[0]].utcb;
      if (!u) return fails();
      word(m.pages[*u].base);
    }
  } else {
    a.truth = hvsl::Truth::Unknown;
    a.why = fmt::format("unknown resource '{}'", r);
  }
  return a;
}

}  // namespace

std::string fact_loc(const hvsl::AbiFact& f) {
  std::string file = f.loc.file;
  if (auto slash = file.find_last_of('/'); slash != std::string::npos) file = file.substr(slash + 1);
  return fmt::format("{}:{}", file, f.loc.line);
}

std::string fact_label(const hvsl::AbiFact& f) {
  std::string chunks;
  for (const auto& c : f.chunks) chunks += (chunks.empty() ? "" : " &*& ") + show_chunk_pattern(*c);
  return fmt::format("{}: {} implies {}", fact_loc(f), chunks, show_term(f.fact));
}

FactCheck check_facts(const hvsl::Abi& abi, const State& s, FactEval how, const std::set<std::string>* changed) {
  FactCheck out;
  out.matches.assign(abi.facts.size(), 0);
  out.touched.assign(abi.facts.size(), 0);
  const Profile& p = s.profile();
  const Regs& regs = s.vms[s.current].regs;
  hvsl::PageIndex pages(*s.machine);
  for (std::size_t fi = 0; fi < abi.facts.size(); ++fi) {
    const hvsl::AbiFact& f = abi.facts[fi];
    auto broken = [&](bool undecided, std::string why) { out.broken.push_back({fi, undecided, std::move(why)}); };
    // Chunk i (its values bind or must equal), given its keys.
    auto chunk = [&](std::size_t i, Env& env, bool& touched) -> hvsl::Truth {
      const hvsl::Assertion& c = *f.chunks[i];
      if (changed) {  // the resource this chunk names: did the step change it?
        std::vector<Word> keys;
        for (const auto& k : c.args)
          if (auto v = hvsl::eval(k, p, env)) keys.push_back(v->word);
        if (keys.size() == c.args.size()) {
          if ((c.name == "owner" || c.name == "excl") && !keys.empty()) keys[0] = p.page_of(keys[0]);
          if (changed->count(c.name == "handles" ? "handles()" : resource_key(c.name, keys))) touched = true;
        }
      }
      if (how == FactEval::AssertionEval) {
        auto r = hvsl::eval_assertion(f.chunks[i], s, s.current, regs, env);
        if (r.truth == hvsl::Truth::Unknown)
          broken(true, fmt::format("with {}: {} cannot be decided: {}", show_env(env), show_chunk_pattern(c), r.reason));
        if (r.holds()) env = std::move(r.bindings);
        return r.truth;
      }
      std::vector<Word> keys;
      for (const auto& k : c.args) {
        auto v = hvsl::eval(k, p, env);
        if (!v) {
          broken(true, fmt::format("with {}: the key {} of {} cannot be evaluated", show_env(env), show_term(k),
                                   show_chunk_pattern(c)));
          return hvsl::Truth::Unknown;
        }
        keys.push_back(v->word);
      }
      Actual a = actual(c.name, keys, s, pages);
      if (a.truth == hvsl::Truth::Unknown) {
        broken(true, fmt::format("with {}: {} cannot be decided: {}", show_env(env), show_chunk_pattern(c), a.why));
        return a.truth;
      }
      if (a.truth == hvsl::Truth::Fails) return a.truth;
      if (a.values.size() != c.values.size()) {
        broken(true, fmt::format("{}: wrong number of values", show_chunk_pattern(c)));
        return hvsl::Truth::Unknown;
      }
      Env local = env;
      for (std::size_t k = 0; k < c.values.size(); ++k) {
        const Term& v = c.values[k];
        const Value& have = a.values[k];
        if (binds(v, local)) {  // ?x
          local[v->name] = have;
          continue;
        }
        if (v->kind == hvsl::Kind::Insert && v->args[0]->kind == hvsl::Kind::EmptySet && binds(v->args[1], local) &&
            have.sort == Sort::Set) {  // {?x}: a set of one element
          if (have.set.size() != 1) return hvsl::Truth::Fails;
          local[v->args[1]->name] = word_value(*have.set.begin());
          continue;
        }
        auto want = hvsl::eval(v, p, local);  // a bound name: must equal
        if (!want) {
          broken(true, fmt::format("with {}: the value {} of {} cannot be evaluated", show_env(local), show_term(v),
                                   show_chunk_pattern(c)));
          return hvsl::Truth::Unknown;
        }
        if (!(*want == have)) return hvsl::Truth::Fails;
      }
      env = std::move(local);
      return hvsl::Truth::Holds;
    };
    // chunk i, its key position k: a key that is a name not bound yet
    // ranges over what exists
    std::function<void(std::size_t, std::size_t, const Env&, bool)> match = [&](std::size_t i, std::size_t k,
                                                                                const Env& env, bool touched) {
      if (i == f.chunks.size()) {
        ++out.matches[fi];
        if (touched) ++out.touched[fi];
        auto v = hvsl::eval(f.fact, p, env);
        if (!v) broken(true, fmt::format("with {}: {} cannot be evaluated", show_env(env), show_term(f.fact)));
        else if (!v->word) broken(false, fmt::format("with {}: {} is false", show_env(env), show_term(f.fact)));
        return;
      }
      const hvsl::Assertion& c = *f.chunks[i];
      if (k < c.args.size()) {
        if (!binds(c.args[k], env)) return match(i, k + 1, env, touched);
        auto dom = key_domain(c.name, k, s);
        if (!dom) {
          broken(true, fmt::format("{}: cannot enumerate the keys of '{}'", show_chunk_pattern(c), c.name));
          return;
        }
        Env inner = env;
        for (Word w : *dom) {
          inner[c.args[k]->name] = word_value(w);
          match(i, k + 1, inner, touched);
        }
        return;
      }
      Env next = env;
      if (chunk(i, next, touched) == hvsl::Truth::Holds) match(i + 1, 0, next, touched);
    };
    match(0, 0, Env{}, false);
  }
  return out;
}

// ---- check_step ---------------------------------------------------------------------

StepReport check_step(const hvsl::Abi& abi, const State& pre, const CheckOptions& copts) {
  StepReport rep;
  const Profile& p = pre.profile();
  const VmId caller = pre.current;
  const Regs& regs = pre.vms[caller].regs;
  const hvsl::HvcSpec* call = abi.find(abi.call_id(regs[abi.select]));
  if (call) rep.call = call->name;
  hvsl::AssertionEvalOptions opts;
  opts.export_if_bindings = true;
  const Env given = {{"caller", word_value(caller)}};
  const bool facts = copts.facts && !abi.facts.empty();

  auto fail = [&](std::string what) { rep.failures.push_back(std::move(what)); };
  std::string context;
  hvsl::AssertionEvalResult req;
  auto finish = [&](const State* post) {
    rep.status = StepReport::Status::Disagreement;
    rep.details = "state before:\n" + describe(pre);
    if (call)
      rep.details += fmt::format("call {} by vm{}; bindings of the requires: {}\n", call->name, caller,
                                 show_env(req.bindings));
    else
      rep.details += fmt::format("vm{} calls with r{} = {:#x}, which names no call of the spec\n", caller, abi.select,
                                 regs[abi.select]);
    rep.details += context;
    if (post) {
      rep.details += "what changed:\n";
      for (const auto& c : changes(pre, *post)) rep.details += fmt::format("  {}: {} -> {}\n", c.key, c.before, c.after);
      for (const auto& c : vm_changes(pre, *post)) rep.details += "  " + c + "\n";
    }
    return rep;
  };

  // 0. the invariants on the state before: one it breaks is not a state the
  // hypervisor keeps (or, if the generator meant it to be well-formed, the
  // invariant is wrong)
  if (facts) {
    auto fc = check_facts(abi, pre);
    if (!fc.broken.empty()) {
      for (const auto& b : fc.broken)
        if (std::find(rep.pre_broken.begin(), rep.pre_broken.end(), b.fact) == rep.pre_broken.end())
          rep.pre_broken.push_back(b.fact);
      if (copts.well_formed) {
        for (const auto& b : fc.broken)
          fail(fmt::format("a state the generator made well-formed {} the invariant at {}: {}",
                           b.undecided ? "cannot decide" : "breaks", fact_label(abi.facts[b.fact]), b.how));
        context = "(the state before is checked against the invariants)\n";
        return finish(nullptr);
      }
      const auto& b = fc.broken.front();
      rep.status = StepReport::Status::BreaksInvariant;
      rep.reason = fmt::format("{}{}", fact_loc(abi.facts[b.fact]), b.undecided ? " (undecided)" : "");
      return rep;
    }
  }

  // The invariants on the state after: every call keeps them.
  auto check_post = [&](const State& post, const std::string& what) {
    if (!facts) return;
    std::set<std::string> changed;
    for (const auto& c : changes(pre, post)) changed.insert(c.key);
    auto fc = check_facts(abi, post, FactEval::Native, &changed);
    rep.post_matches = fc.matches;
    rep.post_touched = fc.touched;
    for (const auto& b : fc.broken)
      fail(fmt::format("{} does not keep the invariant at {}: on the state after, {}{}", what,
                       fact_label(abi.facts[b.fact]), b.undecided ? "undecided: " : "", b.how));
  };
  // A state the spec says nothing about (no call, outside the footprint):
  // the hypervisor still keeps its invariants.
  auto step_only = [&](StepReport::Status st, std::string reason) {
    rep.status = st;
    rep.reason = std::move(reason);
    if (!facts) return rep;
    hvsl::Interpreter in(pre);
    if (!in.running()) return rep;
    auto info = in.step();
    if (!info.instr || info.instr->op != hvsl::Op::Hvc) return rep;
    std::string what = call ? fmt::format("{} (outside its spec: {})", call->name, rep.reason)
                            : fmt::format("the call with r{} = {:#x} (no call of the spec)", abi.select, regs[abi.select]);
    check_post(in.state(), what);
    if (rep.failures.empty()) return rep;
    return finish(&in.state());
  };

  if (!call)
    return step_only(StepReport::Status::NoCall,
                     fmt::format("r{} = {:#x} names no call of the spec", abi.select, regs[abi.select]));

  // 1. the footprint
  req = hvsl::eval_assertion(call->requires_, pre, caller, regs, given, opts);
  if (req.truth == hvsl::Truth::Fails) return step_only(StepReport::Status::Outside, req.reason);
  if (req.truth == hvsl::Truth::Unknown) return step_only(StepReport::Status::Undecided, req.reason);

  // 2. the outcome
  Env genv = with_registers(req.bindings, regs);
  std::vector<const hvsl::HvcOutcome*> holding;
  for (const auto& o : call->outcomes) {
    std::string missing;
    auto t = truth(o.guard, p, genv, missing);
    if (!t) fail(fmt::format("the guard of outcome '{}' cannot be decided: it needs {}", o.name, missing));
    else if (*t) holding.push_back(&o);
  }
  if (holding.size() != 1) {
    std::string names;
    for (const auto* o : holding) names += (names.empty() ? "" : ", ") + o->name;
    if (holding.empty()) fail(fmt::format("no outcome's guard holds (the spec does not say what {} does here)", call->name));
    else fail(fmt::format("{} outcomes' guards hold: {}", holding.size(), names));
  }
  if (!rep.failures.empty()) {
    if (!holding.empty()) rep.outcome = holding[0]->name;
    return finish(nullptr);
  }
  const hvsl::HvcOutcome& out = *holding[0];
  rep.outcome = out.name;
  context = fmt::format("outcome '{}' (its guard: {})\n", out.name, hvsl::to_string(out.guard));

  // 3. one step of the interpreter
  hvsl::Interpreter in(pre);
  if (!in.running()) {
    fail("harness: the caller is not running");
    return finish(nullptr);
  }
  auto info = in.step();
  if (!info.instr || info.instr->op != hvsl::Op::Hvc) {
    fail("harness: the instruction at the caller's pc is not hvc");
    return finish(nullptr);
  }
  const State& post = in.state();

  auto ens = hvsl::eval_assertion(out.ensures, post, caller, regs, req.bindings, opts);
  if (!ens.holds())
    fail(fmt::format("the ensures of '{}' {} on the state after: {}", out.name,
                     ens.truth == hvsl::Truth::Fails ? "fails" : "cannot be decided", ens.reason));

  const Regs& now = post.vms[caller].regs;
  for (Reg r = 0; r < hvsl::kRegCount; ++r) {
    if (r == hvsl::kPc) continue;
    bool written = std::find(out.writes.begin(), out.writes.end(), r) != out.writes.end();
    if (!written && now[r] != regs[r])
      fail(fmt::format("{} is not in the writes of '{}' but changed: {} -> {}", hvsl::reg_name(r), out.name, regs[r],
                       now[r]));
  }
  if (now[hvsl::kPc] != p.add(regs[hvsl::kPc], 1))
    fail(fmt::format("the caller's pc is {}, not {} + 1", now[hvsl::kPc], regs[hvsl::kPc]));

  std::optional<VmId> target;
  if (out.switch_to.valid()) {
    auto e = hvsl::eval(out.switch_to, p, genv);
    if (!e) {
      fail(fmt::format("'switch to {}' cannot be evaluated", hvsl::to_string(out.switch_to)));
    } else {
      if (e->word < pre.vms.size()) target = VmId(e->word);
      if (post.current != e->word)
        fail(fmt::format("'{}' switches to {} = {}, but the current VM after the call is vm{}", out.name,
                         hvsl::to_string(out.switch_to), e->word, post.current));
    }
  } else if (post.current != caller) {
    fail(fmt::format("'{}' does not switch VMs, but the current VM after the call is vm{}", out.name, post.current));
  }
  // abi nova: who runs is the scheduler's record, not a resource the call
  // takes. When control passes (a `switch to` outcome), the caller stops
  // running (its ec goes from EC_READY to EC_REPLY: it waits for the
  // reply; a spec that takes ec(caller) says what it becomes) and the target
  // resumes (its ec becomes EC_READY); an EC a semaphore up releases from
  // its queue (EC_BLOCKED to EC_READY) is woken, and its r0 is the status of
  // the down it blocked in. Those ec changes, and that r0, are allowed
  // outside the footprint (docs/conformance.md, "NOVA").
  std::set<std::string> scheduling;
  std::set<VmId> woken;
  if (is_nova(pre))
    for (VmId v = 0; v < pre.vms.size(); ++v) {
      Word a = ec_value(pre, v), b = ec_value(post, v);
      if (a == b) continue;
      bool stops = target && *target != caller && v == caller && a == kEcReady && b == kEcReply;
      bool resumes = target && *target != caller && v == *target && b == kEcReady;
      bool wakes = v != caller && a == kEcBlocked && b == kEcReady;
      if (wakes) woken.insert(v);
      if (stops || resumes || wakes) scheduling.insert(resource_key("ec", {v}));
    }
  for (VmId v = 0; v < pre.vms.size(); ++v) {
    if (pre.vms[v].mode != post.vms[v].mode)
      fail(fmt::format("vm{}'s mode changed: {} -> {}", v, hvsl::name(pre.vms[v].mode), hvsl::name(post.vms[v].mode)));
    if (v == caller) continue;
    for (Reg r = 0; r < hvsl::kRegCount; ++r) {
      if (pre.vms[v].regs[r] == post.vms[v].regs[r]) continue;
      if (target && v == *target && v != caller && r <= 2) continue;  // told why it resumes
      if (woken.count(v) && r == 0) continue;                          // its down's status
      fail(fmt::format("vm{}.{} changed ({} -> {}), but vm{} is not the caller{}", v, hvsl::reg_name(r),
                       pre.vms[v].regs[r], post.vms[v].regs[r], v,
                       target && v == *target ? " and only r0..r2 of the VM switched to may change" : ""));
    }
  }

  check_post(post, fmt::format("{} ('{}')", call->name, out.name));

  // 4. the frame
  std::set<std::string> taken, read_only;
  for (const auto& c : req.chunks) (c.read_only ? read_only : taken).insert(chunk_key(c, p));
  if (taken.count("handles()"))
    for (const auto& [h, t] : pre.trans)
      if (!t) {
        taken.insert(resource_key("trans", {h}));
        taken.insert(resource_key("retrieved", {h}));
      }
  if (taken.count("sms()"))  // abi nova: a fresh semaphore (the next one is sms())
    for (Word k = pre.nova.sms.size(); k < std::max(post.nova.sms.size(), pre.nova.sms.size() + 1); ++k) taken.insert(resource_key("sm", {k}));
  if (ens.holds())
    for (const auto& c : ens.chunks) {
      std::string k = chunk_key(c, p);
      if (!taken.count(k))
        fail(fmt::format("the ensures of '{}' gives {}, which the requires does not take{}", out.name, k,
                         read_only.count(k) ? " (it only reads it: [_])" : ""));
    }
  for (const auto& c : changes(pre, post))
    if (!taken.count(c.key) && !scheduling.count(c.key))
      fail(fmt::format("{} changed ({} -> {}), but the footprint of {} does not take it{}", c.key, c.before, c.after,
                       call->name, read_only.count(c.key) ? " (it only reads it: [_])" : ""));

  if (rep.failures.empty()) {
    rep.status = StepReport::Status::Checked;
    return rep;
  }
  return finish(&post);
}

// ---- the generators ---------------------------------------------------------------------

Case Generator::next() {
  switch (abi_) {
    case hvsl::AbiKind::Ffa: break;
    case hvsl::AbiKind::Nova: return generate_nova(rng_);
  }
  return generate_ffa(rng_);
}

// ---- spec files, totals, runs ---------------------------------------------------------

const hvsl::Abi* AbiCache::get(const Profile& p, std::size_t vm_count) {
  auto key = std::make_pair(std::string(p.name), vm_count);
  auto it = abis_.find(key);
  if (it == abis_.end()) {
    hvsl::SourceFile src(name_, text_);
    hvsl::Diagnostics diags;
    auto abi = hvsl::parse_abi(src, p, vm_count, diags, kind_);
    for (const auto& d : diags.all()) errors_ += hvsl::render(d, &src) + "\n";
    it = abis_.emplace(key, std::move(abi)).first;
  }
  return it->second ? &*it->second : nullptr;
}

void Stats::add(const StepReport& r, const Case& c) {
  ++cases;
  if (!c.odd.empty()) ++odd_cases;
  if (c.well_formed) ++well_formed;
  if (c.well_formed && !r.pre_broken.empty()) ++well_formed_broken;
  auto grow = [&](std::size_t n) {
    if (fact_pre_broken.size() < n) fact_pre_broken.resize(n), fact_post_matches.resize(n), fact_post_touched.resize(n);
  };
  for (std::size_t f : r.pre_broken) {
    grow(f + 1);
    ++fact_pre_broken[f];
  }
  if (!r.post_matches.empty()) {
    ++post_states;
    grow(r.post_matches.size());
    for (std::size_t f = 0; f < r.post_matches.size(); ++f) fact_post_matches[f] += r.post_matches[f];
    for (std::size_t f = 0; f < r.post_touched.size(); ++f) fact_post_touched[f] += r.post_touched[f];
  }
  for (const auto& f : c.odd) ++odd_features[f];
  std::string call = r.call.empty() ? "(no call)" : r.call;
  ++per_call[call];
  switch (r.status) {
    case StepReport::Status::NoCall: ++no_call; break;
    case StepReport::Status::Outside:
    case StepReport::Status::Undecided: {
      ++(r.status == StepReport::Status::Outside ? outside : undecided);
      // the reason without the numbers, so that like reasons add up
      std::string why;
      bool digits = false;
      for (char ch : r.reason) {
        if (std::isdigit(static_cast<unsigned char>(ch))) {
          if (!digits) why += 'N';
          digits = true;
        } else {
          why += ch;
          digits = false;
        }
      }
      ++outside_reasons[call][(r.status == StepReport::Status::Undecided ? "undecided: " : "") + why];
      break;
    }
    case StepReport::Status::Checked: ++checked; ++per_outcome[call][r.outcome]; break;
    case StepReport::Status::Disagreement: ++disagreements; break;
    case StepReport::Status::BreaksInvariant:
      ++breaks_invariant;
      ++broken_reasons[r.reason];
      break;
  }
}

Stats run(const std::string& spec_text, std::uint64_t seed, std::uint64_t cases,
          const std::function<bool(const StepReport&, const Case&)>& on_disagreement, const RunOptions& opts) {
  AbiCache abis(spec_text, opts.abi == hvsl::AbiKind::Nova ? "nova.hvsl" : "ffa.hvsl", opts.abi);
  Generator gen(seed, opts.abi);
  Stats st;
  for (std::uint64_t k = 0; k < cases; ++k) {
    Case c = gen.next();
    c.number = k;
    const hvsl::Abi* abi = abis.get(c.state.profile(), c.machine->vms.size());
    if (!abi) {
      StepReport r;
      r.status = StepReport::Status::Disagreement;
      r.failures.push_back("the spec file does not parse:\n" + abis.errors());
      st.add(r, c);
      on_disagreement(r, c);
      return st;
    }
    CheckOptions copts;
    copts.well_formed = opts.well_formed_findings && c.well_formed;
    StepReport r = check_step(*abi, c.state, copts);
    st.add(r, c);
    if (r.status == StepReport::Status::Disagreement && !on_disagreement(r, c)) break;
  }
  // every outcome of the spec, also those never hit; every invariant
  if (const hvsl::Abi* abi = abis.get(Profile::vmsl(), 3)) {
    st.fact_labels.clear();
    for (const auto& f : abi->facts) st.fact_labels.push_back(fact_label(f));
    st.fact_pre_broken.resize(std::max(st.fact_pre_broken.size(), abi->facts.size()));
    st.fact_post_matches.resize(st.fact_pre_broken.size());
    st.fact_post_touched.resize(st.fact_pre_broken.size());
    for (const auto& call : abi->calls) {
      st.per_call.emplace(call.name, 0);
      for (const auto& o : call.outcomes) st.per_outcome[call.name].emplace(o.name, 0);
    }
  }
  return st;
}

}  // namespace conformance
