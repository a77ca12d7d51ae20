#pragma once
// A machine profile fixes the word size, the arithmetic and the page size.
//  - vmsl:  exactly VMSL's machine: words 0..1,999,999, saturating arithmetic
//           (a subtraction below zero also gives the largest word),
//           immediates below 1,000,000, 1000-word pages.
//  - arm64: 64-bit words with wrapping arithmetic, 64-bit immediates,
//           4096-word pages.
#include <string_view>

#include "logic/word.h"

namespace hvsl {

enum class ProfileKind { Vmsl, Arm64 };

struct Profile {
  ProfileKind kind;
  std::string_view name;
  Word word_max;  // largest word
  Word imm_max;   // largest immediate operand
  Word page_size; // words per page
  bool saturating;

  Word add(Word a, Word b) const {
    if (!saturating) return a + b;
    return (b > word_max - a) ? word_max : a + b;
  }
  // VMSL: a result below zero is "out of range" and gives the largest word.
  Word sub(Word a, Word b) const {
    if (!saturating) return a - b;
    return b > a ? word_max : a - b;
  }
  Word mult(Word a, Word b) const {
    if (!saturating) return a * b;
    if (a != 0 && b > word_max / a) return word_max;
    return a * b;
  }
  Word page_of(Word addr) const { return addr - addr % page_size; }
  bool is_page_aligned(Word addr) const { return addr % page_size == 0; }

  static const Profile& vmsl();
  static const Profile& arm64();
  // nullptr if the name is not a profile.
  static const Profile* by_name(std::string_view name);
};

}  // namespace hvsl
