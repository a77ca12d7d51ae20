#include "tools/verify_report.h"

#include <chrono>

#include <fmt/format.h>

#include "frontend/diagnostics.h"
#include "logic/report.h"

namespace hvsl {
namespace {

double ms(std::chrono::nanoseconds t) { return std::chrono::duration<double, std::milli>(t).count(); }

std::string path_text(const std::vector<PathStep>& path) {
  std::string out;
  for (const auto& s : path) {
    std::string where = s.loc.valid() ? fmt::format("line {}", s.loc.line) : fmt::format("{}", s.pc);
    out += fmt::format("    {:<7} {}\n", where, s.text);
  }
  return out;
}

std::string cex_text(const Counterexample& c, const Machine& m) {
  std::string out = "  counterexample";
  if (!c.replayed) out += " (not replayed)";
  else if (c.confirmed) out += " (confirmed by the interpreter: " + c.replay_note + ")";
  else out += " (NOT confirmed by the interpreter: " + c.replay_note + ")";
  out += ":\n";
  std::string regs;
  for (const auto& [r, v] : c.registers) regs += fmt::format(" {}={}", r, v);
  out += fmt::format("    registers at {}:", describe_addr(m, c.start_pc)) + (regs.empty() ? std::string(" all 0") : regs) +
         "\n";
  // Consecutive words with the same value print as one range (a whole
  // page of zeros is one line).
  auto& mem = c.memory;
  for (std::size_t i = 0; i < mem.size();) {
    std::size_t j = i + 1;
    while (j < mem.size() && mem[j].first == mem[j - 1].first + 1 && mem[j].second == mem[i].second) ++j;
    if (j - i < 3) {
      for (; i < j; ++i) out += fmt::format("    mem[{}] = {}\n", describe_addr(m, mem[i].first), mem[i].second);
      continue;
    }
    out += fmt::format("    mem[{}] .. mem[{}] = {} ({} words)\n", describe_addr(m, mem[i].first),
                       describe_addr(m, mem[j - 1].first), mem[i].second, j - i);
    i = j;
  }
  for (const auto& [n, v] : c.logical) out += fmt::format("    {} = {}\n", n, v);
  return out;
}

}  // namespace

std::string render_text(const std::vector<BlockResult>& blocks, const Machine& m, const SourceFile& src, bool stats,
                        const SourceFile* abi) {
  std::string out;
  for (const auto& b : blocks) {
    for (const auto& f : b.failures) {
      Diagnostic d{f.inconclusive ? Severity::Warning : Severity::Error, f.loc, fmt::format("[{}]: {}", f.id, f.message),
                   {}};
      if (f.related.valid()) add_note(d, f.related, f.related_note.empty() ? "related location" : f.related_note);
      out += render(d, std::vector<const SourceFile*>{&src, abi});
      if (!f.path.empty()) out += "  path:\n" + path_text(f.path);
      if (f.cex) out += cex_text(*f.cex, m);
    }
    out += fmt::format("{}: {}: {} ({} failure{}, {} path{}, {} quer{}", src.name(), b.vm, name(b.verdict),
                       b.failures.size(), b.failures.size() == 1 ? "" : "s", b.paths, b.paths == 1 ? "" : "s",
                       b.queries, b.queries == 1 ? "y" : "ies");
    if (stats) out += fmt::format(", {:.1f} ms, {:.1f} ms in Z3", ms(b.total_time), ms(b.solver_time));
    out += ")";
    if (b.verdict == Verdict::Verified) out += ": " + b.claim;
    out += "\n";
    for (const auto& n : b.notes) out += "  note: " + n + "\n";
  }
  return out;
}

nlohmann::json render_json(const std::vector<BlockResult>& blocks, const std::string& file, bool stats) {
  using nlohmann::json;
  auto loc = [](const SourceLoc& l) {
    if (!l.valid()) return json(nullptr);
    return json{{"file", l.file}, {"line", l.line}, {"col", l.col}};
  };
  json out = json::array();
  for (const auto& b : blocks) {
    json fs = json::array();
    for (const auto& f : b.failures) {
      json path = json::array();
      for (const auto& s : f.path) path.push_back({{"pc", s.pc}, {"text", s.text}, {"loc", loc(s.loc)}, {"ghost", s.ghost}});
      json jf = {{"id", f.id}, {"message", f.message}, {"loc", loc(f.loc)}, {"related", loc(f.related)},
                 {"inconclusive", f.inconclusive}, {"path", path}};
      if (f.cex) {
        json regs = json::object(), mem = json::array(), logical = json::object();
        for (const auto& [r, v] : f.cex->registers) regs[r] = v;
        for (const auto& [a, v] : f.cex->memory) mem.push_back({{"addr", a}, {"value", v}});
        for (const auto& [n, v] : f.cex->logical) logical[n] = v;
        jf["counterexample"] = {{"start_pc", f.cex->start_pc}, {"registers", regs}, {"memory", mem}, {"values", logical},
                                {"replayed", f.cex->replayed}, {"confirmed", f.cex->confirmed},
                                {"replay_note", f.cex->replay_note}};
      }
      fs.push_back(jf);
    }
    json jb = {{"file", file}, {"vm", b.vm}, {"verdict", std::string(name(b.verdict))}, {"claim", b.claim}, {"failures", fs},
               {"paths", b.paths}, {"queries", b.queries}, {"notes", b.notes}};
    if (stats) {
      jb["time_ms"] = ms(b.total_time);
      jb["solver_time_ms"] = ms(b.solver_time);
    }
    out.push_back(jb);
  }
  return out;
}

}  // namespace hvsl
