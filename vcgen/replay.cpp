#include "vcgen/replay.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "logic/assertion_eval.h"
#include "logic/encoding.h"
#include "logic/interpreter.h"
#include "logic/nova_calls.h"

namespace hvsl {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Evaluates a term in the model; variables the model leaves open are 0.
std::optional<Value> value_in(const Term& t, const Profile& p, const Env& model) {
  std::map<std::string, Sort> vars;
  collect_vars(t, vars);
  Env env = model;
  for (const auto& [name, sort] : vars)
    if (!env.count(name)) env[name] = Value{sort, 0, {}};
  return eval(t, p, env);
}

// FF-A: an attacker that retrieves every valid handle (so it may write
// pages shared or lent to it), writes the words the model says unknown VMs
// changed, and yields, forever.
std::vector<Instr> ffa_attacker(const Machine& m, const VmDecl& vm, const std::vector<std::pair<Word, Word>>& writes) {
  const Profile& p = *m.profile;
  std::vector<Instr> prog;
  auto mov = [&](Reg r, Word w) { prog.push_back(Instr{Op::MovImm, r, 0, w}); };
  for (Word h : m.handles) {
    mov(0, encode(p, Hypercall::Retrieve));
    mov(1, h);
    prog.push_back(Instr{Op::Hvc});
  }
  for (const auto& [addr, value] : writes) {
    mov(1, addr);
    mov(2, value);
    prog.push_back(Instr{Op::Str, 2, 1});
  }
  Word top = vm.code->base + prog.size();
  mov(0, encode(p, Hypercall::Yield));
  prog.push_back(Instr{Op::Hvc});
  mov(3, top);
  prog.push_back(Instr{Op::Br, 3});
  return prog;
}

// abi nova: a called unknown PD's attacker writes the words the model gives
// the caller's UTCB into its own UTCB at the same offsets, writes the rest
// where they are, and replies with as many words, forever.
std::vector<Instr> nova_attacker(const Machine& m, const VmDecl& vm, const std::vector<std::pair<Word, Word>>& writes) {
  const Profile& p = *m.profile;
  std::vector<Instr> prog;
  auto mov = [&](Reg r, Word w) { prog.push_back(Instr{Op::MovImm, r, 0, w}); };
  std::set<Word> utcbs;
  for (const auto& d : m.vms)
    if (d.utcb) utcbs.insert(m.pages[*d.utcb].base);
  Word words = 0;
  for (const auto& [addr, value] : writes) {
    Word at = addr;
    if (utcbs.count(p.page_of(addr)) && vm.utcb) {
      Word offset = addr - p.page_of(addr);
      if (offset >= kUtcbWords) continue;  // no reply reaches it
      at = m.pages[*vm.utcb].base + offset;
      words = std::max(words, offset + 1);
    }
    mov(1, at);
    mov(2, value);
    prog.push_back(Instr{Op::Str, 2, 1});
  }
  mov(0, Word(NovaCall::IpcReply));
  mov(1, words == 0 ? 0 : words - 1);
  prog.push_back(Instr{Op::Hvc});
  mov(3, vm.code->base);  // the next call resumes here
  prog.push_back(Instr{Op::Br, 3});
  return prog;
}

// The machine with every unknown VM's code replaced by an attacker that
// makes the model's choice happen (one that does not fit its page keeps
// the declared code).
Machine with_attacker(const Machine& m, const std::vector<std::pair<Word, Word>>& writes) {
  Machine a = m;
  for (auto& vm : a.vms) {
    if (vm.known || !vm.code) continue;
    std::vector<Instr> code = m.abi == AbiKind::Nova ? nova_attacker(m, vm, writes) : ffa_attacker(m, vm, writes);
    if (code.size() > m.profile->page_size) continue;
    vm.code->instrs = std::move(code);
    vm.code->locs.assign(vm.code->instrs.size(), vm.code->loc);
  }
  a.encode_programs();
  return a;
}

}  // namespace

Counterexample make_counterexample(const Machine& m, VmId vm, const RunStart& start, const SymState& at,
                                   const Env& model, const Term& goal, const std::string& id, bool replay) {
  const Profile& p = *m.profile;
  Counterexample c;
  c.start_pc = start.pc;
  auto word = [&](const Term& t) -> Word {
    auto v = value_in(t, p, model);
    return v ? v->word : 0;
  };
  std::array<Word, kRegCount> regs{};
  for (Reg r = 0; r < kRegCount; ++r) {
    if (r == kPc || !start.regs[r].valid()) continue;
    regs[r] = word(start.regs[r]);
    if (regs[r] != 0) c.registers.emplace_back(reg_name(r), regs[r]);
  }
  for (const auto& [a, v] : start.memory) c.memory.emplace_back(word(a), word(v));
  std::sort(c.memory.begin(), c.memory.end());
  for (const auto& [name, value] : model) {
    if (name.rfind(m.vms[vm].name + ".", 0) == 0) continue;  // registers, shown above
    if (value.sort == Sort::Set) {
      std::string s;
      for (Word w : value.set) s += (s.empty() ? "" : ", ") + fmt::format("{}", w);
      c.logical.emplace_back(name, "{" + s + "}");
    } else {
      c.logical.emplace_back(name, value.sort == Sort::Bool ? (value.word ? "true" : "false")
                                                            : fmt::format("{}", value.word));
    }
  }
  if (!replay) return c;

  // The concrete start: the declared machine, with this VM current and
  // holding the model's registers and memory.
  std::vector<std::pair<Word, Word>> writes;
  for (const auto& [addr, var] : at.adversary_writes)
    if (auto it = model.find(var); it != model.end()) writes.emplace_back(addr, it->second.word);
  const Machine attacked = with_attacker(m, writes);
  State st = initial_state(attacked);
  st.current = vm;
  nova_enter_as_called(st, vm, 0);  // a local EC's path starts at a call (from vm0, as in vcgen)
  for (const Chunk& k : start.kernel) {  // semaphore counters and capabilities from the model
    std::vector<Word> keys, values;
    for (const auto& t : k.keys) keys.push_back(word(t));
    for (const auto& t : k.values) values.push_back(word(t));
    nova_install(st, k.name, keys, values);
  }
  for (Reg r = 0; r < kRegCount; ++r)
    if (r != kPc) st.vms[vm].regs[r] = regs[r];
  st.vms[vm].pc() = start.pc;
  PageIndex pages(m);
  for (const auto& [a, v] : c.memory)
    if (auto pi = pages.find(a)) st.word(*pi, a % p.page_size) = v;
  Interpreter interp(std::move(st));
  c.replayed = true;

  std::size_t n = 0;
  for (const auto& step : at.trace) {
    if (step.ghost) continue;
    if (!interp.running()) {
      c.replay_note = fmt::format("the interpreter stopped ({}) before step {}",
                                  name(interp.state().vms[vm].mode), n + 1);
      return c;
    }
    // Control passed to another VM: run the machine until it comes back.
    for (int k = 0; k < 100000 && interp.running() && interp.state().current != vm; ++k) interp.step();
    if (interp.state().current != vm) {
      c.replay_note = interp.running() ? "control passed to another VM and did not come back"
                                       : fmt::format("control passed to {}, which stopped ({})",
                                                     m.vms[interp.state().current].name,
                                                     name(interp.state().vms[interp.state().current].mode));
      return c;
    }
    Word pc = interp.state().vms[vm].pc();
    if (pc != step.pc) {
      c.replay_note = fmt::format("the interpreter went to {} at step {}, the symbolic path to {}", pc, n + 1, step.pc);
      return c;
    }
    interp.step();
    ++n;
  }
  const VmState& fin = interp.state().vms[vm];
  auto mode_is = [&](Mode want) {
    if (fin.mode == want) {
      c.confirmed = true;
      c.replay_note = fmt::format("the interpreter reaches {} after {} step{}", name(want), n, n == 1 ? "" : "s");
    } else {
      c.replay_note = fmt::format("the interpreter ends in {}, not {}", name(fin.mode), name(want));
    }
  };
  if (ends_with(id, ".fault")) return mode_is(Mode::FailPageFault), c;
  if (id == "fetch.modified") {
    if (fin.mode == Mode::Fail) return mode_is(Mode::Fail), c;
    // Otherwise confirmed when the word at pc is no longer the program's instruction
    // (the fetch then fails, or runs another instruction).
    const auto& code = *m.vms[vm].code;
    Word pc = fin.pc();
    auto pi = pages.find(pc);
    if (pc >= code.base && pc - code.base < code.instrs.size() && pi &&
        interp.state().word(*pi, pc % p.page_size) != *m.encoding.find(code.instrs[pc - code.base])) {
      c.confirmed = true;
      c.replay_note = fmt::format("after {} step{} the interpreter's word at {} is no longer '{}'", n,
                                  n == 1 ? "" : "s", pc, to_string(code.instrs[pc - code.base]));
    } else {
      c.replay_note = fmt::format("the interpreter ends in {} with the instruction at {} intact", name(fin.mode), pc);
    }
    return c;
  }
  if (id == "fetch.access" || id == "fail.reached") return mode_is(Mode::Fail), c;
  if (id == "never_terminates.halts") return mode_is(Mode::Halt), c;
  if (id == "fetch.outside") {
    Word pc = fin.pc();
    if (interp.running()) interp.step();
    if (interp.state().vms[vm].mode == Mode::Fail) {
      c.confirmed = true;
      c.replay_note = fmt::format("the interpreter jumps to {} and fails to fetch there (FailI)", pc);
    } else {
      c.replay_note = fmt::format("the interpreter jumps to {} and runs the word there as an instruction", pc);
    }
    return c;
  }
  if (ends_with(id, "witness")) {
    c.replay_note = fmt::format("the interpreter follows the path ({} step{}); the failure is in the spec (a value "
                                "nothing determines), which running cannot show",
                                n, n == 1 ? "" : "s");
    return c;
  }
  if (id == "path.too_long" || id == "branch.target" || id == "hvc.no_spec" || id == "requires.unsatisfiable") {
    c.replay_note = fmt::format("the interpreter follows the path ({} step{}) to this point", n, n == 1 ? "" : "s");
    c.confirmed = true;
    return c;
  }
  if (ends_with(id, "permission")) {
    c.replay_note = fmt::format(
        "the interpreter follows the path ({} step{}); the failure is about ownership, which the concrete machine "
        "does not track, so it is not confirmed by running",
        n, n == 1 ? "" : "s");
    return c;
  }
  // A condition that may be false: the concrete state must agree with the
  // symbolic one where the condition looks (every register and word whose
  // value mentions one of its variables; all of them if there is none), and
  // the condition must be false in it. Values the condition does not read
  // (registers a switch to another VM overwrote) may differ.
  std::map<std::string, Sort> goal_vars;
  if (goal.valid()) collect_vars(goal, goal_vars);
  auto relevant = [&](const Term& t) {
    if (goal_vars.empty()) return true;
    std::map<std::string, Sort> vars;
    collect_vars(t, vars);
    for (const auto& [name, sort] : vars)
      if (goal_vars.count(name)) return true;
    return false;
  };
  // A failure at an hvc that switches to another VM (handing over a
  // protocol) is checked before the caller resumes: the registers the call
  // writes hold what the caller will find when it resumes, which the
  // concrete run has not reached; they are not compared.
  bool at_switch = !at.trace.empty() && at.trace.back().text.find("(switch to ") != std::string::npos;
  for (Reg r = 0; r < kRegCount; ++r) {
    if (r == kPc || !at.regs[r].valid() || !relevant(at.regs[r]) || (at_switch && goal_vars.empty())) continue;
    Word expect = word(at.regs[r]);
    if (fin.regs[r] != expect) {
      c.replay_note = fmt::format("after {} steps the interpreter has {} = {}, the symbolic state {}", n,
                                  reg_name(r), fin.regs[r], expect);
      return c;
    }
  }
  // ... and so must the memory it holds.
  if (const Heap::Bucket* mem = at.heap.bucket("mem"))
    for (const auto& [keys, chunk] : *mem) {
      if (!is_lit(keys[0]) || !relevant(chunk.values[0])) continue;
      Word a = keys[0]->value;
      auto pi = pages.find(a);
      if (!pi) continue;
      Word have = interp.state().word(*pi, a % p.page_size), expect = word(chunk.values[0]);
      if (have != expect) {
        c.replay_note = fmt::format("after {} steps the interpreter has mem[{}] = {}, the symbolic state {}", n, a,
                                    have, expect);
        return c;
      }
    }
  // ... and so must every other chunk whose value the condition reads
  // (a semaphore's counter, a mailbox's state): the machine's own state,
  // which the replay does not set from the model, must have led there.
  TermBuilder tb(p);
  auto literal = [&](const Value& v) {
    if (v.sort == Sort::Bool) return tb.boolean(v.word != 0);
    if (v.sort == Sort::Word) return tb.word(v.word);
    std::vector<Term> elems;
    for (Word w : v.set) elems.push_back(tb.word(w));
    return tb.set_of(elems);
  };
  for (const Chunk* ch : at.heap.all()) {
    const Chunk& chunk = *ch;
    const std::string& name = chunk.name;
    const std::vector<Term>& keys = chunk.keys;
    if (name == "mem" || goal_vars.empty()) continue;
    {
      bool reads = std::any_of(chunk.values.begin(), chunk.values.end(), relevant);
      if (!reads) continue;
      auto want = std::make_shared<Assertion>();
      want->kind = Assertion::Kind::Chunk;
      want->name = name;
      want->read_only = true;
      bool known = true;
      for (const auto& k : keys)
        if (auto v = value_in(k, p, model)) want->args.push_back(literal(*v));
        else known = false;
      for (const auto& val : chunk.values)
        if (auto v = value_in(val, p, model)) want->values.push_back(literal(*v));
        else known = false;
      if (!known) continue;
      if (eval_assertion(want, interp.state(), vm, interp.state().vms[vm].regs).truth == Truth::Fails) {
        std::vector<std::string> vals;
        for (const auto& t : want->values) vals.push_back(to_string(t));
        std::vector<std::string> ks;
        for (const auto& t : want->args) ks.push_back(to_string(t));
        c.replay_note = fmt::format("after {} steps the interpreter's {}({}) is not ({}) as in the symbolic state", n,
                                    name, fmt::join(ks, ", "), fmt::join(vals, ", "));
        return c;
      }
    }
  }
  if (goal.valid()) {
    auto v = value_in(goal, p, model);
    if (!v || v->word) {
      c.replay_note = "the failed condition holds in the replayed state";
      return c;
    }
  }
  c.confirmed = true;
  c.replay_note = fmt::format("the interpreter follows the path ({} step{}) to a state where the condition is false",
                              n, n == 1 ? "" : "s");
  if (!writes.empty()) {
    std::string list;
    for (const auto& [a, v] : writes) list += fmt::format("{}mem[{}] := {}", list.empty() ? "" : ", ", a, v);
    c.replay_note += m.abi == AbiKind::Nova
                         ? fmt::format(", the unknown PDs running a program that replies so that {}", list)
                         : fmt::format(", the unknown VMs running a program that retrieves every handle and writes {}",
                                       list);
  }
  return c;
}

}  // namespace hvsl
