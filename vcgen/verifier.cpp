#include "vcgen/verifier.h"

#include <chrono>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "vcgen/adversary.h"
#include "vcgen/claims.h"
#include "vcgen/ftlr.h"
#include "vcgen/symexec.h"

namespace hvsl {

std::string_view name(Verdict v) {
  switch (v) {
    case Verdict::Verified: return "verified";
    case Verdict::Failed: return "failed";
    case Verdict::Inconclusive: return "inconclusive";
  }
  return "?";
}

Verdict verdict_of(const std::vector<Failure>& failures) {
  bool failed = false, undecided = false;
  for (const auto& f : failures) (f.inconclusive ? undecided : failed) = true;
  return failed ? Verdict::Failed : undecided ? Verdict::Inconclusive : Verdict::Verified;
}

BlockResult verify_vm(const Machine& m, VmId vm, const HvcSpecTable& hvc, const VerifyOptions& opts,
                      smt::Solver& solver) {
  auto t0 = std::chrono::steady_clock::now();
  auto z0 = solver.stats().time;
  BlockResult r;
  r.vm = m.vms[vm].name;
  const Postcondition& post = *m.vms[vm].spec.ensures;
  bool trivial = !post.assertion || (post.assertion->kind == Assertion::Kind::Pure && is_true(post.assertion->cond));
  r.claim = post.never_terminates ? "never terminates (never halts, never faults)"
            : trivial             ? "never faults (halting allowed)"
                                  : "ends only by halting, with its postcondition";
  r.loc = m.vms[vm].loc;
  Executor(m, vm, hvc, opts, solver, r).run();
  r.verdict = verdict_of(r.failures);
  r.total_time = std::chrono::steady_clock::now() - t0;
  r.solver_time = solver.stats().time - z0;
  return r;
}

std::vector<BlockResult> verify_machine(const Machine& m, const HvcSpecTable& hvc, const VerifyOptions& opts,
                                        smt::Stats* stats) {
  smt::Options smt_opts = opts.smt;
  smt_opts.smtlib = smt_opts.smtlib && opts.keep_vcs;  // the query text only when someone reads it
  smt::Solver solver(*m.profile, smt_opts);
  std::vector<BlockResult> out;
  std::vector<VmId> verified;  // every VM with a spec, --only or not: they share the machine
  for (VmId v = 0; v < m.vms.size(); ++v)
    if (m.vms[v].known && m.vms[v].code && m.vms[v].spec.ensures) verified.push_back(v);
  auto problems = check_claims(m, verified);
  for (auto& p : check_footprints(m, adversary_of(m), verified)) problems.push_back(std::move(p));
  for (VmId v : verified) {
    const VmDecl& d = m.vms[v];
    if (!opts.only.empty() && std::find(opts.only.begin(), opts.only.end(), d.name) == opts.only.end()) continue;
    BlockResult r = verify_vm(m, v, hvc, opts, solver);
    for (auto& p : problems)
      if (p.vm == v) {
        r.failures.insert(r.failures.begin(), p.failure);
        if (p.failure.inconclusive && r.verdict == Verdict::Verified) r.verdict = Verdict::Inconclusive;
        if (!p.failure.inconclusive) r.verdict = Verdict::Failed;
      }
    out.push_back(std::move(r));
  }
  // Robust safety: every unknown VM's steps keep to the reach that
  // verifying the known VMs assumed (only if some known VM was verified).
  std::size_t known_blocks = out.size();
  // Makes every known VM's verified block inconclusive: what it rests on is
  // not established.
  auto unprove_known = [&](const std::string& id, const std::string& message) {
    for (std::size_t i = 0; i < known_blocks; ++i) {
      BlockResult& r = out[i];
      if (r.verdict != Verdict::Verified) continue;
      Failure f;
      f.id = id;
      f.message = message;
      f.loc = r.loc;
      f.inconclusive = true;
      r.failures.push_back(std::move(f));
      r.verdict = Verdict::Inconclusive;
    }
  };
  std::vector<std::string> unproved;  // unknown VMs whose check did not pass
  if (!verified.empty())
    for (VmId v = 0; v < m.vms.size(); ++v) {
      if (m.vms[v].known) continue;
      if (!opts.only.empty() && std::find(opts.only.begin(), opts.only.end(), m.vms[v].name) == opts.only.end())
        continue;
      out.push_back(check_unknown_steps(m, v, hvc, opts, solver));
      if (out.back().verdict != Verdict::Verified) unproved.push_back(m.vms[v].name);
    }
  // The known VMs' verdicts rest on that model: where it is not
  // established, none of them is proved.
  if (!unproved.empty())
    unprove_known("robust.unproved", fmt::format("this verdict assumes what unknown VMs can change, and the check "
                                                 "of {} did not establish it (see its block), so nothing is proved",
                                                 fmt::join(unproved, ", ")));
  if (stats) *stats = solver.stats();
  return out;
}

}  // namespace hvsl
