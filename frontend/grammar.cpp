// The grammar in Boost.Spirit X3. Kept in one translation unit so X3's
// templates are compiled once. Expectation points ('>') follow every keyword,
// so a syntax error says what was expected where; lexical problems X3 reports
// badly (unterminated comments, runaway nesting, stray bytes) are caught
// first by prescan().
#include "frontend/grammar.h"

#include <boost/fusion/include/adapt_struct.hpp>
#include <boost/spirit/home/x3.hpp>

#include <algorithm>
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
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::SCall, fn, args)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::SBinOp, op, operand)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::SExpr, first, rest)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::Frac, num, den)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::PointsToHead, resource, keys)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::PointsToA, head, frac, values)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::PredA, name, args, frac)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::ExistsA, vars, body)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::ForallA, var, lo, hi, body)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::IfA, cond, then_, else_)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::FoldItem, op, pred)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::PredicateDecl, name, params, body)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::LetItem, name, value)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::AbiInvariant, pattern, fact)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::ReceivesItem, from, assertion)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::OutcomeDecl, name, guard, writes, frees, switch_to, ensures)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::HypercallDecl, name, id, items)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::SelectDecl, reg, modulus)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::CapItem, selector, kind, object, perms)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::PortalDecl, name, ec, id)
BOOST_FUSION_ADAPT_STRUCT(hvsl::ast::SemaphoreDecl, name, count)

namespace hvsl {

// Deeper nesting than this is refused rather than risking the stack (the
// parser, the lowering and the solver all recurse on nested input).
constexpr int kMaxNesting = 200;
// More operators than this in one specification expression are refused for
// the same reason: a chain of them becomes a term as deep as it is long.
constexpr std::size_t kMaxOperators = 1000;

const std::vector<std::string>& reserved_words() {
  static const std::vector<std::string> words = {
      // instructions
      "nop", "mov", "ldr", "str", "cmp", "add", "sub", "mult", "bne", "br", "halt", "fail", "hvc",
      // declarations
      "profile", "const", "handles", "page", "at", "owner", "exclusive", "access", "vm", "known", "unknown",
      "tx", "rx", "holds", "from", "to", "reg", "code", "word", "transaction", "share", "lend", "donate",
      "pages", "retrieved",
      // specifications
      "requires", "ensures", "invariant", "assert", "predicate", "emp", "exists", "forall", "true", "false",
      "fold", "unfold", "mem", "excl", "rxstate", "trans", "old", "page_of", "never_terminates", "union",
      "minus", "in", "if", "else",
      // hypercall spec files
      "select", "hypercall", "outcome", "when", "otherwise", "writes", "frees", "let", "switch", "receives", "implies",
      "shares",
      // abi nova
      "abi", "utcb", "local", "cap", "portal", "semaphore",
      // reserved for what comes next
      "assume", "protocol", "spec", "import", "on", "returns"};
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

// Limits on specification input, checked while parsing: nesting through
// '!', sets, parentheses, old(...)/page_of(...) and exists/forall/if (at
// most kMaxNesting deep; parentheses are also counted by prescan()), and the
// operators of one expression, nested ones included (at most kMaxOperators).
// nested[p] goes after the token that commits to the construct, so trying
// an alternative that does not match never counts as nesting.
enum class Limit { Nesting, Expression, Operator };
template <typename It>
struct limit_exceeded {
  It where;
  Limit what;
};
thread_local int nesting = 0;          // nested constructs being parsed
thread_local int expressions = 0;      // specification expressions being parsed
thread_local std::size_t operators = 0;  // operators in the outermost one

template <Limit L, typename Subject>
struct limit_directive : x3::unary_parser<Subject, limit_directive<L, Subject>> {
  using base_type = x3::unary_parser<Subject, limit_directive<L, Subject>>;
  static bool const is_pass_through_unary = true;
  static bool const handles_container = Subject::handles_container;
  constexpr limit_directive(Subject const& subject) : base_type(subject) {}

  template <typename It, typename Context, typename RContext, typename Attribute>
  bool parse(It& first, It const& last, Context const& context, RContext& rcontext, Attribute& attr) const {
    if constexpr (L == Limit::Operator) {
      It start = first;
      if (!this->subject.parse(first, last, context, rcontext, attr)) return false;
      if (++operators > kMaxOperators) throw limit_exceeded<It>{start, L};
      return true;
    } else {
      int& depth = L == Limit::Nesting ? nesting : expressions;
      if (L == Limit::Nesting && depth >= kMaxNesting) throw limit_exceeded<It>{first, L};
      if (L == Limit::Expression && depth == 0) operators = 0;
      ++depth;
      struct Leave {
        int& depth;
        ~Leave() { --depth; }
      } leave{depth};
      return this->subject.parse(first, last, context, rcontext, attr);
    }
  }
};
template <Limit L>
struct limit_gen {
  template <typename Subject>
  constexpr limit_directive<L, typename x3::extension::as_parser<Subject>::value_type> operator[](
      Subject const& subject) const {
    return {x3::as_parser(subject)};
  }
};
constexpr limit_gen<Limit::Nesting> nested{};
constexpr limit_gen<Limit::Expression> one_expression{};
constexpr limit_gen<Limit::Operator> counted{};

// "p, p, ...": a ',' must be followed by another p, so "{a, }" reports the
// missing item (X3's "p % ','" would backtrack and blame the ',').
struct list_id;
template <typename Rule>
auto list(Rule const& item) {
  using Items = std::vector<typename Rule::attribute_type>;
  return x3::rule<list_id, Items>{item.name} = item > *(lit(',') > item);
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
HVSL_RULE(sprimary, ast::SPrimary, "an expression")
HVSL_RULE(sbinop, ast::SBinOp, "an operator")
HVSL_RULE(sexpr, ast::SExpr, "an expression")
HVSL_RULE(scall, ast::SCall, "old(...) or page_of(...)")
HVSL_RULE(spattern, ast::SPattern, "a pattern '?name'")
HVSL_RULE(sbool, ast::SBool, "'true' or 'false'")
HVSL_RULE(snot, ast::SNot, "'!'")
HVSL_RULE(sset, ast::SSet, "a set '{...}'")
HVSL_RULE(frac, ast::Frac, "a fraction '[n/d]'")
HVSL_RULE(emp_a, ast::EmpA, "'emp'")
HVSL_RULE(pt_head, ast::PointsToHead, "a resource")
HVSL_RULE(points_to_a, ast::PointsToA, "a points-to assertion")
HVSL_RULE(pred_a, ast::PredA, "a predicate instance")
HVSL_RULE(exists_a, ast::ExistsA, "'exists'")
HVSL_RULE(forall_a, ast::ForallA, "'forall'")
HVSL_RULE(if_a, ast::IfA, "'if'")
HVSL_RULE(pure_a, ast::PureA, "an expression")
HVSL_RULE(assert_atom, ast::AssertAtom, "an assertion")
HVSL_RULE(assertion, ast::Assertion, "an assertion")
HVSL_RULE(invariant_item, ast::InvariantItem, "'invariant'")
HVSL_RULE(assert_item, ast::AssertItem, "'assert'")
HVSL_RULE(fold_item, ast::FoldItem, "'fold' or 'unfold'")
HVSL_RULE(requires_item, ast::RequiresItem, "'requires'")
HVSL_RULE(ensures_item, ast::EnsuresItem, "'ensures'")
HVSL_RULE(receives_item, ast::ReceivesItem, "'receives'")
HVSL_RULE(never_item, ast::NeverTerminatesItem, "'ensures never_terminates'")
HVSL_RULE(predicate_decl, ast::PredicateDecl, "a predicate declaration")
HVSL_RULE(code_decl, ast::CodeDecl, "code")
HVSL_RULE(tx_item, ast::TxItem, "tx")
HVSL_RULE(shares_item, ast::SharesItem, "shares")
HVSL_RULE(utcb_item, ast::UtcbItem, "utcb")
HVSL_RULE(local_item, ast::LocalItem, "local")
HVSL_RULE(cap_item, ast::CapItem, "cap")
HVSL_RULE(abi_choice, ast::AbiChoice, "abi")
HVSL_RULE(portal_decl, ast::PortalDecl, "portal")
HVSL_RULE(semaphore_decl, ast::SemaphoreDecl, "semaphore")
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
HVSL_RULE(select_decl, ast::SelectDecl, "'select'")
HVSL_RULE(let_item, ast::LetItem, "'let'")
HVSL_RULE(otherwise_guard, ast::OtherwiseGuard, "'otherwise'")
HVSL_RULE(outcome_guard, ast::OutcomeGuard, "'when' or 'otherwise'")
HVSL_RULE(outcome_decl, ast::OutcomeDecl, "'outcome'")
HVSL_RULE(hypercall_item, ast::HypercallItem, "'requires', 'let' or 'outcome'")
HVSL_RULE(hypercall_decl, ast::HypercallDecl, "'hypercall'")
HVSL_RULE(abi_invariant, ast::AbiInvariant, "'invariant'")
HVSL_RULE(abi_decl, ast::AbiDecl, "a declaration")
HVSL_RULE(abi_file, ast::AbiFile, "a hypercall spec file")
#undef HVSL_RULE

// Closing tokens get names that say what else could have come.
const x3::rule<struct set_end_id> set_end = "',' or '}'";
const x3::rule<struct code_end_id> code_end = "an instruction, a label, 'invariant', 'assert', 'fold', 'unfold' or '}'";
const x3::rule<struct vm_end_id> vm_end = "'tx', 'rx', 'reg', 'code', 'requires', 'ensures', 'receives', 'shares', 'utcb', 'local', 'cap' or '}'";
const x3::rule<struct hypercall_end_id> hypercall_end = "'requires', 'let', 'outcome' or '}'";
const x3::rule<struct abi_end_id> abi_end = "a declaration ('select', 'hypercall' or 'invariant')";
const x3::rule<struct reg_list_id, std::vector<ast::RegName>> reg_list = "a list of registers";
const x3::rule<struct head_list_id, std::vector<ast::PointsToHead>> head_list = "a list of resources";
const x3::rule<struct otherwise_text_id, std::string> otherwise_text = "'otherwise'";
const x3::rule<struct any_fraction_id, ast::Number> any_fraction = "a number or '_'";
const x3::rule<struct any_fraction_text_id, std::string> any_fraction_text = "'_'";
const x3::rule<struct file_end_id> file_end =
    "a declaration ('profile', 'abi', 'const', 'handles', 'page', 'vm', 'word', 'transaction', 'predicate', 'portal' or 'semaphore')";
const x3::rule<struct sop_id, std::string> sop = "an operator";
const x3::rule<struct sep_id> sep = "'&*&'";
const x3::rule<struct points_id> points = "'|->'";
const x3::rule<struct dots_id> dots = "'..'";
const x3::rule<struct close_brace_id> close_brace = "'&*&' or '}'";
const x3::rule<struct pt_values_id, std::vector<ast::SExpr>> pt_values = "a value";
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
const auto code_item_def = instruction | invariant_item | assert_item | fold_item | label;

// Specification expressions: a flat operator chain, precedence in lowering.
// Longer operators come first so "<=" is not read as "<".
const auto sop_def = raw[lit("==>") | lit("==") | lit("!=") | lit("<=") | lit(">=") | lit("<") | lit(">") |
                         lit("&&") | lit("||") | lit("+") | lit("-") | lit("*") | lit("/") | lit("%") | lit("?") | lit(":") |
                         lexeme[(lit("union") | lit("minus") | lit("in")) >> !idchar]];
const auto sep_def = lit("&*&");
const auto points_def = lit("|->");
const auto dots_def = lit("..");
const auto close_brace_def = lit('}');
const auto scall_def = raw[lexeme[(lit("old") | lit("page_of")) >> !idchar]] >> lit('(') > nested[list(sexpr)] > lit(')');
const auto spattern_def = lit('?') > name;
const x3::rule<struct bool_text_id, std::string> bool_text = "'true' or 'false'";
const auto bool_text_def = raw[lexeme[(lit("true") | lit("false")) >> !idchar]];
const auto sbool_def = bool_text;
const auto snot_def = lit('!') > nested[sprimary];
const x3::rule<struct sexprs_id, std::vector<ast::SExpr>> sexpr_set = "a set '{...}'";
const auto sexpr_set_def = lit('{') > -nested[list(sexpr)] > set_end;
const auto sset_def = sexpr_set;
const auto sprimary_def = number | reg | scall | spattern | sbool | snot | sset | name | (lit('(') > nested[sexpr] > lit(')'));
const auto sbinop_def = sop > sprimary;
const auto sexpr_def = one_expression[sprimary >> *counted[sbinop]];

// Assertions: atoms joined by "&*&"; nested assertions go in braces.
const auto frac_def = lit('[') > (number | any_fraction) > -(lit('/') > number) > lit(']');
const x3::rule<struct emp_text_id, std::string> emp_text = "'emp'";
const auto emp_text_def = raw[lexeme[lit("emp") >> !idchar]];
const auto emp_a_def = emp_text;
const auto pt_head_def =
    (raw[lexeme[lit("mem") >> !idchar]] >> lit('[') > x3::repeat(1)[sexpr] > lit(']')) |
    (raw[lexeme[(lit("access") | lit("reg") | lit("owner") | lit("excl") | lit("tx") | lit("rxstate") | lit("rx") |
                 lit("trans") | lit("retrieved") | lit("handles") | lit("cap") | lit("utcb") | lit("portal") |
                 lit("ec") | lit("reply") | lit("sms") | lit("sm")) >>
                !idchar]] >>
     lit('(') > -list(sexpr) > lit(')'));
// "(a, b, ...)" is a tuple once the first ',' is seen; "(a)" is an expression.
const auto pt_values_def = (lit('(') >> sexpr >> lit(',') > sexpr > *(lit(',') > sexpr) > lit(')')) | x3::repeat(1)[sexpr];
const auto points_to_a_def = pt_head > points > -frac > pt_values;
const auto pred_a_def = name >> lit('(') > -list(sexpr) > lit(')') > -frac;
const auto exists_a_def = kw("exists") > list(name) > lit('.') > nested[assertion];
const auto forall_a_def =
    kw("forall") > name > kw("in") > sexpr > dots > sexpr > lit('{') > nested[assertion] > close_brace;
const auto if_a_def = kw("if") > sexpr > lit('{') > nested[assertion] > close_brace >
                      -(kw("else") > lit('{') > nested[assertion] > close_brace);
const auto pure_a_def = sexpr;
const auto assert_atom_def = emp_a | exists_a | forall_a | if_a | points_to_a | pred_a | pure_a;
const x3::rule<struct atoms_id, std::vector<ast::AssertAtom>> atoms = "an assertion";
const auto atoms_def = assert_atom > *(sep > assert_atom);
const auto assertion_def = atoms;

const auto invariant_item_def = kw("invariant") > assertion;
const auto assert_item_def = kw("assert") > assertion;
const auto fold_item_def = raw[lexeme[(lit("fold") | lit("unfold")) >> !idchar]] > pred_a;
const auto requires_item_def = kw("requires") > assertion;
const x3::rule<struct never_text_id, std::string> never_text = "'ensures never_terminates'";
const auto never_text_def = raw[lexeme[lit("ensures") >> !idchar] >> lexeme[lit("never_terminates") >> !idchar]];
const auto never_item_def = never_text;
const auto ensures_item_def = kw("ensures") > assertion;
const auto receives_item_def = kw("receives") > -(kw("from") > name) > assertion;
const auto predicate_decl_def = kw("predicate") > name > lit('(') > -list(name) > lit(')') > equals > assertion;
const auto code_decl_def = kw("code") > kw("at") > expr > lit('{') > *code_item > code_end;

const auto tx_item_def = kw("tx") > name;
const auto shares_item_def = kw("shares") > name;
const auto utcb_item_def = kw("utcb") > name;
const x3::rule<struct local_text_id, std::string> local_text = "'local'";
const auto local_text_def = raw[lexeme[lit("local") >> !idchar]];
const auto local_item_def = local_text;
const x3::rule<struct cap_kind_id, std::string> cap_kind = "a capability kind (pd, ec, sc, portal, sm, obj)";
const auto cap_kind_def =
    raw[lexeme[(lit("pd") | lit("ec") | lit("sc") | lit("portal") | lit("sm") | lit("obj")) >> !idchar]];
const auto cap_item_def = kw("cap") > expr > equals > cap_kind > name > kw("perms") > expr;
const auto rx_holds_def = kw("holds") > expr > kw("from") > name;
const auto rx_item_def = kw("rx") > name > -rx_holds;
const auto reg_item_def = kw("reg") > reg > equals > expr;
const auto vm_item_def =
    tx_item | rx_item | reg_item | code_decl | requires_item | never_item | ensures_item | receives_item | shares_item |
    utcb_item | local_item | cap_item;
const auto qualifier_def = raw[lexeme[(lit("known") | lit("unknown")) >> !idchar]];
const auto vm_decl_def = kw("vm") > name > -qualifier > lit('{') > *vm_item > vm_end;

const auto name_set_def = lit('{') > -list(name) > set_end;
const auto expr_set_def = lit('{') > -list(expr) > set_end;
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

const auto abi_choice_def = kw("abi") > name;
const auto portal_decl_def = kw("portal") > name > kw("to") > name > -(kw("id") > expr);
const auto semaphore_decl_def = kw("semaphore") > name > kw("count") > expr;
const auto decl_def = profile_decl | const_decl | handles_decl | page_decl | vm_decl | word_decl | transaction_decl |
                      predicate_decl | abi_choice | portal_decl | semaphore_decl;
const auto file_def = *decl > file_end;

const auto any_fraction_text_def = x3::string("_");
const auto any_fraction_def = any_fraction_text;
const auto hypercall_end_def = lit('}');
const auto abi_end_def = x3::eoi;
const auto select_decl_def = kw("select") > reg > -(lit('%') > number);
const auto let_item_def = kw("let") > name > equals > sexpr;
const auto otherwise_text_def = raw[lexeme[lit("otherwise") >> !idchar]];
const auto otherwise_guard_def = otherwise_text;
const auto outcome_guard_def = (kw("when") > sexpr) | otherwise_guard;
const auto reg_list_def = reg % ',';
const auto head_list_def = pt_head % ',';
const auto outcome_decl_def =
    kw("outcome") > name > outcome_guard > -(kw("writes") > reg_list) > -(kw("frees") > head_list) >
    -(kw("switch") > kw("to") > sexpr) > -(kw("ensures") > assertion);
const auto hypercall_item_def = requires_item | let_item | outcome_decl;
const auto hypercall_decl_def =
    kw("hypercall") > name > -(equals > sexpr) > lit('{') > *hypercall_item > hypercall_end;
const auto abi_invariant_def = kw("invariant") > assertion > kw("implies") > sexpr;
const auto abi_decl_def = select_decl | hypercall_decl | abi_invariant;
const auto abi_file_def = *abi_decl > abi_end;

BOOST_SPIRIT_DEFINE(ident_text, number_text, reg_text, name, number, reg, primary, binop, expr, reg_operand, operand, operands1, operands2,
                    instruction, label, code_item, code_decl, tx_item, shares_item, rx_holds, rx_item, reg_item, vm_item,
                    vm_decl, owner_attr, exclusive_attr, access_attr, page_attr, page_decl, name_set, expr_set,
                    profile_decl, const_decl, handles_decl, word_decl, transaction_decl, decl, file, set_end,
                    code_end, vm_end, file_end, trans_kind, qualifier, mnemonic0, mnemonic1, mnemonic2, retrieved,
                    equals, comma)
BOOST_SPIRIT_DEFINE(utcb_item, local_text, local_item, cap_kind, cap_item, abi_choice, portal_decl, semaphore_decl)
BOOST_SPIRIT_DEFINE(sprimary, sbinop, sexpr, scall, spattern, sbool, snot, sset, frac, emp_a, pt_head,
                    points_to_a, pred_a, exists_a, forall_a, if_a, pure_a, assert_atom, assertion, invariant_item,
                    assert_item, fold_item, requires_item, ensures_item, receives_item, never_item, predicate_decl, sop, sep, points,
                    dots, close_brace, pt_values, bool_text, emp_text, atoms, never_text, sexpr_set)
BOOST_SPIRIT_DEFINE(select_decl, let_item, otherwise_guard, otherwise_text, outcome_guard, reg_list, head_list, outcome_decl,
                    hypercall_item, hypercall_decl, abi_invariant, abi_decl, abi_file, hypercall_end, abi_end, any_fraction,
                    any_fraction_text)

// Whitespace and comments: "// ..." to the end of the line, "/* ... */".
const auto skipper = x3::space | (lit("//") >> *(char_ - x3::eol)) | (lit("/*") >> *(char_ - lit("*/")) >> lit("*/"));

}  // namespace grammar

namespace {

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
  std::string text = t.substr(offset, end - offset);
  const auto& reserved = reserved_words();
  if (std::find(reserved.begin(), reserved.end(), text) != reserved.end())
    return fmt::format("'{}' (a reserved word)", text);
  return fmt::format("'{}'", text);
}

// Runs one top-level rule over the whole file, reporting a syntax error.
template <typename Rule, typename Out>
bool parse_whole(const SourceFile& src, const Rule& top, Out& out, Diagnostics& diags) {
  namespace x3 = boost::spirit::x3;
  if (!prescan(src, diags)) return false;
  const std::string& text = src.text();
  grammar::Iterator begin = text.begin(), it = begin, end = text.end();
  const auto parser = x3::with<grammar::begin_tag>(std::cref(begin))[top];
  try {
    if (x3::phrase_parse(it, end, parser, grammar::skipper, out) && it == end) return true;
    // Only reached if the skipper stops before the end; file_end expects eoi.
    diags.error(src.loc(std::size_t(it - begin)), "unexpected input");
    return false;
  } catch (const grammar::limit_exceeded<grammar::Iterator>& e) {
    std::size_t at = skip_space(text, std::size_t(e.where - begin));
    if (e.what == grammar::Limit::Operator)
      diags.error(src.loc(at), fmt::format("more than {} operators in one expression", kMaxOperators));
    else
      diags.error(src.loc(at), fmt::format("expressions nested more than {} deep", kMaxNesting));
    return false;
  } catch (const x3::expectation_failure<grammar::Iterator>& e) {
    std::size_t where = std::size_t(e.where() - begin);
    std::size_t at = skip_space(text, where);
    std::string found = found_at(text, at);
    // An operand missing after a trailing ',' '=' or operator is reported
    // at the end of that line, not at the first token of the next one.
    std::size_t last = where;
    while (last > 0 && std::isspace(static_cast<unsigned char>(text[last - 1]))) --last;
    bool dangling = last > 0 && std::string_view(",=+-*(&>").find(text[last - 1]) != std::string_view::npos;
    if (dangling && text.find('\n', last) < at) {
      where = last;
      diags.error(src.loc(where), fmt::format("expected {} at the end of this line, found {} on a later line",
                                              e.which(), found));
      return false;
    }
    std::size_t width = found == "end of file" ? 1 : found.find('\'', 1) - 1;
    diags.error(src.loc(at, width),
                fmt::format("expected {}, found {}", e.which(), found));
    return false;
  }
}

}  // namespace

bool parse_ast(const SourceFile& src, ast::File& out, Diagnostics& diags) {
  return parse_whole(src, grammar::file, out, diags);
}

bool parse_abi_ast(const SourceFile& src, ast::AbiFile& out, Diagnostics& diags) {
  return parse_whole(src, grammar::abi_file, out, diags);
}

}  // namespace hvsl
