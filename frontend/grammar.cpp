// The grammar in Boost.Spirit X3. Kept in one translation unit so X3's
// templates are compiled once. Expectation points ('>') follow every keyword,
// so a syntax error says what was expected where; lexical problems X3 reports
// badly (unterminated comments, runaway nesting, stray bytes) are caught
// first by prescan().
#include "frontend/grammar.h"

#include <boost/fusion/include/adapt_struct.hpp>
#include <boost/spirit/home/x3.hpp>

#include <deque>

#include <fmt/format.h>

BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::BinOp, op, operand)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::Expr, first, rest)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::Instruction, mnemonic, operands)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::RxHolds, length, sender)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::RxItem, page, holds)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::RegItem, reg, value)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::CodeDecl, at, items)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::VmDecl, name, qualifier, items)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::PageDecl, name, at, attrs)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::ConstDecl, name, value)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::WordDecl, addr, value)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::TransactionDecl, handle, kind, from, to, pages, retrieved)

namespace hvsl {

const std::vector<std::string>& reserved_words() {
  static const std::vector<std::string> words = {
      // instructions
      "nop", "mov", "ldr", "str", "cmp", "add", "sub", "mult", "bne", "br", "halt", "fail", "hvc",
      // declarations
      "profile", "const", "handles", "page", "at", "owner", "exclusive", "access", "vm", "known", "unknown",
      "tx", "rx", "holds", "from", "to", "reg", "code", "word", "transaction", "share", "lend", "donate",
      "pages", "retrieved",
      // reserved for specifications
      "requires", "ensures", "invariant", "assert", "assume", "predicate", "protocol", "spec", "emp",
      "exists", "forall", "true", "false", "import", "fold", "unfold", "on", "returns", "outcome"};
  return words;
}

namespace grammar {

namespace x3 = boost::spirit::x3;
using x3::alnum;
using x3::alpha;
using x3::char_;
using x3::digit;
using x3::lexeme;
using x3::lit;
using x3::raw;
using x3::xdigit;

using Iterator = std::string::const_iterator;
struct begin_tag;

// Records each node's byte range (after leading whitespace) in the node.
struct annotate {
  template <typename It, typename Attr, typename Context>
  void on_success(It const& first, It const& last, Attr& attr, Context const& context) {
    if constexpr (std::is_base_of_v<ast::Node, Attr>) {
      const Iterator& begin = x3::get<begin_tag>(context).get();
      attr.begin = std::size_t(first - begin);
      attr.end = std::size_t(last - begin);
    }
  }
};

const auto idchar = alnum | char_('_');

struct reserved_table : x3::symbols<x3::unused_type> {
  reserved_table() {
    for (const auto& w : reserved_words()) add(w);
  }
};
const reserved_table reserved;

// A keyword, as a named rule so that "expected 'at'" reads well.
struct kw_id;
auto kw(char const* word) {
  static std::deque<std::string> names;  // rule names must outlive the grammar
  names.push_back(fmt::format("'{}'", word));
  return x3::rule<kw_id>{names.back().c_str()} = lexeme[lit(word) >> !idchar];
}

// Rule ids. The string given to each rule is what "expected ..." prints.
#define HVSL_RULE(id, attr, text) \
  struct id##_id : annotate {};   \
  const x3::rule<id##_id, attr> id = text;

HVSL_RULE(name, ast::Name, "a name")
HVSL_RULE(number, ast::Number, "a number")
HVSL_RULE(reg, ast::RegName, "a register (r0..r30)")
HVSL_RULE(primary, ast::Primary, "a number, a name or '('")
HVSL_RULE(binop, ast::BinOp, "an operator")
HVSL_RULE(expr, ast::Expr, "an expression")
HVSL_RULE(reg_operand, ast::Operand, "a register (r0..r30)")
HVSL_RULE(operand, ast::Operand, "a register or an expression")
HVSL_RULE(operands2, std::vector<ast::Operand>, "two operands")
HVSL_RULE(operands1, std::vector<ast::Operand>, "a register")
HVSL_RULE(instruction, ast::Instruction, "an instruction")
HVSL_RULE(label, ast::LabelDef, "a label")
HVSL_RULE(code_item, ast::CodeItem, "an instruction or a label")
HVSL_RULE(code_decl, ast::CodeDecl, "code")
HVSL_RULE(tx_item, ast::TxItem, "tx")
HVSL_RULE(rx_holds, ast::RxHolds, "holds")
HVSL_RULE(rx_item, ast::RxItem, "rx")
HVSL_RULE(reg_item, ast::RegItem, "reg")
HVSL_RULE(vm_item, ast::VmItem, "a VM item")
HVSL_RULE(vm_decl, ast::VmDecl, "a VM declaration")
HVSL_RULE(owner_attr, ast::OwnerAttr, "owner")
HVSL_RULE(exclusive_attr, ast::ExclusiveAttr, "exclusive")
HVSL_RULE(access_attr, ast::AccessAttr, "access")
HVSL_RULE(page_attr, ast::PageAttr, "a page attribute")
HVSL_RULE(page_decl, ast::PageDecl, "a page declaration")
HVSL_RULE(name_set, std::vector<ast::Name>, "a set of names '{...}'")
HVSL_RULE(expr_set, std::vector<ast::Expr>, "a set of numbers '{...}'")
HVSL_RULE(profile_decl, ast::ProfileDecl, "a profile declaration")
HVSL_RULE(const_decl, ast::ConstDecl, "a constant declaration")
HVSL_RULE(handles_decl, ast::HandlesDecl, "a handles declaration")
HVSL_RULE(word_decl, ast::WordDecl, "a word declaration")
HVSL_RULE(transaction_decl, ast::TransactionDecl, "a transaction declaration")
HVSL_RULE(decl, ast::Decl, "a declaration")
HVSL_RULE(file, ast::File, "a file")
#undef HVSL_RULE

// Closing tokens get names that say what else could have come.
const x3::rule<struct set_end_id> set_end = "',' or '}'";
const x3::rule<struct code_end_id> code_end = "an instruction, a label or '}'";
const x3::rule<struct vm_end_id> vm_end = "'tx', 'rx', 'reg', 'code' or '}'";
const x3::rule<struct file_end_id> file_end =
    "a declaration ('profile', 'const', 'handles', 'page', 'vm', 'word' or 'transaction')";
const x3::rule<struct trans_kind_id, std::string> trans_kind = "'share', 'lend' or 'donate'";
const x3::rule<struct qualifier_id, std::string> qualifier = "'known' or 'unknown'";
const x3::rule<struct mnemonic0_id, std::string> mnemonic0 = "an instruction";
const x3::rule<struct mnemonic1_id, std::string> mnemonic1 = "an instruction";
const x3::rule<struct mnemonic2_id, std::string> mnemonic2 = "an instruction";
const x3::rule<struct retrieved_id, std::string> retrieved = "'retrieved'";
const x3::rule<struct equals_id> equals = "'='";
const x3::rule<struct comma_id> comma = "','";

const auto set_end_def = lit('}');
const auto code_end_def = lit('}');
const auto vm_end_def = lit('}');
const auto file_end_def = x3::eoi;
const auto equals_def = lit('=');
const auto comma_def = lit(',');

// Tokens are read as strings first; the AST nodes convert from them.
const x3::rule<struct ident_text_id, std::string> ident_text = "a name";
const x3::rule<struct number_text_id, std::string> number_text = "a number";
const x3::rule<struct reg_text_id, std::string> reg_text = "a register";
const auto ident_text_def = raw[lexeme[!(reserved >> !idchar) >> !(lit('r') >> +digit >> !idchar) >>
                                       (alpha | char_('_')) >> *idchar]];
const auto number_text_def =
    raw[lexeme[(((lit("0x") | lit("0X")) >> xdigit >> *(xdigit | char_('_'))) | (digit >> *(digit | char_('_')))) >>
               !idchar]];
const auto reg_text_def = raw[lexeme[((lit('r') >> +digit) | lit("pc") | lit("nz")) >> !idchar]];
const auto name_def = ident_text;
const auto number_def = number_text;
const auto reg_def = reg_text;
const auto primary_def = number | name | (lit('(') > expr > lit(')'));
const auto binop_def = char_("+*-") > primary;
const auto expr_def = primary >> *binop;
const auto reg_operand_def = reg;
const auto operand_def = reg | expr;

const auto mnemonic0_def = raw[lexeme[(lit("nop") | lit("halt") | lit("fail") | lit("hvc")) >> !idchar]];
const auto mnemonic1_def = raw[lexeme[(lit("bne") | lit("br")) >> !idchar]];
const auto mnemonic2_def =
    raw[lexeme[(lit("mov") | lit("ldr") | lit("str") | lit("cmp") | lit("add") | lit("sub") | lit("mult")) >> !idchar]];
const auto operands1_def = x3::repeat(1)[reg_operand];
const auto operands2_def = x3::eps > reg_operand > comma > operand;
const auto instruction_def = (mnemonic2 > operands2) | (mnemonic1 > operands1) |
                             (mnemonic0 >> x3::attr(std::vector<ast::Operand>()));
const auto label_def = name >> lit(':');
const auto code_item_def = instruction | label;
const auto code_decl_def = kw("code") > kw("at") > expr > lit('{') > *code_item > code_end;

const auto tx_item_def = kw("tx") > name;
const auto rx_holds_def = kw("holds") > expr > kw("from") > name;
const auto rx_item_def = kw("rx") > name > -rx_holds;
const auto reg_item_def = kw("reg") > reg > equals > expr;
const auto vm_item_def = tx_item | rx_item | reg_item | code_decl;
const auto qualifier_def = raw[lexeme[(lit("known") | lit("unknown")) >> !idchar]];
const auto vm_decl_def = kw("vm") > name > -qualifier > lit('{') > *vm_item > vm_end;

const auto name_set_def = lit('{') > -(name % ',') > set_end;
const auto expr_set_def = lit('{') > -(expr % ',') > set_end;
const auto owner_attr_def = kw("owner") > name;
const auto exclusive_attr_def = kw("exclusive");
const auto access_attr_def = kw("access") > name_set;
const auto page_attr_def = owner_attr | exclusive_attr | access_attr;
const auto page_decl_def = kw("page") > name > kw("at") > expr > *page_attr;

const auto profile_decl_def = kw("profile") > name;
const auto const_decl_def = kw("const") > name > equals > expr;
const auto handles_decl_def = kw("handles") > expr_set;
const auto word_decl_def = kw("word") > expr > equals > expr;
const auto trans_kind_def = raw[lexeme[(lit("share") | lit("lend") | lit("donate")) >> !idchar]];
const auto retrieved_def = raw[lexeme[(lit("retrieved")) >> !idchar]];
const auto transaction_decl_def = kw("transaction") > expr > trans_kind > kw("from") > name > kw("to") > name >
                                  kw("pages") > name_set > -retrieved;

const auto decl_def = profile_decl | const_decl | handles_decl | page_decl | vm_decl | word_decl | transaction_decl;
const auto file_def = *decl > file_end;

BOOST_SPIRIT_DEFINE(ident_text, number_text, reg_text, name, number, reg, primary, binop, expr, reg_operand, operand, operands1, operands2,
                    instruction, label, code_item, code_decl, tx_item, rx_holds, rx_item, reg_item, vm_item,
                    vm_decl, owner_attr, exclusive_attr, access_attr, page_attr, page_decl, name_set, expr_set,
                    profile_decl, const_decl, handles_decl, word_decl, transaction_decl, decl, file, set_end,
                    code_end, vm_end, file_end, trans_kind, qualifier, mnemonic0, mnemonic1, mnemonic2, retrieved,
                    equals, comma)

// Whitespace and comments: "// ..." to the end of the line, "/* ... */".
const auto skipper = x3::space | (lit("//") >> *(char_ - x3::eol)) | (lit("/*") >> *(char_ - lit("*/")) >> lit("*/"));

}  // namespace grammar

namespace {

// Deeper nesting than this is refused rather than risking the stack.
constexpr int kMaxNesting = 200;

// Lexical checks X3 would report poorly.
bool prescan(const SourceFile& src, Diagnostics& diags) {
  const std::string& t = src.text();
  int depth = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '/' && i + 1 < t.size() && t[i + 1] == '/') {
      while (i < t.size() && t[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < t.size() && t[i + 1] == '*') {
      std::size_t end = t.find("*/", i + 2);
      if (end == std::string::npos) {
        diags.error(src.loc(i, 2), "unterminated comment: '/*' has no matching '*/'");
        return false;
      }
      i = end + 1;
    } else if (c == '(') {
      if (++depth > kMaxNesting) {
        diags.error(src.loc(i), fmt::format("expressions nested more than {} deep", kMaxNesting));
        return false;
      }
    } else if (c == ')') {
      depth = depth > 0 ? depth - 1 : 0;
    } else if (c == '\0' || c == 0x7f || (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\r' && c != '\t')) {
      diags.error(src.loc(i), fmt::format("unexpected control character 0x{:02x}; is this a text file?",
                                          static_cast<unsigned char>(c)));
      return false;
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      diags.error(src.loc(i), "unexpected non-ASCII character; hvsl input is ASCII outside comments");
      return false;
    }
  }
  return true;
}

// Expectation failures point before the skipped whitespace; move past it
// (and past comments) so the caret lands on the offending token.
std::size_t skip_space(const std::string& t, std::size_t i) {
  while (i < t.size()) {
    if (std::isspace(static_cast<unsigned char>(t[i]))) {
      ++i;
    } else if (t.compare(i, 2, "//") == 0) {
      while (i < t.size() && t[i] != '\n') ++i;
    } else if (t.compare(i, 2, "/*") == 0) {
      std::size_t end = t.find("*/", i + 2);
      i = end == std::string::npos ? t.size() : end + 2;
    } else {
      break;
    }
  }
  return i;
}

// A short description of what stands at `offset`, for "found ...".
std::string found_at(const std::string& t, std::size_t offset) {
  if (offset >= t.size()) return "end of file";
  std::size_t end = offset;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (word(t[end]))
    while (end < t.size() && word(t[end]) && end - offset < 24) ++end;
  else
    end = offset + 1;
  return fmt::format("'{}'", t.substr(offset, end - offset));
}

}  // namespace

bool parse_ast(const SourceFile& src, ast::File& out, Diagnostics& diags) {
  namespace x3 = boost::spirit::x3;
  if (!prescan(src, diags)) return false;
  const std::string& text = src.text();
  grammar::Iterator begin = text.begin(), it = begin, end = text.end();
  const auto parser = x3::with<grammar::begin_tag>(std::cref(begin))[grammar::file];
  try {
    if (x3::phrase_parse(it, end, parser, grammar::skipper, out) && it == end) return true;
    // Only reached if the skipper stops before the end; file_end expects eoi.
    diags.error(src.loc(std::size_t(it - begin)), "unexpected input");
    return false;
  } catch (const x3::expectation_failure<grammar::Iterator>& e) {
    std::size_t where = std::size_t(e.where() - begin);
    std::size_t at = skip_space(text, where);
    std::string found = found_at(text, at);
    // An operand missing after a trailing ',' '=' or operator is reported
    // at the end of that line, not at the first token of the next one.
    std::size_t last = where;
    while (last > 0 && std::isspace(static_cast<unsigned char>(text[last - 1]))) --last;
    bool dangling = last > 0 && std::string_view(",=+-*(").find(text[last - 1]) != std::string_view::npos;
    if (dangling && text.find('\n', last) < at) {
      where = last;
      diags.error(src.loc(where), fmt::format("expected {} at the end of this line, found {} on a later line",
                                              e.which(), found));
      return false;
    }
    diags.error(src.loc(at, found == "end of file" ? 1 : found.size() - 2),
                fmt::format("expected {}, found {}", e.which(), found));
    return false;
  }
}

}  // namespace hvsl
