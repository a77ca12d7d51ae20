#include "vcgen/adversary.h"

#include <fmt/format.h>

namespace hvsl {

namespace {

// The NOVA part of the reach: what the unknown PDs' capabilities name,
// closed under OBJ capabilities (a PD that can take from or grant into
// another PD's space reaches that space's capabilities too).
void nova_reach(const Machine& m, Adversary& a) {
  a.nova = true;
  a.declared_pds = m.vms.size();
  a.declared_portals = m.portals.size();
  a.declared_sms = m.semaphores.size();
  for (VmId v = 0; v < m.vms.size(); ++v)
    if (a.unknown(v)) {
      a.pds.try_emplace(v, Adversary::Why{fmt::format("it is the unknown {}'s", m.vms[v].name), m.vms[v].loc});
      a.ecs.try_emplace(v, Adversary::Why{fmt::format("{} is unknown", m.vms[v].name), m.vms[v].loc});
    }
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [v, why] : std::map<VmId, Adversary::Why>(a.pds))
      for (const auto& [sel, c] : m.vms[v].caps)
        if (c.cap.kind == CapKind::Obj && c.cap.obj < m.vms.size() && !a.pds.count(VmId(c.cap.obj)))
          grew = a.pds
                     .try_emplace(VmId(c.cap.obj),
                                  Adversary::Why{fmt::format("{}'s capability {} names its object space, and {}",
                                                             m.vms[v].name, sel, why.text),
                                                 c.loc})
                     .second;
  }
  for (const auto& [v, why] : a.pds)
    for (const auto& [sel, c] : m.vms[v].caps) {
      std::string text = fmt::format("{}'s capability {} names it", m.vms[v].name, sel);
      if (c.cap.kind == CapKind::Pt) a.portals.try_emplace(c.cap.obj, Adversary::Why{text, c.loc});
      if (c.cap.kind == CapKind::Sm) a.sms.try_emplace(c.cap.obj, Adversary::Why{text, c.loc});
      if (c.cap.kind == CapKind::Ec && c.cap.obj < m.vms.size())  // create_pt binds a portal to it
        a.ecs.try_emplace(VmId(c.cap.obj), Adversary::Why{text, c.loc});
    }
  for (const auto& [p, why] : a.portals) {
    if (p >= m.portals.size()) continue;
    const PortalDecl& pt = m.portals[p];
    a.ecs.try_emplace(pt.ec, Adversary::Why{fmt::format("an unknown PD can call it through portal {} ({})", pt.name,
                                                        why.text),
                                            why.loc});
  }
  // A call writes the callee's UTCB.
  for (const auto& [v, why] : a.ecs)
    if (m.vms[v].utcb)
      a.pages.try_emplace(m.pages[*m.vms[v].utcb].base,
                          Adversary::Why{fmt::format("it is the UTCB of {}, and {}", m.vms[v].name, why.text), why.loc});
}

}  // namespace

Adversary adversary_of(const Machine& m) {
  Adversary a;
  for (VmId v = 0; v < m.vms.size(); ++v)
    if (!m.vms[v].known) a.vms |= vm_bit(v);
  if (!a.any()) return a;
  auto add = [&](Word page, std::string text, SourceLoc loc) { a.pages.try_emplace(page, Adversary::Why{text, loc}); };
  for (const auto& pg : m.pages)
    for (VmId v = 0; v < m.vms.size(); ++v) {
      if (!a.unknown(v)) continue;
      if (contains(pg.access, v)) add(pg.base, fmt::format("{} can access it", m.vms[v].name), pg.loc);
      if (pg.owner == v) add(pg.base, fmt::format("{} owns it", m.vms[v].name), pg.loc);
    }
  for (const auto& t : m.transactions) {
    for (VmId v : {t.sender, t.receiver}) {
      if (!a.unknown(v)) continue;
      for (Word p : t.pages)
        add(p, fmt::format("it is in transaction {}, which {} is party to", t.handle, m.vms[v].name), t.loc);
    }
  }
  for (VmId v = 0; v < m.vms.size(); ++v) {
    const VmDecl& d = m.vms[v];
    if (!a.unknown(v)) continue;
    if (d.tx) add(m.pages[*d.tx].base, fmt::format("it is {}'s TX page", d.name), d.tx_loc);
    if (d.rx) add(m.pages[*d.rx].base, fmt::format("it is {}'s RX page", d.name), d.rx_loc);
  }
  if (m.abi == AbiKind::Nova) nova_reach(m, a);
  return a;
}

std::optional<Adversary::Why> Adversary::reaches(const Machine& m, const std::string& name,
                                                 const std::vector<Word>& keys) const {
  if (!any()) return std::nullopt;
  if (nova && name == "sms") return Why{"an unknown PD may make semaphores", pds.begin()->second.loc};
  if (keys.empty()) return std::nullopt;
  Word k = keys[0];
  auto on_page = [&](Word page) -> std::optional<Why> {
    auto it = pages.find(page);
    if (it == pages.end()) return std::nullopt;
    return it->second;
  };
  if (name == "mem") return on_page(m.profile->page_of(k));
  if (nova) {
    auto in = [](const auto& map, auto key) -> std::optional<Why> {
      auto it = map.find(key);
      if (it == map.end()) return std::nullopt;
      return it->second;
    };
    auto made = [&](const char* what) {
      return Why{fmt::format("a {} made while the machine runs may be an unknown PD's", what), pds.begin()->second.loc};
    };
    if (name == "cap") return k >= declared_pds ? made("PD") : in(pds, VmId(k));
    if (name == "ec" || name == "reply") return k < m.vms.size() ? in(ecs, VmId(k)) : std::nullopt;
    if (name == "portal") return k >= declared_portals ? made("portal") : in(portals, k);
    if (name == "sm") return k >= declared_sms ? made("semaphore") : in(sms, k);
    return std::nullopt;  // utcb(v) and the page table never change
  }
  if (name == "owner" || name == "excl") return on_page(k);
  if (name == "access" || name == "rxstate") {
    if (k < m.vms.size() && unknown(VmId(k)))
      return Why{fmt::format("it is {}'s own", m.vms[k].name), m.vms[k].loc};
    return std::nullopt;
  }
  if (name == "trans" || name == "retrieved") {
    for (const auto& t : m.transactions)
      if (t.handle == k && (unknown(t.sender) || unknown(t.receiver)))
        return Why{fmt::format("transaction {} has the unknown {} as a party", k,
                               m.vms[unknown(t.sender) ? t.sender : t.receiver].name),
                   t.loc};
  }
  return std::nullopt;
}

namespace {

Failure overlap(const std::string& id, std::string message, SourceLoc loc, const Adversary::Why& why) {
  Failure f;
  f.id = id;
  f.message = std::move(message);
  f.loc = loc;
  f.related = why.loc;
  f.related_note = "declared here";
  return f;
}

}  // namespace

std::vector<ClaimProblem> check_footprints(const Machine& m, const Adversary& a, const std::vector<VmId>& vms) {
  std::vector<ClaimProblem> out;
  // Pages some known VM uses without owning their content.
  std::map<Word, std::pair<VmId, SourceLoc>> shared;
  for (VmId v : vms)
    for (const auto& s : m.vms[v].shares) shared.try_emplace(m.pages[s.page].base, v, s.loc);

  for (VmId v : vms) {
    const VmDecl& d = m.vms[v];
    const std::string& me = d.name;
    if (d.code)
      if (auto why = a.reaches(m, "mem", {d.code->base}))
        out.push_back({v, overlap("footprint.overlap",
                                  fmt::format("an unknown VM can overwrite {}'s code: its page {} is in the unknown "
                                              "VMs' reach ({})",
                                              me, m.page_at(d.code->base)->name, why->text),
                                  d.code->loc, *why)});
    std::vector<std::pair<const char*, HeldClaims>> specs;
    specs.emplace_back("precondition", collect_claims(m, d.spec.requires_));
    if (d.spec.receives) specs.emplace_back("protocol", collect_claims(m, d.spec.receives));
    for (const auto& [giver, proto] : d.spec.receives_from)
      specs.emplace_back("protocol", collect_claims(m, proto.assertion));
    for (const auto& [what, held] : specs) {
      for (const auto& c : held.claims) {
        if (auto why = a.reaches(m, c.name, c.keys)) {
          out.push_back({v, overlap("footprint.overlap",
                                    fmt::format("{}'s {} holds {}, which an unknown VM can change at any time ({})",
                                                me, what, c.text(), why->text),
                                    c.loc, *why)});
          continue;
        }
        if (c.name != "mem") continue;
        auto sh = shared.find(m.profile->page_of(c.keys[0]));
        if (sh == shared.end()) continue;
        Failure f = overlap("shares.held",
                            fmt::format("{}'s {} holds {}, but {} writes that page without owning it ('shares')", me,
                                        what, c.text(), m.vms[sh->second.first].name),
                            c.loc, Adversary::Why{"", sh->second.second});
        f.related_note = "the page is shared here";
        out.push_back({v, std::move(f)});
      }
    }
  }
  return out;
}

}  // namespace hvsl
