#include "frontend/lower.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "frontend/grammar.h"
#include "frontend/lower_spec.h"

namespace hvsl {
namespace {

using Big = __int128;
// Constant expressions are evaluated exactly; anything this large is an error.
constexpr Big kBigLimit = Big(1) << 100;
// Evaluating a constant evaluates the names it uses first, recursively.
constexpr std::size_t kMaxDefinitionDepth = 200;

// What a name stands for.
struct Symbol {
  enum Kind { Builtin, Const, Page, Vm, Label, Portal, Semaphore } kind = Const;
  SourceLoc loc{};
  Word value = 0;
  bool evaluated = false;
  bool evaluating = false;            // cycle detection for constants
  bool failed = false;                // its definition has an error, already reported
  const ast::Expr* expr = nullptr;    // Const: its definition; Label: its code block's base
  Word offset = 0;                    // Label: index of the instruction it names
};

const char* kind_name(Symbol::Kind k) {
  switch (k) {
    case Symbol::Builtin: return "built-in constant";
    case Symbol::Const: return "constant";
    case Symbol::Page: return "page";
    case Symbol::Vm: return "VM";
    case Symbol::Label: return "label";
    case Symbol::Portal: return "portal";
    case Symbol::Semaphore: return "semaphore";
  }
  return "name";
}

std::string to_string(Big v) {
  bool negative = v < 0;
  if (negative) v = -v;
  std::string out;
  do {
    out.push_back(char('0' + int(v % 10)));
    v /= 10;
  } while (v > 0);
  if (negative) out.push_back('-');
  std::reverse(out.begin(), out.end());
  return out;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t prev = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cur = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] != b[j - 1])});
      prev = cur;
    }
  }
  return row[b.size()];
}

class Lowering {
 public:
  Lowering(const SourceFile& src, Diagnostics& diags) : src_(src), diags_(diags) {}

  std::optional<Machine> run(const ast::File& file) {
    choose_profile(file);
    choose_abi(file);
    for (const auto& c : m_.abi == AbiKind::Nova ? nova_constants(*p_) : builtin_constants(*p_))
      symbols_[std::string(c.name)] = Symbol{Symbol::Builtin, {}, c.value, true};
    declare_names(file);
    spec_.emplace(src_, diags_, *p_, [this](const std::string& n) -> std::optional<Word> {
      auto it = symbols_.find(n);
      if (it == symbols_.end()) return std::nullopt;
      auto v = value_of(n, ast::Node{});
      return v ? std::optional<Word>(Word(*v)) : std::optional<Word>(0);
    });
    for (const auto& d : file) {
      if (auto* pg = boost::get<ast::PageDecl>(&d)) lower_page(*pg);
      if (auto* pr = boost::get<ast::PredicateDecl>(&d)) declare_predicate(*pr);
    }
    for (const auto& d : file) {
      if (auto* pr = boost::get<ast::PredicateDecl>(&d))
        if (auto lowered = spec_->lower_predicate(*pr)) m_.predicates[lowered->name] = std::move(*lowered);
    }
    for (const auto& d : file) {
      if (auto* vm = boost::get<ast::VmDecl>(&d)) lower_vm(*vm);
    }
    check_code_layout();
    check_mailboxes();
    for (const auto& d : file) {
      if (auto* pt = boost::get<ast::PortalDecl>(&d)) lower_portal(*pt);
      if (auto* sm = boost::get<ast::SemaphoreDecl>(&d)) lower_semaphore(*sm);
    }
    for (const auto& d : file)
      if (auto* vm = boost::get<ast::VmDecl>(&d)) lower_caps(*vm);
    check_utcbs();
    for (const auto& d : file) {
      if (auto* h = boost::get<ast::HandlesDecl>(&d)) lower_handles(*h);
    }
    if (!handles_declared_) m_.handles = {0};
    for (const auto& d : file) {
      if (auto* t = boost::get<ast::TransactionDecl>(&d)) {
        if (m_.abi == AbiKind::Nova) error(*t, "transactions are FF-A's; a machine with 'abi nova' has none");
        else lower_transaction(*t);
      }
      if (auto* w = boost::get<ast::WordDecl>(&d)) lower_word(*w);
      if (auto* c = boost::get<ast::ConstDecl>(&d)) value_of(c->name.text, c->name);  // report errors in unused constants
    }
    check_transactions_against_page_table();
    if (m_.vms.empty()) diags_.error(src_.loc(0), "no VM is declared: a machine needs at least 'vm vm0 { ... }'");
    if (diags_.has_errors()) return std::nullopt;
    m_.encode_programs();
    return std::move(m_);
  }

 private:
  const SourceFile& src_;
  Diagnostics& diags_;
  const Profile* p_ = &Profile::vmsl();
  Machine m_;
  std::map<std::string, Symbol> symbols_;
  std::map<std::string, std::size_t> page_index_;  // page name -> index in m_.pages
  bool handles_declared_ = false;
  std::map<Word, SourceLoc> memory_inits_;
  std::set<const ast::PageDecl*> named_pages_;       // pages whose name is not a duplicate
  std::map<const ast::VmDecl*, VmId> vm_ids_;
  std::optional<SpecLowering> spec_;
  SpecLowering::Scope scope_;  // the current VM's precondition names
  std::map<std::string, SourceLoc> predicate_locs_;
  std::vector<std::string> evaluating_;              // names being evaluated, for cycle messages
  const ast::Node* handles_at_ = nullptr;
  Word portal_count_ = 0, semaphore_count_ = 0;

  SourceLoc loc(const ast::Node& n) const { return src_.loc(n.begin, n.end > n.begin ? n.end - n.begin : 1); }

  Diagnostic& error(const ast::Node& n, std::string msg) { return diags_.error(loc(n), std::move(msg)); }

  // ---- profile and names ------------------------------------------------

  void choose_profile(const ast::File& file) {
    const ast::ProfileDecl* first = nullptr;
    for (const auto& d : file) {
      auto* pd = boost::get<ast::ProfileDecl>(&d);
      if (!pd) continue;
      if (first) {
        add_note(error(*pd, "the profile is declared twice"), loc(*first), "first declared here");
        continue;
      }
      first = pd;
      if (const Profile* p = Profile::by_name(pd->name.text)) p_ = p;
      else error(pd->name, fmt::format("unknown profile '{}': the profiles are 'vmsl' and 'arm64'", pd->name.text));
    }
    m_.profile = p_;
  }

  void choose_abi(const ast::File& file) {
    const ast::AbiChoice* first = nullptr;
    for (const auto& d : file) {
      auto* a = boost::get<ast::AbiChoice>(&d);
      if (!a) continue;
      if (first) {
        add_note(error(*a, "the ABI is declared twice"), loc(*first), "first declared here");
        continue;
      }
      first = a;
      if (a->name.text == "nova") m_.abi = AbiKind::Nova;
      else if (a->name.text != "ffa") error(a->name, fmt::format("unknown ABI '{}': the ABIs are 'ffa' and 'nova'", a->name.text));
    }
  }

  // Returns false (after reporting) if the name is taken.
  bool declare(const ast::Name& n, Symbol s) {
    s.loc = loc(n);
    auto [it, fresh] = symbols_.try_emplace(n.text, s);
    if (fresh) return true;
    if (it->second.kind == Symbol::Builtin) {
      error(n, fmt::format("'{}' is a built-in constant and cannot be redeclared", n.text));
      return false;
    }
    add_note(error(n, fmt::format("'{}' is already declared as a {}", n.text, kind_name(it->second.kind))),
             it->second.loc, "previous declaration is here");
    return false;
  }

  void declare_names(const ast::File& file) {
    for (const auto& d : file) {
      if (auto* c = boost::get<ast::ConstDecl>(&d)) declare(c->name, Symbol{Symbol::Const, {}, 0, false, false, false, &c->value});
      if (auto* pg = boost::get<ast::PageDecl>(&d))
        if (declare(pg->name, Symbol{Symbol::Page, {}, 0, false, false, false, &pg->at})) named_pages_.insert(pg);
      if (auto* pt = boost::get<ast::PortalDecl>(&d)) {
        Symbol s{Symbol::Portal};
        s.value = portal_count_++;
        s.evaluated = true;
        declare(pt->name, s);
      }
      if (auto* sm = boost::get<ast::SemaphoreDecl>(&d)) {
        Symbol s{Symbol::Semaphore};
        s.value = semaphore_count_++;
        s.evaluated = true;
        declare(sm->name, s);
      }
      if (auto* vm = boost::get<ast::VmDecl>(&d)) {
        Symbol s{Symbol::Vm};
        s.value = m_.vms.size();
        s.evaluated = true;
        declare(vm->name, s);
        vm_ids_[vm] = VmId(m_.vms.size());
        VmDecl decl;
        decl.name = vm->name.text;
        decl.known = !vm->qualifier || *vm->qualifier == "known";
        decl.loc = loc(*vm);
        m_.vms.push_back(std::move(decl));
        if (m_.vms.size() == kMaxVms + 1)
          error(vm->name, fmt::format("too many VMs: at most {} are supported", kMaxVms));
        for (const auto& item : vm->items) {
          auto* code = boost::get<ast::CodeDecl>(&item);
          if (!code) continue;
          Word index = 0;
          for (const auto& ci : code->items) {
            if (auto* l = boost::get<ast::LabelDef>(&ci)) {
              Symbol ls{Symbol::Label, {}, 0, false, false, false, &code->at, index};
              declare(l->name, ls);
            } else if (boost::get<ast::Instruction>(&ci)) {
              ++index;  // ghost items take no memory
            }
          }
        }
      }
    }
  }

  // ---- constant expressions ---------------------------------------------

  std::optional<Big> value_of(const std::string& name, const ast::Node& where) {
    auto it = symbols_.find(name);
    if (it == symbols_.end()) {
      std::string best;
      std::size_t best_d = 3;
      for (const auto& [n, s] : symbols_) {
        if (name.size() > 64 || n.size() + 3 <= name.size() || name.size() + 3 <= n.size()) continue;
        std::size_t d = edit_distance(n, name);
        if (d < best_d) best = n, best_d = d;
      }
      error(where, best.empty() ? fmt::format("unknown name '{}'", name)
                                : fmt::format("unknown name '{}'; did you mean '{}'?", name, best));
      return std::nullopt;
    }
    Symbol& s = it->second;
    if (s.evaluated) return Big(s.value);
    if (s.failed) return std::nullopt;
    if (s.evaluating) {
      // Report the cycle once, at the definition that closes it.
      auto start = std::find(evaluating_.begin(), evaluating_.end(), name);
      std::string cycle;
      for (auto i = start; i != evaluating_.end(); ++i) cycle += *i + " -> ";
      error(where, fmt::format("circular definition: {}{}", cycle, name));
      for (auto i = start; i != evaluating_.end(); ++i) symbols_[*i].failed = true;
      return std::nullopt;
    }
    if (evaluating_.size() >= kMaxDefinitionDepth) {
      // A long chain of constants each defined by the next would recurse too deep.
      error(where, fmt::format("constants defined in terms of each other more than {} deep", kMaxDefinitionDepth));
      s.failed = true;
      return std::nullopt;
    }
    s.evaluating = true;
    evaluating_.push_back(name);
    Word max = p_->word_max;
    auto v = eval(*s.expr, max, s.kind == Symbol::Label ? "code address" : "value");
    evaluating_.pop_back();
    s.evaluating = false;
    if (!v) {
      s.failed = true;
      return std::nullopt;
    }
    if (s.kind == Symbol::Label) *v += s.offset;
    s.value = Word(*v);
    s.evaluated = true;
    return *v;
  }

  std::optional<Big> number(const ast::Number& n) {
    std::string digits;
    for (char c : n.text)
      if (c != '_') digits += c;
    bool hex = digits.size() > 2 && (digits[1] == 'x' || digits[1] == 'X');
    Big v = 0;
    for (std::size_t i = hex ? 2 : 0; i < digits.size(); ++i) {
      int d = std::isdigit(static_cast<unsigned char>(digits[i])) ? digits[i] - '0'
                                                                 : std::tolower(digits[i]) - 'a' + 10;
      v = v * (hex ? 16 : 10) + d;
      if (v > Big(std::numeric_limits<Word>::max())) {
        error(n, fmt::format("the number {} does not fit in 64 bits", n.text));
        return std::nullopt;
      }
    }
    return v;
  }

  std::optional<Big> primary(const ast::Primary& p) {
    if (auto* n = boost::get<ast::Number>(&p)) return number(*n);
    if (auto* n = boost::get<ast::Name>(&p)) return value_of(n->text, *n);
    return eval_raw(boost::get<ast::x3::forward_ast<ast::Expr>>(p).get());
  }

  // Evaluates with '*' binding tighter than '+' and '-', in exact arithmetic.
  std::optional<Big> eval_raw(const ast::Expr& e) {
    auto first = primary(e.first);
    if (!first) return std::nullopt;
    Big sum = 0, product = *first;
    char pending = '+';
    auto too_big = [&](Big v) { return v > kBigLimit || v < -kBigLimit; };
    for (const auto& op : e.rest) {
      auto v = primary(op.operand);
      if (!v) return std::nullopt;
      if (op.op == '*') {
        if (*v != 0 && (product > kBigLimit / (*v < 0 ? -*v : *v) || product < -kBigLimit / (*v < 0 ? -*v : *v))) {
          error(e, "the value of this expression is far too large");
          return std::nullopt;
        }
        product *= *v;
      } else {
        sum = pending == '+' ? sum + product : sum - product;
        pending = op.op;
        product = *v;
      }
      if (too_big(product) || too_big(sum)) {
        error(e, "the value of this expression is far too large");
        return std::nullopt;
      }
    }
    return pending == '+' ? sum + product : sum - product;
  }

  std::optional<Big> eval(const ast::Expr& e, Word max, std::string_view what) {
    auto v = eval_raw(e);
    if (!v) return std::nullopt;
    if (*v < 0 || *v > Big(max)) {
      error(e, fmt::format("{} {} is out of range for profile {}: it must be between 0 and {}", what,
                           to_string(*v), p_->name, max));
      return std::nullopt;
    }
    return v;
  }

  std::optional<Word> eval_word(const ast::Expr& e, std::string_view what, Word max) {
    auto v = eval(e, max, what);
    if (!v) return std::nullopt;
    return Word(*v);
  }
  std::optional<Word> eval_word(const ast::Expr& e, std::string_view what) { return eval_word(e, what, p_->word_max); }

  std::optional<VmId> vm_named(const ast::Name& n) {
    auto it = symbols_.find(n.text);
    if (it != symbols_.end() && it->second.kind == Symbol::Vm) {
      if (it->second.value >= kMaxVms) return std::nullopt;  // "too many VMs" was reported
      return VmId(it->second.value);
    }
    if (it == symbols_.end()) value_of(n.text, n);  // reports "unknown name" with a suggestion
    else error(n, fmt::format("'{}' is a {}, not a VM", n.text, kind_name(it->second.kind)));
    return std::nullopt;
  }

  std::optional<std::size_t> page_named(const ast::Name& n) {
    auto it = page_index_.find(n.text);
    if (it != page_index_.end()) return it->second;
    auto s = symbols_.find(n.text);
    if (s == symbols_.end()) value_of(n.text, n);
    else if (s->second.kind != Symbol::Page) error(n, fmt::format("'{}' is a {}, not a page", n.text, kind_name(s->second.kind)));
    return std::nullopt;  // a page whose declaration had an error
  }

  void declare_predicate(const ast::PredicateDecl& d) {
    auto [it, fresh] = predicate_locs_.try_emplace(d.name.text, loc(d.name));
    if (!fresh) {
      add_note(error(d.name, fmt::format("predicate '{}' is declared twice", d.name.text)), it->second,
               "first declared here");
      return;
    }
    if (symbols_.count(d.name.text))
      error(d.name, fmt::format("'{}' is already declared as a {}", d.name.text, kind_name(symbols_[d.name.text].kind)));
    spec_->declare_predicate(d);
  }

  // ---- pages --------------------------------------------------------------

  void lower_page(const ast::PageDecl& d) {
    if (!named_pages_.count(&d)) return;  // its name is taken; reported already
    auto base = eval_word(d.at, "page address");
    if (!base) return;
    if (!p_->is_page_aligned(*base)) {
      error(d.at, fmt::format("page address {} is not page-aligned: it must be a multiple of {} (try {})", *base,
                              p_->page_size, p_->page_of(*base)));
      return;
    }
    for (const auto& other : m_.pages)
      if (other.base == *base) {
        add_note(error(d.at, fmt::format("page '{}' overlaps page '{}': both start at address {}", d.name.text,
                                         other.name, *base)),
                 other.loc, fmt::format("'{}' is declared here", other.name));
        return;
      }
    PageDecl pd;
    pd.name = d.name.text;
    pd.base = *base;
    pd.loc = loc(d.name);
    bool owner_seen = false, access_seen = false;
    for (const auto& a : d.attrs) {
      if (auto* o = boost::get<ast::OwnerAttr>(&a)) {
        if (owner_seen) error(*o, "the owner is given twice");
        owner_seen = true;
        pd.owner = vm_named(o->vm);
      } else if (boost::get<ast::ExclusiveAttr>(&a)) {
        pd.exclusive = true;
      } else if (auto* acc = boost::get<ast::AccessAttr>(&a)) {
        if (access_seen) error(*acc, "the access set is given twice");
        access_seen = true;
        for (const auto& n : acc->vms)
          if (auto v = vm_named(n)) pd.access |= vm_bit(*v);
      }
    }
    page_index_[pd.name] = m_.pages.size();
    symbols_[pd.name].value = pd.base;
    symbols_[pd.name].evaluated = true;
    m_.pages.push_back(std::move(pd));
  }

  // ---- VMs and code ----------------------------------------------------------

  void lower_vm(const ast::VmDecl& d) {
    std::optional<VmId> id = vm_ids_.at(&d);
    if (*id >= kMaxVms) return;
    VmDecl& vm = m_.vms[*id];
    const ast::Node* tx_at = nullptr;
    const ast::Node* rx_at = nullptr;
    const ast::Node* code_at = nullptr;
    std::map<Reg, const ast::Node*> regs_at;
    // The precondition's names are visible in the code's ghost items and in
    // the postcondition, so it is lowered first.
    SpecLowering::Scope scope;
    const ast::Node* requires_at = nullptr;
    for (const auto& item : d.items) {
      auto* req = boost::get<ast::RequiresItem>(&item);
      if (!req) continue;
      if (requires_at) {
        add_note(error(*req, "the precondition is given twice; join the two with '&*&'"), loc(*requires_at),
                 "first given here");
        continue;
      }
      requires_at = req;
      vm.spec.requires_ = spec_->assertion(req->assertion, scope);
      vm.spec.requires_loc = loc(*req);
    }
    std::map<std::string, const ast::Node*> receives_at;  // by giver ("" for the default)
    for (const auto& item : d.items) {
      auto* rec = boost::get<ast::ReceivesItem>(&item);
      if (!rec) continue;
      std::string giver = rec->from ? rec->from->text : "";
      if (receives_at.count(giver)) {
        add_note(error(*rec, giver.empty() ? "'receives' is given twice; join the two with '&*&'"
                                           : fmt::format("'receives from {}' is given twice", giver)),
                 loc(*receives_at[giver]), "first given here");
        continue;
      }
      receives_at[giver] = rec;
      std::optional<VmId> from;
      if (rec->from) {
        from = m_.vm_by_name(giver);
        if (!from) {
          error(*rec->from, fmt::format("there is no VM '{}'", giver));
          continue;
        }
        if (*from == *id) {
          error(*rec->from, "a VM does not hand control to itself");
          continue;
        }
      }
      SpecLowering::Scope proto;
      proto.registers = false;
      proto.no_registers =
          "a protocol cannot name the VM's own registers: the VM handing over control cannot vouch for them";
      AssertionPtr a = spec_->assertion(rec->assertion, proto);
      if (from) {
        vm.spec.receives_from[*from] = {a, loc(*rec)};
      } else {
        vm.spec.receives = a;
        vm.spec.receives_loc = loc(*rec);
      }
    }
    const ast::Node* ensures_at = nullptr;
    for (const auto& item : d.items) {
      const ast::Node* at = boost::get<ast::EnsuresItem>(&item);
      if (!at) at = boost::get<ast::NeverTerminatesItem>(&item);
      if (!at) continue;
      if (ensures_at) {
        add_note(error(*at, "the postcondition is given twice"), loc(*ensures_at), "first given here");
        continue;
      }
      ensures_at = at;
      if (!vm.known)
        diags_.warning(loc(*at), fmt::format("'{}' is unknown, so its code is not verified and this 'ensures' is "
                                             "ignored",
                                             d.name.text));
      Postcondition post;
      post.loc = loc(*at);
      if (auto* e = boost::get<ast::EnsuresItem>(&item)) {
        SpecLowering::Scope post_scope = scope;
        post.assertion = spec_->assertion(e->assertion, post_scope);
      } else {
        post.never_terminates = true;
      }
      vm.spec.ensures = std::move(post);
    }
    scope_ = scope;
    for (const auto& item : d.items) {
      if (auto* tx = boost::get<ast::TxItem>(&item)) {
        if (tx_at) add_note(error(*tx, "the TX page is given twice"), loc(*tx_at), "first given here");
        tx_at = tx;
        vm.tx = page_named(tx->page);
        vm.tx_loc = loc(*tx);
      } else if (auto* rx = boost::get<ast::RxItem>(&item)) {
        if (rx_at) add_note(error(*rx, "the RX page is given twice"), loc(*rx_at), "first given here");
        rx_at = rx;
        vm.rx = page_named(rx->page);
        vm.rx_loc = loc(*rx);
        if (rx->holds) lower_rx_message(vm, *id, *rx->holds);
      } else if (auto* sh = boost::get<ast::SharesItem>(&item)) {
        auto page = page_named(sh->page);
        if (!page) continue;
        bool twice = false;
        for (const auto& other : vm.shares)
          if (other.page == *page) {
            add_note(error(*sh, fmt::format("'shares {}' is given twice", m_.pages[*page].name)), other.loc,
                     "first given here");
            twice = true;
          }
        if (!twice) vm.shares.push_back({*page, loc(*sh)});
      } else if (auto* r = boost::get<ast::RegItem>(&item)) {
        auto reg = register_named(r->reg);
        if (!reg) continue;
        if (regs_at.count(*reg))
          add_note(error(*r, fmt::format("register {} is given twice", reg_name(*reg))), loc(*regs_at[*reg]),
                   "first given here");
        regs_at[*reg] = r;
        if (auto v = eval_word(r->value, "register value")) vm.regs[*reg] = *v;
      } else if (auto* u = boost::get<ast::UtcbItem>(&item)) {
        if (!needs_nova(*u, "'utcb'")) continue;
        if (vm.utcb) {
          add_note(error(*u, "the UTCB page is given twice"), vm.utcb_loc, "first given here");
          continue;
        }
        vm.utcb = page_named(u->page);
        vm.utcb_loc = loc(*u);
      } else if (auto* l = boost::get<ast::LocalItem>(&item)) {
        if (needs_nova(*l, "'local'")) vm.local = true;
      } else if (auto* c = boost::get<ast::CodeDecl>(&item)) {
        if (code_at) {
          add_note(error(*c, fmt::format("'{}' has two code blocks; a VM has one program", d.name.text)),
                   loc(*code_at), "first code block is here");
          continue;
        }
        code_at = c;
        lower_code(vm, *id, *c);
      }
    }
    if (m_.abi == AbiKind::Nova)
      for (const ast::Node* mb : {tx_at, rx_at})
        if (mb) error(*mb, "mailboxes are FF-A's; a machine with 'abi nova' passes messages through UTCBs");
    if (vm.tx && vm.rx && *vm.tx == *vm.rx)
      error(*rx_at, fmt::format("'{}' uses page '{}' as both its TX and its RX page", d.name.text,
                                m_.pages[*vm.tx].name));
  }

  void lower_rx_message(VmDecl& vm, VmId id, const ast::RxHolds& h) {
    auto len = eval_word(h.length, "message length");
    auto sender = vm_named(h.sender);
    if (len && *len > p_->page_size)
      error(h.length, fmt::format("a message holds at most {} words (one page)", p_->page_size));
    if (sender && *sender == id) error(h.sender, "a VM cannot hold a message from itself");
    if (len && sender) vm.rx_message = RxMessage{*len, *sender};
  }

  std::optional<Reg> register_named(const ast::RegName& r) {
    auto reg = reg_by_name(r.text);
    if (!reg) error(r, fmt::format("'{}' is not a register: the registers are r0..r30, pc and nz", r.text));
    return reg;
  }

  void lower_code(VmDecl& vm, VmId id, const ast::CodeDecl& c) {
    auto base = eval_word(c.at, "code address");
    if (!base) return;
    CodeBlock block;
    block.base = *base;
    block.loc = loc(c);
    for (const auto& item : c.items) {
      if (auto* l = boost::get<ast::LabelDef>(&item)) {
        m_.labels.push_back(Label{l->name.text, *base + block.instrs.size(), id, loc(l->name)});
        // Ghost items above a label belong to the code before it.
        for (auto& op : vm.spec.ghost[block.instrs.size()]) op.fallthrough_only = true;
        continue;
      }
      if (lower_ghost(item, vm, block.instrs.size())) continue;
      const auto& ins = boost::get<ast::Instruction>(item);
      if (auto i = lower_instruction(ins)) {
        block.instrs.push_back(*i);
        block.locs.push_back(loc(ins));
      }
    }
    vm.code = std::move(block);
  }

  // Invariants, asserts, fold and unfold: returns false if `item` is not ghost code.
  bool lower_ghost(const ast::CodeItem& item, VmDecl& vm, std::size_t index) {
    GhostOp op;
    SpecLowering::Scope scope = scope_;
    if (auto* inv = boost::get<ast::InvariantItem>(&item)) {
      op.kind = GhostOp::Kind::Invariant;
      op.loc = loc(*inv);
      op.assertion = spec_->assertion(inv->assertion, scope);
      for (const auto& other : vm.spec.ghost[index])
        if (other.kind == GhostOp::Kind::Invariant)
          add_note(error(*inv, "two invariants at the same place; join them with '&*&'"), other.loc,
                   "the other invariant is here");
    } else if (auto* as = boost::get<ast::AssertItem>(&item)) {
      op.kind = GhostOp::Kind::Assert;
      op.loc = loc(*as);
      op.assertion = spec_->assertion(as->assertion, scope);
    } else if (auto* f = boost::get<ast::FoldItem>(&item)) {
      op.kind = f->op == "fold" ? GhostOp::Kind::Fold : GhostOp::Kind::Unfold;
      op.loc = loc(*f);
      op.assertion = spec_->predicate_instance(f->pred, scope);
    } else {
      return false;
    }
    if (op.assertion) vm.spec.ghost[index].push_back(std::move(op));
    return true;
  }

  std::optional<Instr> lower_instruction(const ast::Instruction& ins) {
    const std::string& m = ins.mnemonic;
    Instr out;
    auto reg_of = [&](const ast::Operand& o) -> std::optional<Reg> {
      if (auto* r = boost::get<ast::RegName>(&o)) return register_named(*r);
      error(boost::get<ast::Expr>(o), fmt::format("'{}' needs a register here, not an immediate", m));
      return std::nullopt;
    };
    auto imm_of = [&](const ast::Operand& o) -> std::optional<Word> {
      if (auto* e = boost::get<ast::Expr>(&o)) return eval_word(*e, "immediate", p_->imm_max);
      error(boost::get<ast::RegName>(o), fmt::format("'{}' needs an immediate here, not a register", m));
      return std::nullopt;
    };
    if (m == "nop") out.op = Op::Nop;
    else if (m == "halt") out.op = Op::Halt;
    else if (m == "fail") out.op = Op::Fail;
    else if (m == "hvc") out.op = Op::Hvc;
    else {
      auto a = reg_of(ins.operands[0]);
      if (!a) return std::nullopt;
      out.a = *a;
      if (m == "bne" || m == "br") {
        out.op = m == "bne" ? Op::Bne : Op::Br;
      } else {
        const ast::Operand& second = ins.operands[1];
        bool second_is_reg = boost::get<ast::RegName>(&second) != nullptr;
        if (m == "mov" || m == "cmp") {
          out.op = m == "mov" ? (second_is_reg ? Op::MovReg : Op::MovImm) : (second_is_reg ? Op::CmpReg : Op::CmpImm);
        } else if (m == "mult") {
          out.op = Op::Mult;
        } else {
          out.op = m == "ldr" ? Op::Ldr : m == "str" ? Op::Str : m == "add" ? Op::Add : Op::Sub;
        }
        bool wants_imm = out.op == Op::MovImm || out.op == Op::CmpImm || out.op == Op::Mult;
        if (wants_imm) {
          auto v = imm_of(second);
          if (!v) return std::nullopt;
          out.imm = *v;
        } else {
          auto b = reg_of(second);
          if (!b) return std::nullopt;
          out.b = *b;
        }
      }
    }
    if (auto why = invalid_reason(out)) {
      // Point at the special register if that is the problem.
      const ast::Node* at = &ins;
      for (const auto& o : ins.operands)
        if (auto* r = boost::get<ast::RegName>(&o); r && (r->text == "pc" || r->text == "nz")) {
          at = r;
          break;
        }
      error(*at, *why);
      return std::nullopt;
    }
    return out;
  }

  // Every program lies inside one declared page, away from mailboxes and
  // from other programs.
  void check_code_layout() {
    struct Placed { Word first, last; VmId vm; };
    std::vector<Placed> placed;
    for (VmId v = 0; v < m_.vms.size(); ++v) {
      const VmDecl& vm = m_.vms[v];
      if (!vm.code) continue;
      const CodeBlock& c = *vm.code;
      const PageDecl* page = m_.page_at(c.base);
      if (!page) {
        diags_.error(c.loc, fmt::format("the code of '{}' starts at {}, which is in no declared page", vm.name, c.base));
        continue;
      }
      Word room = p_->page_size - (c.base - page->base);
      if (c.instrs.size() > room) {
        add_note(diags_.error(c.loc, fmt::format("the program of '{}' has {} instructions but only {} fit between "
                                                 "address {} and the end of page '{}'",
                                                 vm.name, c.instrs.size(), room, c.base, page->name)),
                 page->loc, fmt::format("page '{}' is declared here", page->name));
        continue;
      }
      for (VmId w = 0; w < m_.vms.size(); ++w) {
        const VmDecl& other = m_.vms[w];
        for (auto mb : {other.tx, other.rx})
          if (mb && m_.pages[*mb].base == page->base)
            add_note(diags_.error(c.loc, fmt::format("the code of '{}' is in page '{}', which is a mailbox page of '{}'",
                                                     vm.name, page->name, other.name)),
                     page->loc, "mailbox pages hold messages, not code");
      }
      if (c.instrs.empty()) continue;
      Word last = c.base + (c.instrs.size() - 1);  // inclusive: no wrap at the top of memory
      for (const auto& p : placed)
        if (c.base <= p.last && p.first <= last)
          add_note(diags_.error(c.loc, fmt::format("the code of '{}' overlaps the code of '{}'", vm.name,
                                                   m_.vms[p.vm].name)),
                   m_.vms[p.vm].code->loc, "the other program is here");
      placed.push_back({c.base, last, v});
      if (!contains(page->access, v))
        diags_.warning(c.loc, fmt::format("'{}' has no access to its code page '{}', so its first fetch fails (FailI)",
                                          vm.name, page->name));
    }
  }

  void check_mailboxes() {
    std::map<std::size_t, SourceLoc> used;  // page -> where it was first made a mailbox
    std::map<std::size_t, VmId> user;
    for (VmId v = 0; v < m_.vms.size(); ++v) {
      const VmDecl& vm = m_.vms[v];
      for (auto [mb, at] : {std::pair{vm.tx, vm.tx_loc}, std::pair{vm.rx, vm.rx_loc}}) {
        if (!mb) continue;
        const PageDecl& page = m_.pages[*mb];
        auto [it, fresh] = used.try_emplace(*mb, at);
        if (!fresh && user[*mb] != v)
          add_note(diags_.error(at, fmt::format("page '{}' is already a mailbox of '{}'", page.name,
                                                m_.vms[user[*mb]].name)),
                   it->second, "it is made a mailbox here");
        if (fresh) user[*mb] = v;
        if (page.owner && fresh)
          add_note(diags_.error(page.loc, fmt::format("mailbox page '{}' must be owned by the hypervisor; remove "
                                                      "'owner {}'",
                                                      page.name, m_.vms[*page.owner].name)),
                   at, fmt::format("it is a mailbox of '{}'", vm.name));
      }
    }
  }

  // ---- abi nova: portals, semaphores, capabilities, UTCBs ------------------

  bool needs_nova(const ast::Node& at, std::string_view what) {
    if (m_.abi == AbiKind::Nova) return true;
    error(at, fmt::format("{} is a NOVA declaration; add 'abi nova' to the machine", what));
    return false;
  }

  void lower_portal(const ast::PortalDecl& d) {
    if (!needs_nova(d, "a portal")) return;
    PortalDecl pt;
    pt.name = d.name.text;
    pt.loc = loc(d);
    auto ec = vm_named(d.ec);
    if (ec && !m_.vms[*ec].local)
      add_note(error(d.ec, fmt::format("portal '{}' is bound to '{}', whose EC is not local: only a local EC "
                                       "handles calls (add 'local' to '{}')",
                                       d.name.text, d.ec.text, d.ec.text)),
               m_.vms[*ec].loc, fmt::format("'{}' is declared here", d.ec.text));
    if (d.id)
      if (auto v = eval_word(*d.id, "portal id")) pt.id = *v;
    pt.ec = ec.value_or(0);
    m_.portals.push_back(std::move(pt));
  }

  void lower_semaphore(const ast::SemaphoreDecl& d) {
    if (!needs_nova(d, "a semaphore")) return;
    SemaphoreDecl sm;
    sm.name = d.name.text;
    sm.loc = loc(d);
    if (auto v = eval_word(d.count, "semaphore count")) sm.count = *v;
    m_.semaphores.push_back(std::move(sm));
  }

  // The object a capability names: a VM for pd/ec/sc/obj, else a portal or
  // a semaphore, by name.
  std::optional<Word> cap_object(CapKind kind, const ast::Name& n) {
    if (kind == CapKind::Pt || kind == CapKind::Sm) {
      auto want = kind == CapKind::Pt ? Symbol::Portal : Symbol::Semaphore;
      auto it = symbols_.find(n.text);
      if (it == symbols_.end()) {
        std::string best;  // a suggestion among the names of this kind
        std::size_t best_d = 3;
        for (const auto& [other, s] : symbols_)
          if (s.kind == want && n.text.size() <= 64 && edit_distance(other, n.text) < best_d)
            best = other, best_d = edit_distance(other, n.text);
        error(n, best.empty() ? fmt::format("unknown {} '{}'", kind_name(want), n.text)
                              : fmt::format("unknown {} '{}'; did you mean '{}'?", kind_name(want), n.text, best));
        return std::nullopt;
      }
      if (it->second.kind != want) {
        error(n, fmt::format("'{}' is a {}, not a {}", n.text, kind_name(it->second.kind), kind_name(want)));
        return std::nullopt;
      }
      return it->second.value;
    }
    auto vm = vm_named(n);
    if (vm) return Word(*vm);
    return std::nullopt;
  }

  void lower_caps(const ast::VmDecl& d) {
    VmId id = vm_ids_.at(&d);
    if (id >= kMaxVms) return;
    VmDecl& vm = m_.vms[id];
    for (const auto& item : d.items) {
      auto* c = boost::get<ast::CapItem>(&item);
      if (!c || !needs_nova(*c, "a capability")) continue;
      auto sel = eval_word(c->selector, "selector");
      if (sel && *sel >= kSelectorCount) {
        error(c->selector, fmt::format("selector {} is outside the object space (selectors are 0..{})", *sel,
                                       kSelectorCount - 1));
        sel.reset();
      }
      CapKind kind = c->kind == "pd" ? CapKind::Pd : c->kind == "ec" ? CapKind::Ec : c->kind == "sc" ? CapKind::Sc
                     : c->kind == "portal" ? CapKind::Pt : c->kind == "sm" ? CapKind::Sm : CapKind::Obj;
      auto obj = cap_object(kind, c->object);
      auto perms = eval_word(c->perms, "permission mask");
      if (perms && *perms > perm::kMask) {
        error(c->perms, fmt::format("permission mask {:#x} is out of range: a capability has 5 permission bits "
                                    "(0..0x1f)",
                                    *perms));
        perms.reset();
      } else if (perms && (*perms & ~perm::defined(kind))) {
        error(c->perms, fmt::format("permission mask {:#x} sets bits a {} capability does not have (its bits "
                                    "are {:#x}; docs/nova.md lists them)",
                                    *perms, name(kind), perm::defined(kind)));
        perms.reset();
      } else if (perms && *perms == 0) {
        error(c->perms, "a capability without permissions is the null capability; leave the selector empty");
        perms.reset();
      }
      if (!sel || !obj || !perms) continue;
      if (auto it = vm.caps.find(*sel); it != vm.caps.end()) {
        add_note(error(c->selector, fmt::format("selector {} of '{}' is given twice", *sel, d.name.text)),
                 it->second.loc, "first given here");
        continue;
      }
      vm.caps[*sel] = CapDecl{Capability{kind, *obj, *perms}, loc(*c)};
    }
  }

  // A UTCB is the EC's own page: owned by its VM, exclusive, accessible to
  // it alone, and holding neither code nor another EC's UTCB (an IPC writes
  // into it).
  void check_utcbs() {
    std::map<std::size_t, VmId> user;
    for (VmId v = 0; v < m_.vms.size(); ++v) {
      const VmDecl& vm = m_.vms[v];
      if (!vm.utcb) continue;
      const PageDecl& page = m_.pages[*vm.utcb];
      auto note_page = [&](Diagnostic& e) { add_note(e, page.loc, fmt::format("page '{}' is declared here", page.name)); };
      if (auto [it, fresh] = user.try_emplace(*vm.utcb, v); !fresh) {
        note_page(diags_.error(vm.utcb_loc, fmt::format("page '{}' is already the UTCB of '{}'", page.name,
                                                        m_.vms[it->second].name)));
        continue;
      }
      if (page.owner != v || !page.exclusive || page.access != vm_bit(v))
        note_page(diags_.error(vm.utcb_loc, fmt::format("the UTCB of '{}' overlaps what other VMs hold: page '{}' "
                                                        "must be owned by '{}', exclusive, and accessible to '{}' "
                                                        "alone",
                                                        vm.name, page.name, vm.name, vm.name)));
      for (const auto& other : m_.vms)
        if (other.code && m_.page_at(other.code->base) == &page)
          note_page(diags_.error(vm.utcb_loc, fmt::format("the UTCB of '{}' is page '{}', which holds the code of "
                                                          "'{}'; an IPC would overwrite it",
                                                          vm.name, page.name, other.name)));
    }
    if (m_.abi != AbiKind::Nova) return;
    check_nova_protocols();
    for (VmId v = 0; v < m_.vms.size(); ++v) {
      const VmDecl& vm = m_.vms[v];
      if (!vm.local) continue;
      bool bound = std::any_of(m_.portals.begin(), m_.portals.end(), [&](const PortalDecl& p) { return p.ec == v; });
      if (!bound)
        diags_.warning(vm.loc, fmt::format("'{}' is local but no portal is bound to it, so it never runs", vm.name));
    }
  }

  // What the verifier assumes at a switch holds in hvsl's NOVA only if
  // protocols fit how control moves there (docs/nova.md, "Protocols"):
  //  - vm0 runs first, so it cannot be local;
  //  - a local EC is called by whoever holds its portal, and it starts and
  //    resumes with what its caller hands over: one protocol for every caller;
  //  - a global EC other than vm0 first runs when the scheduler picks it
  //    (after vm0 halts), and nothing is handed over then.
  void check_nova_protocols() {
    for (VmId v = 0; v < m_.vms.size(); ++v) {
      const VmDecl& vm = m_.vms[v];
      if (v == 0 && vm.local) {
        diags_.error(vm.loc, fmt::format("'{}' is VM 0, which runs first, so its EC cannot be local", vm.name));
        continue;
      }
      if (vm.local) {
        for (const auto& [giver, proto] : vm.spec.receives_from)
          diags_.error(proto.loc, fmt::format("'{}' is local: whoever holds a portal to it may call it, so what it "
                                              "receives cannot depend on the caller; write 'receives' without "
                                              "'from {}'",
                                              vm.name, m_.vms[giver].name));
        continue;
      }
      if (v == 0) continue;
      auto first = vm.spec.protocol_from(0);
      if (first.assertion && first.assertion->kind != Assertion::Kind::Emp)
        diags_.error(first.loc, fmt::format("'{}' is a global EC: it first runs when the scheduler picks it, and "
                                            "nothing is handed to it then, so it can only receive 'from' an EC "
                                            "it calls (and not from vm0 '{}')",
                                            vm.name, m_.vms[0].name));
    }
  }

  // ---- handles, transactions, memory ---------------------------------------

  void lower_handles(const ast::HandlesDecl& d) {
    if (handles_declared_) {
      add_note(error(d, "the handles are declared twice"), loc(*handles_at_), "first declared here");
      return;
    }
    handles_declared_ = true;
    handles_at_ = &d;
    std::set<Word> seen;
    for (const auto& e : d.handles) {
      auto h = eval_word(e, "handle");
      if (h && !seen.insert(*h).second) error(e, fmt::format("handle {} is listed twice", *h));
    }
    m_.handles.assign(seen.begin(), seen.end());
  }

  void lower_transaction(const ast::TransactionDecl& d) {
    std::size_t errors_before = diags_.all().size();
    auto h = eval_word(d.handle, "handle");
    auto from = vm_named(d.from);
    auto to = vm_named(d.to);
    if (!h || !from || !to) return;
    TransactionDecl t;
    t.handle = *h;
    t.sender = *from;
    t.receiver = *to;
    t.kind = d.kind == "share" ? TransKind::Share : d.kind == "lend" ? TransKind::Lend : TransKind::Donate;
    t.retrieved = d.retrieved.has_value();
    t.loc = loc(d);
    if (!std::binary_search(m_.handles.begin(), m_.handles.end(), *h))
      error(d.handle, fmt::format("handle {} is not one of the machine's handles (declare it with 'handles {{...}}')", *h));
    for (const auto& other : m_.transactions)
      if (other.handle == *h)
        add_note(error(d.handle, fmt::format("handle {} already names a transaction", *h)), other.loc,
                 "the other transaction is here");
    if (*from == *to) error(d.to, "a transaction's sender and receiver must be different VMs");
    if (t.kind == TransKind::Donate && t.retrieved)
      error(d, "a retrieved donation cannot exist: retrieving a donation ends the transaction");
    for (const auto& n : d.pages) {
      auto pi = page_named(n);
      if (!pi) continue;
      Word base = m_.pages[*pi].base;
      if (std::find(t.pages.begin(), t.pages.end(), base) != t.pages.end()) {
        error(n, fmt::format("page '{}' is listed twice", n.text));
        continue;
      }
      for (const auto& other : m_.transactions)
        if (std::find(other.pages.begin(), other.pages.end(), base) != other.pages.end())
          add_note(error(n, fmt::format("page '{}' is already in transaction {}", n.text, other.handle)), other.loc,
                   "that transaction is here");
      t.pages.push_back(base);
    }
    if (t.pages.size() + 4 > p_->page_size) error(d, "too many pages for one transaction descriptor");
    std::sort(t.pages.begin(), t.pages.end());
    // A transaction with errors is left out, so its page-table check adds no noise.
    if (diags_.all().size() == errors_before) m_.transactions.push_back(std::move(t));
  }

  // VMSL's inv_trans_pgt_consistent (vmsl.md §3.1): the page-table entry each
  // transaction state implies.
  void check_transactions_against_page_table() {
    for (const auto& t : m_.transactions) {
      VmSet expect_access = 0;
      bool expect_excl = true;
      if (t.kind == TransKind::Share) {
        expect_excl = false;
        expect_access = vm_bit(t.sender) | (t.retrieved ? vm_bit(t.receiver) : 0);
      } else if (t.retrieved) {
        expect_access = vm_bit(t.receiver);
      }
      for (Word base : t.pages) {
        const PageDecl& pg = *m_.page_at(base);
        if (pg.owner == t.sender && pg.exclusive == expect_excl && pg.access == expect_access) continue;
        std::string access;
        for (VmId v = 0; v < m_.vms.size(); ++v)
          if (contains(expect_access, v)) access += (access.empty() ? "" : ", ") + m_.vms[v].name;
        static constexpr const char* kKeyword[] = {"share", "lend", "donate"};
        add_note(diags_.error(pg.loc, fmt::format("page '{}' does not match its transaction: a{} {} transaction "
                                                  "needs 'owner {}{} access {{{}}}'",
                                                  pg.name, t.retrieved ? " retrieved" : "n unretrieved",
                                                  kKeyword[int(t.kind)], m_.vms[t.sender].name,
                                                  expect_excl ? " exclusive" : "", access)),
                 t.loc, fmt::format("transaction {} is declared here", t.handle));
      }
    }
  }

  void lower_word(const ast::WordDecl& d) {
    auto addr = eval_word(d.addr, "address");
    auto value = eval_word(d.value, "value");
    if (!addr || !value) return;
    const PageDecl* page = m_.page_at(*addr);
    if (!page) {
      error(d.addr, fmt::format("address {} is in no declared page", *addr));
      return;
    }
    auto [it, fresh] = memory_inits_.try_emplace(*addr, loc(d));
    if (!fresh) {
      add_note(error(d, fmt::format("address {} is initialised twice", *addr)), it->second, "first initialised here");
      return;
    }
    for (const auto& vm : m_.vms)
      if (vm.code && *addr >= vm.code->base && *addr - vm.code->base < vm.code->instrs.size())
        add_note(error(d.addr, fmt::format("address {} holds an instruction of '{}'", *addr, vm.name)),
                 vm.code->loc, "the program is here");
    m_.memory.push_back(MemoryInit{*addr, *value, loc(d)});
  }
};

}  // namespace

std::optional<Machine> lower(const ast::File& file, const SourceFile& src, Diagnostics& diags) {
  return Lowering(src, diags).run(file);
}

}  // namespace hvsl
