// Replays files through the same checks as a parser fuzz target, with
// whatever compiler built the project (no libFuzzer needed), so the
// committed corpus keeps guarding against regressions.
//
//   replay_corpus ENTRY DIR_OR_FILE...      ENTRY: parse_machine or parse_abi
//
// Every regular file under each argument (recursively) is one input. Exits
// 0 if all pass; a failing input aborts after naming the file on stderr.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/parse_check.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s parse_machine|parse_abi DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  hvsl::fuzz::Check check = hvsl::fuzz::check_by_name(argv[1]);
  if (!check) {
    std::fprintf(stderr, "replay_corpus: unknown entry point %s\n", argv[1]);
    return 2;
  }
  std::vector<fs::path> files;
  for (int i = 2; i < argc; ++i) {
    fs::path p = argv[i];
    if (fs::is_directory(p)) {
      for (const auto& e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
    } else if (fs::is_regular_file(p)) {
      files.push_back(p);
    } else {
      std::fprintf(stderr, "replay_corpus: %s: not a file or directory\n", argv[i]);
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "replay_corpus: no inputs\n");
    return 2;
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      std::fprintf(stderr, "replay_corpus: cannot read %s\n", f.c_str());
      return 2;
    }
    std::fprintf(stderr, "%s\n", f.c_str());  // shown by ctest only when a check aborts
    check(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  }
  std::printf("replay_corpus: %s: %zu inputs passed\n", argv[1], files.size());
  return 0;
}
