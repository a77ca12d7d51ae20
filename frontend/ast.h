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

// ---- specification expressions (pure terms) -------------------------------
struct SExpr;
struct SCall : Node {  // old(e), page_of(e)
  std::string fn;
  std::vector<SExpr> args;
};
struct SPattern : Node {  // ?x: binds x to the value found
  SPattern() = default;
  SPattern(Name n) : name(std::move(n)) {}
  Name name;
};
struct SBool : Node {
  SBool() = default;
  SBool(std::string s) : text(std::move(s)) {}
  std::string text;  // "true" or "false"
};
struct SNot;
struct SSet : Node {
  SSet() = default;
  SSet(std::vector<SExpr> e);  // defined after SExpr: clang needs it complete here
  std::vector<SExpr> elems;
};
struct SPrimary : x3::variant<Number, RegName, SCall, SPattern, SBool, Name, x3::forward_ast<SNot>, SSet,
                              x3::forward_ast<SExpr>> {
  using base_type::base_type;
  using base_type::operator=;
};
struct SNot : Node {
  SNot() = default;
  SNot(SPrimary p) : operand(std::move(p)) {}
  SPrimary operand;
};
struct SBinOp : Node {
  std::string op;
  SPrimary operand;
};
// A flat chain of binary operators ("c ? a : b" included, as the operators
// '?' and ':'); lowering applies precedence.
struct SExpr : Node {
  SPrimary first;
  std::vector<SBinOp> rest;
};
inline SSet::SSet(std::vector<SExpr> e) : elems(std::move(e)) {}

// ---- assertions ------------------------------------------------------------
struct Frac : Node {
  Number num;
  boost::optional<Number> den;
};
struct Assertion;
struct EmpA : Node {
  EmpA() = default;
  EmpA(std::string) {}
};
struct PointsToHead : Node {
  std::string resource;
  std::vector<SExpr> keys;
};
// mem[a] |-> v, access(vm) |-> S, owner(p) |-> o, ...: one heap chunk.
struct PointsToA : Node {
  PointsToHead head;
  boost::optional<Frac> frac;
  std::vector<SExpr> values;  // one value, or a tuple "(a, b, ...)"
};
// A predicate instance: name(args) or name(args)[1/2].
struct PredA : Node {
  Name name;
  std::vector<SExpr> args;
  boost::optional<Frac> frac;
};
struct ExistsA : Node {
  std::vector<Name> vars;
  x3::forward_ast<Assertion> body;
};
// forall i in lo .. hi { A }: the separating conjunction of A for lo <= i < hi.
struct ForallA : Node {
  Name var;
  SExpr lo, hi;
  x3::forward_ast<Assertion> body;
};
struct IfA : Node {
  SExpr cond;
  x3::forward_ast<Assertion> then_;
  boost::optional<x3::forward_ast<Assertion>> else_;
};
struct PureA : Node {
  PureA() = default;
  PureA(SExpr e) : expr(std::move(e)) {}
  SExpr expr;
};
struct AssertAtom : x3::variant<EmpA, PointsToA, PredA, ExistsA, ForallA, IfA, PureA> {
  using base_type::base_type;
  using base_type::operator=;
};
// Atoms joined by the separating conjunction "&*&".
struct Assertion : Node {
  Assertion() = default;
  Assertion(std::vector<AssertAtom> c) : conjuncts(std::move(c)) {}
  std::vector<AssertAtom> conjuncts;
};

// ---- ghost code and specs ----------------------------------------------------
struct InvariantItem : Node {
  InvariantItem() = default;
  InvariantItem(Assertion a) : assertion(std::move(a)) {}
  Assertion assertion;
};
struct AssertItem : Node {
  AssertItem() = default;
  AssertItem(Assertion a) : assertion(std::move(a)) {}
  Assertion assertion;
};
struct FoldItem : Node {
  std::string op;  // "fold" or "unfold"
  PredA pred;
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
struct CodeItem : x3::variant<Instruction, LabelDef, InvariantItem, AssertItem, FoldItem> {
  using base_type::base_type;
  using base_type::operator=;
};

struct TxItem : Node {
  TxItem() = default;
  TxItem(Name n) : page(std::move(n)) {}
  Name page;
};
// shares PAGE: the VM uses PAGE without owning its content (other VMs may
// write it at any time).
struct SharesItem : Node {
  SharesItem() = default;
  SharesItem(Name n) : page(std::move(n)) {}
  Name page;
};
// abi nova (docs/nova.md): the EC's UTCB page, a local EC, a capability.
struct UtcbItem : Node {
  UtcbItem() = default;
  UtcbItem(Name n) : page(std::move(n)) {}
  Name page;
};
struct LocalItem : Node {
  LocalItem() = default;
  LocalItem(std::string) {}
};
// cap SEL = KIND OBJECT perms MASK
struct CapItem : Node {
  Expr selector;
  std::string kind;  // pd, ec, sc, portal, sm, obj
  Name object;
  Expr perms;
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
struct RequiresItem : Node {
  RequiresItem() = default;
  RequiresItem(Assertion a) : assertion(std::move(a)) {}
  Assertion assertion;
};
struct EnsuresItem : Node {
  EnsuresItem() = default;
  EnsuresItem(Assertion a) : assertion(std::move(a)) {}
  Assertion assertion;
};
// receives [from VM] A: what the VM is given each time control switches
// to it (from that VM).
struct ReceivesItem : Node {
  boost::optional<Name> from;
  Assertion assertion;
};
struct NeverTerminatesItem : Node {
  NeverTerminatesItem() = default;
  NeverTerminatesItem(std::string) {}
};
struct VmItem
    : x3::variant<TxItem, RxItem, RegItem, CodeDecl, RequiresItem, EnsuresItem, NeverTerminatesItem, ReceivesItem,
                  SharesItem, UtcbItem, LocalItem, CapItem> {
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

struct PredicateDecl : Node {
  Name name;
  std::vector<Name> params;
  Assertion body;
};

// abi NAME: the hypercall interface `hvc` traps to (ffa, nova).
struct AbiChoice : Node {
  AbiChoice() = default;
  AbiChoice(Name n) : name(std::move(n)) {}
  Name name;
};
// portal NAME to VM [id N]
struct PortalDecl : Node {
  Name name;
  Name ec;
  boost::optional<Expr> id;
};
// semaphore NAME count N
struct SemaphoreDecl : Node {
  Name name;
  Expr count;
};

struct Decl : x3::variant<ProfileDecl, ConstDecl, HandlesDecl, PageDecl, VmDecl, WordDecl, TransactionDecl,
                          PredicateDecl, AbiChoice, PortalDecl, SemaphoreDecl> {
  using base_type::base_type;
  using base_type::operator=;
};

using File = std::vector<Decl>;

// ---- hypercall spec files (an ABI) ---------------------------------------------

// select r0: the register whose value picks the hypercall.
// select r0 % 16: the call is the register's value modulo 16 (NOVA's
// call number in the low bits, the selector and flags above).
struct SelectDecl : Node {
  RegName reg;
  boost::optional<Number> modulus;
};
// let name = e: an abbreviation inside a hypercall, for its guards and ensures.
struct LetItem : Node {
  Name name;
  SExpr value;
};
struct OtherwiseGuard : Node {
  OtherwiseGuard() = default;
  OtherwiseGuard(std::string) {}
};
struct OutcomeGuard : x3::variant<SExpr, OtherwiseGuard> {
  using base_type::base_type;
  using base_type::operator=;
};
// outcome name when G [writes r0, r2] [frees trans(h), ...] [switch to E] [ensures A]
struct OutcomeDecl : Node {
  Name name;
  OutcomeGuard guard;
  std::vector<RegName> writes;
  std::vector<PointsToHead> frees;  // taken by requires, not given back (a deleted transaction)
  boost::optional<SExpr> switch_to;  // control passes to this VM
  boost::optional<Assertion> ensures;
};
struct HypercallItem : x3::variant<RequiresItem, LetItem, OutcomeDecl> {
  using base_type::base_type;
  using base_type::operator=;
};
// hypercall NAME [= id] { requires ...  let ...  outcome ... }
struct HypercallDecl : Node {
  Name name;
  boost::optional<SExpr> id;
  std::vector<HypercallItem> items;
};
// invariant A implies e: whenever chunks matching A are held, e holds.
struct AbiInvariant : Node {
  Assertion pattern;
  SExpr fact;
};
struct AbiDecl : x3::variant<SelectDecl, HypercallDecl, AbiInvariant> {
  using base_type::base_type;
  using base_type::operator=;
};
using AbiFile = std::vector<AbiDecl>;

}  // namespace hvsl::ast
