#include "logic/spec.h"

#include <numeric>

#include <fmt/format.h>

namespace hvsl {

Perm Perm::make(std::uint64_t n, std::uint64_t d) {
  std::uint64_t g = std::gcd(n, d);
  if (g == 0) return Perm{0, 1};
  return Perm{n / g, d / g};
}

Perm operator+(const Perm& a, const Perm& b) { return Perm::make(a.num * b.den + b.num * a.den, a.den * b.den); }
Perm operator-(const Perm& a, const Perm& b) { return Perm::make(a.num * b.den - b.num * a.den, a.den * b.den); }

Perm operator*(const Perm& a, const Perm& b) { return Perm::make(a.num * b.num, a.den * b.den); }

std::string Perm::str() const { return den == 1 ? fmt::format("{}", num) : fmt::format("{}/{}", num, den); }

const ResourceInfo* resource_info(const std::string& name) {
  static const std::vector<ResourceInfo> table = {
      {"mem", {Sort::Word}, {Sort::Word}},                    // mem[addr] |-> value
      {"reg", {Sort::Word, Sort::Word}, {Sort::Word}},        // reg(vm, n) |-> value: register rn of another VM
      {"access", {Sort::Word}, {Sort::Set}},                  // access(vm) |-> pages it can access
      {"owner", {Sort::Word}, {Sort::Word}},                  // owner(page) |-> vm
      {"excl", {Sort::Word}, {Sort::Bool}},                   // excl(page) |-> flag
      {"tx", {Sort::Word}, {Sort::Word}},                     // tx(vm) |-> page
      {"rx", {Sort::Word}, {Sort::Word}},                     // rx(vm) |-> page
      {"rxstate", {Sort::Word}, {Sort::Bool, Sort::Word, Sort::Word}},  // (full, length, sender)
      {"trans", {Sort::Word}, {Sort::Word, Sort::Word, Sort::Set, Sort::Word}},  // (sender, receiver, pages, kind)
      {"retrieved", {Sort::Word}, {Sort::Bool}},              // retrieved(handle) |-> flag
      {"handles", {}, {Sort::Set}},                           // handles() |-> free handles
      // abi nova (docs/nova.md)
      {"cap", {Sort::Word, Sort::Word}, {Sort::Word, Sort::Word, Sort::Word}},  // cap(pd, sel) |-> (kind, object, perms)
      {"utcb", {Sort::Word}, {Sort::Word}},                   // utcb(vm) |-> page
      {"portal", {Sort::Word}, {Sort::Word, Sort::Word}},     // portal(p) |-> (ec, id)
      {"ec", {Sort::Word}, {Sort::Word}},                     // ec(vm) |-> what it waits for (EC_READY, ...)
      {"reply", {Sort::Word}, {Sort::Bool, Sort::Word}},      // reply(vm) |-> (a call is being handled, its caller)
      {"sm", {Sort::Word}, {Sort::Word, Sort::Word}},         // sm(s) |-> (counter, blocked ECs)
      {"sms", {}, {Sort::Word}},                              // sms() |-> how many semaphores there are
  };
  for (const auto& r : table)
    if (r.name == name) return &r;
  return nullptr;
}

}  // namespace hvsl
