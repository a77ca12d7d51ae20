#include "logic/hypercalls.h"

#include <algorithm>

namespace hvsl {
namespace {

// One hypercall by VM `caller`, with the helpers every call shares.
class Call {
 public:
  Call(State& s, const PageIndex& pages)
      : s_(s), pages_(pages), p_(s.profile()), caller_(s.current), vm_(s.vms[caller_]) {}

  void dispatch() {
    auto h = decode_hypercall(p_, reg(0));
    if (!h) return error(HvcError::InvParam);
    switch (*h) {
      case Hypercall::Run: return run();
      case Hypercall::Yield: return yield();
      case Hypercall::Share: return mem_send(TransKind::Share);
      case Hypercall::Lend: return mem_send(TransKind::Lend);
      case Hypercall::Donate: return mem_send(TransKind::Donate);
      case Hypercall::Retrieve: return retrieve();
      case Hypercall::Relinquish: return relinquish();
      case Hypercall::Reclaim: return reclaim();
      case Hypercall::Send: return send();
      case Hypercall::Wait: return wait(false);
      case Hypercall::Poll: return wait(true);
    }
  }

 private:
  State& s_;
  const PageIndex& pages_;
  const Profile& p_;
  VmId caller_;
  VmState& vm_;

  Word& reg(Reg r) { return vm_.regs[r]; }
  bool is_primary() const { return caller_ == 0; }
  const VmDecl& decl(VmId v) const { return s_.machine->vms[v]; }
  std::optional<VmId> decode_vmid(Word w) const {
    if (w < s_.vms.size()) return VmId(w);
    return std::nullopt;
  }
  void advance() { vm_.pc() = p_.add(vm_.pc(), 1); }
  void success() { reg(0) = encode_success(p_); advance(); }
  void error(HvcError e) {
    reg(0) = encode_error(p_);
    reg(2) = encode(p_, e);
    advance();
  }
  // The caller's pc moves past the hvc before control passes to `target`.
  void switch_to(VmId target) {
    advance();
    s_.current = target;
  }
  // The transaction behind a handle, or null if the handle is invalid.
  Transaction* transaction(Word h) {
    auto it = s_.trans.find(h);
    if (it == s_.trans.end() || !it->second) return nullptr;
    return &*it->second;
  }
  PageState& page(Word base) { return s_.pgt[*pages_.find(base)]; }

  void run() {
    if (!is_primary()) return error(HvcError::Denied);
    auto target = decode_vmid(reg(1));
    if (!target) return error(HvcError::InvParam);
    switch_to(*target);
  }

  void yield() {
    s_.vms[0].regs[0] = encode(p_, Hypercall::Yield);
    if (is_primary()) return advance();
    s_.vms[0].regs[1] = caller_;
    switch_to(0);
  }

  // Share, Lend, Donate: the descriptor is at the start of the caller's TX page
  // (sender, handle = 0, page count, receiver, pages...), r1 is its length.
  void mem_send(TransKind kind) {
    const auto& tx = decl(caller_).tx;
    Word len = reg(1);
    if (!tx || len > p_.page_size || len < 4) return error(HvcError::InvParam);
    auto word = [&](Word k) { return s_.word(*tx, k); };
    auto sender = decode_vmid(word(0));
    auto receiver = decode_vmid(word(3));
    if (!sender || word(1) != 0 || !receiver || word(2) != len - 4) return error(HvcError::InvParam);
    std::vector<Word> ps;
    for (Word k = 4; k < len; ++k) {
      if (!p_.is_page_aligned(word(k))) return error(HvcError::InvParam);
      ps.push_back(word(k));
    }
    if (*sender != caller_ || *sender == *receiver) return error(HvcError::InvParam);
    std::sort(ps.begin(), ps.end());
    ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
    for (Word pg : ps) {
      if (!pages_.find(pg)) return error(HvcError::Denied);
      const PageState& e = page(pg);
      if (!contains(e.access, caller_) || !e.exclusive || e.owner != caller_) return error(HvcError::Denied);
    }
    auto free = std::find_if(s_.trans.begin(), s_.trans.end(), [](auto& t) { return !t.second; });
    if (free == s_.trans.end()) return error(HvcError::NoMem);
    for (Word pg : ps) {
      if (kind == TransKind::Share) page(pg).exclusive = !page(pg).exclusive;
      else page(pg).access &= ~vm_bit(caller_);
    }
    free->second = Transaction{caller_, *receiver, ps, kind, false};
    reg(2) = free->first;
    success();
  }

  void retrieve() {
    Word h = reg(1);
    Transaction* t = transaction(h);
    if (!t) return error(HvcError::InvParam);
    if (t->receiver != caller_ || t->retrieved) return error(HvcError::Denied);
    const auto& rx = decl(caller_).rx;
    if (!rx) return error(HvcError::InvParam);
    if (vm_.rx) return error(HvcError::Busy);
    // The retrieve message: sender, handle, kind, page count, pages.
    Word l = t->pages.size() + 4;
    std::vector<Word> msg = {t->sender, h, encode(p_, t->kind), p_.sub(l, 4)};
    msg.insert(msg.end(), t->pages.begin(), t->pages.end());
    for (Word k = 0; k < msg.size(); ++k) s_.word(*rx, k) = msg[k];
    vm_.rx = RxMessage{l, t->sender};
    for (Word pg : t->pages) page(pg).access |= vm_bit(caller_);
    if (t->kind == TransKind::Donate) {
      for (Word pg : t->pages) page(pg).owner = caller_;
      s_.trans[h] = std::nullopt;  // the handle is free again
    } else {
      t->retrieved = true;
    }
    success();
  }

  void relinquish() {
    Transaction* t = transaction(reg(1));
    if (!t) return error(HvcError::InvParam);
    if (!t->retrieved || t->receiver != caller_) return error(HvcError::Denied);
    t->retrieved = false;
    for (Word pg : t->pages) page(pg).access &= ~vm_bit(caller_);
    success();
  }

  void reclaim() {
    Word h = reg(1);
    Transaction* t = transaction(h);
    if (!t) return error(HvcError::InvParam);
    if (t->sender != caller_ || t->retrieved) return error(HvcError::Denied);
    for (Word pg : t->pages) {
      if (t->kind == TransKind::Share) page(pg).exclusive = !page(pg).exclusive;
      else page(pg).access |= vm_bit(t->sender);
    }
    s_.trans[h] = std::nullopt;
    success();
  }

  void send() {
    auto receiver = decode_vmid(reg(1));
    Word len = reg(2);
    if (!receiver || *receiver == caller_ || len > p_.page_size) return error(HvcError::InvParam);
    const auto& tx = decl(caller_).tx;
    const auto& rx = decl(*receiver).rx;
    if (!tx || !rx) return error(HvcError::InvParam);
    if (s_.vms[*receiver].rx) return error(HvcError::Busy);
    for (Word k = 0; k < len; ++k) s_.word(*rx, k) = s_.word(*tx, k);
    s_.vms[*receiver].rx = RxMessage{len, caller_};
    if (is_primary()) return advance();  // VMSL: no register changes for the primary
    auto& r0 = s_.vms[0].regs;
    r0[0] = encode(p_, Hypercall::Send);
    r0[1] = reg(1);
    r0[2] = len;
    switch_to(0);
  }

  // Wait and Poll read a message if there is one; with an empty RX, Wait
  // returns to the primary and Poll fails with DENIED.
  void wait(bool poll) {
    if (vm_.rx) {
      reg(0) = encode(p_, Hypercall::Send);
      reg(1) = vm_.rx->length;
      reg(2) = vm_.rx->sender;
      vm_.rx.reset();
      return advance();
    }
    if (poll) return error(HvcError::Denied);
    auto& r0 = s_.vms[0].regs;
    r0[0] = encode(p_, Hypercall::Wait);
    r0[1] = caller_;
    if (is_primary()) return advance();
    switch_to(0);
  }
};

}  // namespace

void exec_hypercall(State& s, const PageIndex& pages) { Call(s, pages).dispatch(); }

}  // namespace hvsl
