#pragma once
// The syntax tree the X3 grammar produces. Private to frontend/: lower.cpp
// turns it into logic/ types. Every node records its byte range in the file.
#include <optional>
#include <string>
#include <vector>

#include <boost/optional.hpp>
#include <boost/spirit/home/x3/support/ast/variant.hpp>

namespace hvsl::ast {

namespace x3 = boost::spirit::x3;

struct Node {
  std::size_t begin = 0, end = 0;
};

// Single-string nodes are filled by conversion, not Fusion (X3 mishandles
// one-member Fusion structs).
struct Name : Node {
  Name() = default;
  Name(std::string s) : text(std::move(s)) {}
  std::string text;
};
struct Number : Node {
  Number() = default;
  Number(std::string s) : text(std::move(s)) {}
  std::string text;
};
struct RegName : Node {
  RegName() = default;
  RegName(std::string s) : text(std::move(s)) {}
  std::string text;
};

struct Expr;
struct Primary : x3::variant<Number, Name, x3::forward_ast<Expr>> {
  using base_type::base_type;
  using base_type::operator=;
};
struct BinOp : Node {
  char op = '+';
  Primary operand;
};
// A flat chain "a + b * c"; lowering applies the precedence of '*'.
struct Expr : Node {
  Primary first;
  std::vector<BinOp> rest;
};

struct Operand : x3::variant<RegName, Expr> {
  using base_type::base_type;
  using base_type::operator=;
};

struct Instruction : Node {
  std::string mnemonic;
  std::vector<Operand> operands;
};
struct LabelDef : Node {
  LabelDef() = default;
  LabelDef(Name n) : name(std::move(n)) {}
  Name name;
};
struct CodeItem : x3::variant<Instruction, LabelDef> {
  using base_type::base_type;
  using base_type::operator=;
};

struct TxItem : Node {
  TxItem() = default;
  TxItem(Name n) : page(std::move(n)) {}
  Name page;
};
struct RxHolds : Node {
  Expr length;
  Name sender;
};
struct RxItem : Node {
  Name page;
  boost::optional<RxHolds> holds;
};
struct RegItem : Node {
  RegName reg;
  Expr value;
};
struct CodeDecl : Node {
  Expr at;
  std::vector<CodeItem> items;
};
struct VmItem : x3::variant<TxItem, RxItem, RegItem, CodeDecl> {
  using base_type::base_type;
  using base_type::operator=;
};
struct VmDecl : Node {
  Name name;
  boost::optional<std::string> qualifier;  // "known" or "unknown"
  std::vector<VmItem> items;
};

struct OwnerAttr : Node {
  OwnerAttr() = default;
  OwnerAttr(Name n) : vm(std::move(n)) {}
  Name vm;
};
struct ExclusiveAttr : Node {};
struct AccessAttr : Node {
  AccessAttr() = default;
  AccessAttr(std::vector<Name> v) : vms(std::move(v)) {}
  std::vector<Name> vms;
};
struct PageAttr : x3::variant<OwnerAttr, ExclusiveAttr, AccessAttr> {
  using base_type::base_type;
  using base_type::operator=;
};
struct PageDecl : Node {
  Name name;
  Expr at;
  std::vector<PageAttr> attrs;
};

struct ProfileDecl : Node {
  ProfileDecl() = default;
  ProfileDecl(Name n) : name(std::move(n)) {}
  Name name;
};
struct ConstDecl : Node {
  Name name;
  Expr value;
};
struct HandlesDecl : Node {
  HandlesDecl() = default;
  HandlesDecl(std::vector<Expr> v) : handles(std::move(v)) {}
  std::vector<Expr> handles;
};
struct WordDecl : Node {
  Expr addr;
  Expr value;
};
struct TransactionDecl : Node {
  Expr handle;
  std::string kind;  // share, lend, donate
  Name from;
  Name to;
  std::vector<Name> pages;
  boost::optional<std::string> retrieved;
};

struct Decl : x3::variant<ProfileDecl, ConstDecl, HandlesDecl, PageDecl, VmDecl, WordDecl, TransactionDecl> {
  using base_type::base_type;
  using base_type::operator=;
};

using File = std::vector<Decl>;

}  // namespace hvsl::ast
