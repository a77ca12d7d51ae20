#include "frontend/source.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hvsl {

SourceFile::SourceFile(std::string name, std::string text) : name_(std::move(name)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (std::size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
}

SourceLoc SourceFile::loc(std::size_t offset, std::size_t length) const {
  offset = std::min(offset, text_.size());
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  std::size_t line = std::size_t(it - line_starts_.begin());
  std::size_t col = offset - line_starts_[line - 1] + 1;
  return SourceLoc{name_, std::uint32_t(line), std::uint32_t(col), std::uint32_t(std::max<std::size_t>(length, 1))};
}

std::string_view SourceFile::line(std::uint32_t line) const {
  if (line == 0 || line > line_starts_.size()) return {};
  std::size_t begin = line_starts_[line - 1];
  std::size_t end = line < line_starts_.size() ? line_starts_[line] - 1 : text_.size();
  std::string_view s(text_.data() + begin, end - begin);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

std::unique_ptr<SourceFile> read_source_file(const std::string& path, std::string& error) {
  // No source is this large; without a bound, /dev/zero would be read forever.
  constexpr std::size_t kMaxBytes = std::size_t(64) << 20;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    error = std::strerror(errno);
    return nullptr;
  }
  if (S_ISDIR(st.st_mode)) {
    error = "is a directory";
    return nullptr;
  }
  // read(2) rather than a stream, so that a read error is reported as one
  // and not taken for the end of the file.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = std::strerror(errno);
    return nullptr;
  }
  std::string text, problem;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) problem = std::strerror(errno);
    else if (text.size() + std::size_t(n) > kMaxBytes) problem = "larger than 64 MiB; is it an hvsl file?";
    if (n <= 0 || !problem.empty()) break;
    text.append(buf, std::size_t(n));
  }
  close(fd);
  if (!problem.empty()) {
    error = problem;
    return nullptr;
  }
  return std::make_unique<SourceFile>(path, std::move(text));
}

}  // namespace hvsl
