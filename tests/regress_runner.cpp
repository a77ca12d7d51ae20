// Runs one file-based regression test: executes hvsl on the file and checks
// the expectations written in the file itself (docs/testing.md):
//
//   // RUN: run --max-steps 100     hvsl arguments; the file path is appended (default: run),
//                                  or put where "%s" stands (a spec file given with --abi)
//   // EXIT: 2                       expected exit code (default 0)
//   // EXPECT: text                  some output line contains text (in this order)
//   // EXPECT-NOT: text              no output line contains text
//   ... //~ error: text              a diagnostic "FILE:<this line>:col: error: ...text..."
//
// When a file has //~ markers, every error line in the output must match one.
// Usage: regress_runner HVSL FILE
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

namespace {

struct Marker {
  int line;
  std::string text;  // "error: ..." or "warning: ..."
  bool seen = false;
};

struct Expectations {
  std::string args = "run";
  int exit_code = 0;
  std::vector<std::string> expect, expect_not;
  std::vector<Marker> markers;
};

std::string trim(std::string s) {
  auto b = s.find_first_not_of(" \t\r");
  auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

Expectations read_expectations(const std::string& path) {
  Expectations ex;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto directive = [&](const std::string& key, std::string& value) {
      auto p = line.find("// " + key + ":");
      if (p == std::string::npos) return false;
      value = trim(line.substr(p + key.size() + 4));
      return true;
    };
    std::string v;
    if (directive("RUN", v)) ex.args = v;
    else if (directive("EXIT", v)) ex.exit_code = std::stoi(v);
    else if (directive("EXPECT-NOT", v)) ex.expect_not.push_back(v);
    else if (directive("EXPECT", v)) ex.expect.push_back(v);
    auto m = line.find("//~");
    if (m != std::string::npos) ex.markers.push_back({n, trim(line.substr(m + 3))});
  }
  return ex;
}

int run(const std::string& cmd, std::string& output) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: regress_runner HVSL FILE\n";
    return 2;
  }
  std::string hvsl = argv[1], file = argv[2];
  Expectations ex = read_expectations(file);
  // `timeout` turns a hang into a failure instead of a stuck test run.
  std::string args = ex.args;
  if (auto at = args.find("%s"); at != std::string::npos) args.replace(at, 2, "'" + file + "'");
  else args += " '" + file + "'";
  std::string cmd = "timeout 20 '" + hvsl + "' " + args + " 2>&1";
  std::string output;
  int code = run(cmd, output);
  std::vector<std::string> failures;
  if (code != ex.exit_code)
    failures.push_back("exit code " + std::to_string(code) + ", expected " + std::to_string(ex.exit_code) +
                       (code == 124 ? " (timed out)" : ""));
  auto lines = lines_of(output);
  std::size_t from = 0;
  for (const auto& e : ex.expect) {
    std::size_t i = from;
    while (i < lines.size() && lines[i].find(e) == std::string::npos) ++i;
    if (i == lines.size()) failures.push_back("missing (in order): " + e);
    else from = i + 1;
  }
  for (const auto& e : ex.expect_not)
    for (const auto& l : lines)
      if (l.find(e) != std::string::npos) failures.push_back("unexpected line: " + l);
  if (!ex.markers.empty()) {
    for (const auto& l : lines) {
      bool is_diag = l.rfind(file + ":", 0) == 0 &&
                     (l.find(": error: ") != std::string::npos || l.find(": warning: ") != std::string::npos);
      if (!is_diag) continue;
      bool matched = false;
      for (auto& m : ex.markers) {
        std::string prefix = file + ":" + std::to_string(m.line) + ":";
        if (l.rfind(prefix, 0) == 0 && l.find(m.text) != std::string::npos) matched = m.seen = true;
      }
      if (!matched && l.find(": error: ") != std::string::npos) failures.push_back("unexpected diagnostic: " + l);
    }
    for (const auto& m : ex.markers)
      if (!m.seen) failures.push_back("line " + std::to_string(m.line) + ": expected diagnostic '" + m.text + "'");
  }
  if (failures.empty()) return 0;
  std::cout << "FAIL " << file << "\n  command: " << cmd << "\n";
  for (const auto& f : failures) std::cout << "  " << f << "\n";
  std::cout << "---- output ----\n" << output << "----------------\n";
  return 1;
}
