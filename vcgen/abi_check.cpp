#include "vcgen/abi_check.h"

#include <fmt/format.h>

namespace hvsl {
namespace {

// "r1 = 3, caller = 0" from a model, for the variables of `t`.
std::string show_model(const Env& model, const std::vector<Term>& terms) {
  std::map<std::string, Sort> vars;
  for (const auto& t : terms) collect_vars(t, vars);
  std::string out;
  for (const auto& [name, sort] : vars) {
    auto it = model.find(name);
    if (it == model.end()) continue;
    if (!out.empty()) out += ", ";
    const Value& v = it->second;
    if (v.sort == Sort::Bool) out += fmt::format("{} = {}", name, v.word ? "true" : "false");
    else if (v.sort == Sort::Word) out += fmt::format("{} = {}", name, v.word);
    else out += fmt::format("{} = {{{}}}", name, fmt::join(v.set, ", "));
  }
  return out.empty() ? "in any state" : out;
}

}  // namespace

std::vector<AbiProblem> check_abi(const Abi& abi, const Profile& profile, std::size_t vm_count, smt::Solver& solver) {
  std::vector<AbiProblem> out;
  TermBuilder tb(profile);
  Term caller_ok = tb.lt(tb.var("caller", Sort::Word), tb.word(Word(vm_count)));
  for (const auto& call : abi.calls) {
    std::vector<Term> facts = {call.facts, caller_ok};
    // Overlaps: two guards that hold together.
    for (std::size_t i = 0; i < call.outcomes.size(); ++i)
      for (std::size_t j = i + 1; j < call.outcomes.size(); ++j) {
        const auto& a = call.outcomes[i];
        const auto& b = call.outcomes[j];
        std::vector<Term> both = facts;
        both.push_back(a.guard);
        both.push_back(b.guard);
        auto r = solver.check_sat(both, fmt::format("abi-{}-{}-{}", call.name, a.name, b.name));
        if (r.verdict == smt::Verdict::Invalid) continue;
        AbiProblem p;
        p.loc = b.guard_loc;
        p.inconclusive = r.verdict == smt::Verdict::Unknown;
        p.message = p.inconclusive
                        ? fmt::format("hypercall {}: could not decide whether outcomes '{}' and '{}' overlap ({})",
                                      call.name, a.name, b.name, r.reason)
                        : fmt::format("hypercall {}: outcomes '{}' and '{}' overlap: both hold when {}", call.name,
                                      a.name, b.name, show_model(r.model, both));
        p.notes.push_back({a.guard_loc, fmt::format("the guard of '{}' is here", a.name)});
        out.push_back(std::move(p));
      }
    // Coverage: some guard holds in every state.
    Term any = tb.boolean(false);
    for (const auto& o : call.outcomes) any = tb.or_(any, o.guard);
    auto r = solver.check_valid(facts, any, fmt::format("abi-{}-cover", call.name));
    if (r.verdict == smt::Verdict::Valid) continue;
    AbiProblem p;
    p.loc = call.loc;
    p.inconclusive = r.verdict == smt::Verdict::Unknown;
    std::vector<Term> shown = facts;
    for (const auto& o : call.outcomes) shown.push_back(o.guard);
    p.message = p.inconclusive
                    ? fmt::format("hypercall {}: could not decide whether its outcomes cover every case ({})",
                                  call.name, r.reason)
                    : fmt::format("hypercall {}: a case no outcome covers: {} (add an outcome for it, or end with "
                                  "'outcome ... otherwise')",
                                  call.name, show_model(r.model, shown));
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace hvsl
