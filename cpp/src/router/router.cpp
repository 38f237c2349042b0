#include "llmfailover/router.hpp"

#include <algorithm>
#include <map>
#include <limits>

#include "llmfailover/providers/registry.hpp"
#include "router_impl.hpp"

namespace llmfailover {

namespace {

// A target's Endpoint: the deployment's settings, completed by its provider (registry.hpp).
providers::Endpoint endpoint_for(const DeploymentConfig& d, const providers::ProviderInfo& info, int key) {
  providers::Endpoint e;
  e.base_url = d.base_url;
  if (key < static_cast<int>(d.api_keys.size())) e.api_key = d.api_keys[key];
  e.model = d.model;
  e.api_version = d.api_version;
  e.organization = d.organization;
  e.region = d.region;
  e.project = d.project;
  e.headers = d.headers;
  providers::complete_endpoint(info, e);
  return e;
}

// What an upstream could echo besides the attempt's own headers: every configured key, and the
// environment values its providers authenticate with without sending them as configured
// (registry.hpp environment_secrets: Bedrock's AWS credentials and bearer token).
SecretSet configured_secrets(const RouterConfig& config) {
  SecretSet out;
  std::vector<const providers::ProviderInfo*> seen;
  const EnvLookup env = process_env();
  for (const auto& d : config.deployments) {
    for (const auto& k : d.api_keys) out.add(k.reveal());
    const auto* info = providers::find_provider_info(d.provider);
    if (!info || !info->environment_secrets || std::find(seen.begin(), seen.end(), info) != seen.end()) continue;
    seen.push_back(info);
    for (const auto& s : info->environment_secrets(env)) out.add(s);
  }
  return out;
}

// A Router's own io threads: a handful serve thousands of calls; more is a mistake.
constexpr unsigned kMaxIoThreads = 64;

transport::ClientOptions checked(transport::ClientOptions options) {
  if (options.io_threads < 1 || options.io_threads > kMaxIoThreads) {
    throw ConfigError("io_threads", "must be between 1 and " + std::to_string(kMaxIoThreads) + ", not " +
                                        std::to_string(options.io_threads));
  }
  return options;
}

}  // namespace

Router::Impl::Impl(RouterConfig cfg, transport::ClientOptions client_options,
                   std::shared_ptr<transport::Exchanger> transport, std::shared_ptr<TimeSource> time_source,
                   std::shared_ptr<Random> rng)
    : config(std::move(cfg)),
      time(time_source ? std::move(time_source) : std::make_shared<SteadyTimeSource>()),
      random(rng ? std::move(rng) : std::make_shared<SeededRandom>()),
      options(checked(std::move(client_options))),
      client(transport ? nullptr : std::make_shared<transport::HttpClient>(options)),
      http(transport ? std::move(transport) : client),
      started(time->now()),
      secrets(configured_secrets(config)),
      budgets(config.budgets, *time) {
  for (const auto& name : config.groups()) {
    Group& g = groups[name];
    g.name = name;
    g.policy = &config.policy_for(name);
    g.budget = std::make_unique<policy::RetryBudget>(g.policy->budget, *time);
  }
  providers::CredentialPool credential_pool;  // one Credentials per account (providers/credentials.hpp)
  for (const auto& d : config.deployments) {
    Group& g = groups.at(d.group);
    auto& dep = deployments[&d];
    dep = std::make_unique<DeploymentState>(d, *time);
    int keys = std::max<int>(1, static_cast<int>(d.api_keys.size()));
    for (int k = 0; k < keys; ++k) {
      auto t = std::make_unique<Target>();
      t->id = keys > 1 ? d.id + "#key" + std::to_string(k) : d.id;
      t->group = d.group;
      t->deployment = &d;
      t->key_index = k;
      t->provider = providers::find_provider(d.provider);
      const auto* info = providers::find_provider_info(d.provider);
      if (!t->provider || !info)
        throw ConfigError("deployments." + d.id + ".provider", "no adapter for provider '" + d.provider + "'");
      t->endpoint = endpoint_for(d, *info, k);
      try {
        t->credentials = providers::make_credentials(
            *info, {.credentials = d.credentials, .has_api_key = !d.api_keys.empty(), .model = d.model}, t->endpoint,
            *time, credential_pool);
      } catch (const providers::CredentialError& e) {
        throw ConfigError("deployments." + d.id + "." + e.field(), e.what());
      }
      t->health = std::make_unique<policy::TargetHealth>(g.policy->breaker, g.policy->ramp, *time, *random);
      t->dep = dep.get();
      t->rate = std::make_unique<policy::RateLimitState>(*time);
      if (k < static_cast<int>(d.key_limits.size())) t->key_limits = d.key_limits[k];
      if (t->key_limits.rpm > 0 || t->key_limits.tpm > 0)
        t->key_window =
            std::make_unique<policy::RateWindow>(policy::QuotaLimits{t->key_limits.rpm, t->key_limits.tpm}, *time);
      t->owner = &g;
      t->index = g.targets.size();
      dep->keys.push_back(t.get());
      t->health->set_listener(
          [this, target = t.get()](std::string_view from, std::string_view to, std::string_view why) {
            std::string kind = why.starts_with("active probe") ? "probe" : "breaker";  // policy/health.hpp
            record_event(
                {kind, target->id, std::string(from), std::string(to), std::string(why), ms_since_start(time->now())});
            metrics::note_transition(target->meters, from, to);
            if (shared && !why.starts_with("shared:")) {  // not what another process told us
              if (to == "open") {
                if (auto at = target->health->available_at(); at && *at > time->now())
                  shared->publish_open(target->id, std::chrono::ceil<Millis>(*at - time->now()));
              } else if (to == "closed" && from == "half_open") {
                shared->publish_closed(target->id);
              }
            }
            sync(*target);  // the balancer learns of every state change and ramp step: no polling at pick
          });
      g.targets.push_back(t.get());
      targets.push_back(std::move(t));
    }
  }
  for (auto& [name, g] : groups) {
    const BalancerPolicyConfig& b = g.policy->balancer;
    policy::BalancerConfig bc;
    const std::string& strategy = b.strategy.empty() ? config.routing_strategy : b.strategy;
    bc.strategy = policy::parse_strategy(strategy).value_or(policy::Strategy::weighted_random);
    bc.fail_fast = b.fail_fast;
    bc.active_request_bias = b.active_request_bias;
    bc.ewma.decay = b.ewma_decay;
    bc.ewma.default_rtt = b.default_rtt;
    bc.ewma.rate_limit_penalty = b.rate_limit_penalty;
    bc.ewma.failure_penalty = b.failure_penalty;
    bc.ewma.max_retry_after = g.policy->retry.max_retry_after;
    bc.ewma.metric = policy::parse_latency_metric(b.latency_metric).value_or(policy::LatencyMetric::ttft);
    std::vector<policy::CandidateSpec> specs;
    // A deployment's weight is its share of the group, split evenly over its API keys.
    for (const Target* t : g.targets)
      specs.push_back({t->deployment->weight / static_cast<double>(t->dep->keys.size()), t->deployment->priority,
                       t->deployment->input_price_per_mtok, t->deployment->output_price_per_mtok});
    g.balancer = std::make_unique<policy::Balancer>(bc, specs, *time, *random);
    for (Target* t : g.targets) sync(*t);
  }
  auto check = [this](const std::map<std::string, std::vector<std::string>>& chains, const char* what) {
    for (const auto& [from, to] : chains) {
      for (const auto& name : to)
        if (!groups.count(name)) throw ConfigError(std::string(what) + "." + from, "unknown group '" + name + "'");
    }
  };
  check(config.fallbacks, "fallbacks");
  check(config.context_window_fallbacks, "context_window_fallbacks");
  check(config.content_policy_fallbacks, "content_policy_fallbacks");
  init_metrics(*this);
  share_state();
}

void Router::Impl::share_state() {
  if (!config.state.enabled()) return;
  shared = std::make_unique<state::SharedState>(config.state);
  for (auto& [d, dep] : deployments)
    if (d->rpm > 0 || d->tpm > 0) dep->lease = shared->quota(d->id, {d->rpm, d->tpm});
  for (auto& t : targets) {
    if (t->key_window) t->key_lease = shared->quota(t->id + "#limits", {t->key_limits.rpm, t->key_limits.tpm});
    shared->watch_breaker(t->id, [target = t.get()](std::optional<Millis> open_for) {
      if (open_for) target->health->adopt_shared_open(*open_for);  // the listener syncs the balancer
      else target->health->end_shared_open();
    });
  }
}

Group* Router::Impl::group(const std::string& name) {
  auto it = groups.find(name);
  return it == groups.end() ? nullptr : &it->second;
}

std::vector<std::string> Router::Impl::chain(const std::string& first, const RouteOverrides& overrides) const {
  std::vector<std::string> out{first};
  const std::vector<std::string>* rest = nullptr;
  if (overrides.fallbacks) rest = &*overrides.fallbacks;
  else if (auto it = config.fallbacks.find(first); it != config.fallbacks.end()) rest = &it->second;
  else rest = &config.default_fallbacks;
  for (const auto& g : *rest)
    if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
  return out;
}

std::optional<Picked> Router::Impl::pick(Group& g, const std::set<const Target*>& tried,
                                         const std::set<const Target*>& exclude, const policy::TokenEstimate& estimate,
                                         std::string* skipped) {
  std::vector<std::size_t> avoid, excl;
  for (const Target* t : tried)
    if (t->owner == &g) avoid.push_back(t->index);
  for (const Target* t : exclude)
    if (t->owner == &g) excl.push_back(t->index);
  // Each refusal excludes the target for this pick, so this ends after at most n rounds; a refused
  // target is also blocked in the balancer (sync), so later picks do not draw it again.
  for (std::size_t round = 0; round <= g.targets.size(); ++round) {
    policy::PickOptions o;
    o.avoid = avoid;
    o.exclude = excl;
    o.input_tokens = static_cast<double>(estimate.input);
    o.output_tokens = static_cast<double>(estimate.output);
    auto p = g.balancer->pick(o);
    if (!p) return std::nullopt;
    Target* t = g.targets[p->index];
    excl.push_back(p->index);
    // A panic pick means nothing else is available: if it is refused too, the next one would be,
    // so the pick ends here (without this an open group costs n rounds of O(k log n)).
    const bool panic = p->reason == policy::Pick::Reason::panic;
    if (const Budget* b = budgets.reached(*t)) {  // even a panic pick: a spend cap is never lifted by an outage
      if (skipped) *skipped += (skipped->empty() ? "" : "; ") + ("'" + t->id + "' over budget: " + b->describe());
      sync(*t);
      continue;
    }
    if (!t->health->try_acquire()) {  // a state the balancer has not seen yet, or a lost half-open race
      sync(*t);
      if (panic) return std::nullopt;
      continue;
    }
    Picked out{t, p->reason, {}};
    std::string why;
    if (!admit(*t, estimate, out.tickets, &why)) {
      t->health->release();
      if (skipped) *skipped += (skipped->empty() ? "" : "; ") + why;
      if (panic) return std::nullopt;
      continue;
    }
    return out;
  }
  return std::nullopt;
}

namespace {

std::string usage_text(policy::RateWindow& w) {
  auto u = w.usage();
  return std::to_string(u.requests) + "/" + std::to_string(u.limits.rpm) + " rpm, " + std::to_string(u.tokens) + "/" +
         std::to_string(u.limits.tpm) + " tpm";
}

}  // namespace

void QuotaTickets::correct(Target& t, std::int64_t tokens) const {
  if (deployment) t.dep->window.correct(*deployment, tokens);
  if (key && t.key_window) t.key_window->correct(*key, tokens);
  if (shared && t.dep->lease) t.dep->lease->correct(shared->window, tokens - shared->tokens);
  if (shared && t.key_lease) t.key_lease->correct(shared->window, tokens - shared->tokens);
}

void QuotaTickets::cancel(Target& t) const {
  if (deployment) t.dep->window.cancel(*deployment);
  if (key && t.key_window) t.key_window->cancel(*key);
  if (shared && t.dep->lease) t.dep->lease->give_back(shared->window, shared->tokens);
  if (shared && t.key_lease) t.key_lease->give_back(shared->window, shared->tokens);
}

bool Router::Impl::spend_shared(Target& t, const policy::TokenEstimate& estimate, QuotaTickets& tickets) {
  if (!shared || (!t.dep->lease && !t.key_lease)) return true;
  const std::int64_t window = shared->window_now(), tokens = estimate.total();
  bool refill = false, key_refill = false;
  bool ok = !t.dep->lease || t.dep->lease->try_spend(window, tokens, &refill);
  if (ok && t.key_lease && !t.key_lease->try_spend(window, tokens, &key_refill)) {
    if (t.dep->lease) t.dep->lease->give_back(window, tokens);
    ok = false;
  }
  if (refill || key_refill) shared->wake();  // the next slice is fetched off this thread
  if (ok) tickets.shared = QuotaTickets::Shared{window, tokens};
  return ok;
}

bool Router::Impl::admit(Target& t, const policy::TokenEstimate& estimate, QuotaTickets& tickets, std::string* why) {
  tickets = {};
  if (!t.dep->limiter.try_enter()) {
    for (Target* k : t.dep->keys) sync(*k);  // out of the balancer until a slot frees
    if (why) *why = "'" + t.id + "' shed: " + std::to_string(t.dep->limiter.limit()) + " in flight (max_concurrency)";
    return false;
  }
  const DeploymentConfig& d = *t.deployment;
  std::vector<policy::RateWindow*> windows;
  if (d.rpm > 0 || d.tpm > 0) windows.push_back(&t.dep->window);
  if (t.key_window) windows.push_back(t.key_window.get());
  if (windows.empty()) return true;
  if (auto got = policy::try_acquire_all(windows, estimate.total())) {
    std::size_t i = 0;
    if (d.rpm > 0 || d.tpm > 0) tickets.deployment = (*got)[i++];
    if (t.key_window) tickets.key = (*got)[i];
    if (spend_shared(t, estimate, tickets)) return true;
    // Refused by the fleet's lease (the per-process windows had room): out until the next window
    // when the fleet's window is full, else until the refresher's next slice may have come.
    tickets.cancel(t);
    tickets = {};
    leave(*t.dep);
    const bool full =
        (t.dep->lease && t.dep->lease->state().exhausted) || (t.key_lease && t.key_lease->state().exhausted);
    // Not full: the slice is on its way (a round trip on the refresher's thread); a short block, so
    // the target is back soon after it lands (100 ms here cost a loaded test process 15% of its quota).
    const Millis left = full ? shared->until_next_window() : Millis{10};
    t.quota_block.store((time->now() + left).time_since_epoch().count());
    sync(t);
    if (why)
      *why = "'" + t.id + "' over its fleet-wide quota (state: redis; " +
             (full ? "the window ends in " : "waiting for the next slice, ") + std::to_string(left.count()) + "ms)";
    return false;
  }
  leave(*t.dep);
  Clock::time_point at{};
  policy::RateWindow* full = nullptr;
  for (auto* w : windows) {
    auto when = w->admissible_at(estimate.total());
    if (!full || when > at) at = when, full = w;
  }
  t.quota_block.store(at.time_since_epoch().count());
  sync(t);
  if (why)
    *why =
        "'" + t.id + "' over its " + (full == t.key_window.get() ? "key's " : "") + "quota (" + usage_text(*full) + ")";
  return false;
}

void Router::Impl::sync(Target& t) {
  if (!t.owner || !t.owner->balancer) return;  // during construction
  auto now = time->now();
  double share = t.health->share();
  std::optional<Clock::time_point> block;
  if (share <= 0) {
    // Unavailable until a known time: blocked until then at full share, so the balancer offers it
    // again by itself and the pick's try_acquire applies the due transition (open -> half-open).
    if (auto at = t.health->available_at(); at && *at > now) {
      share = 1.0;
      block = *at;
    }
  }
  auto later = [&](Clock::time_point at) {
    if (at > now && (!block || at > *block)) block = at;
  };
  if (auto kb = t.rate->blocked_until(); kb && *kb > now) later(*kb);  // back at full share after the reset
  else share *= t.rate->share();
  later(Clock::time_point(Clock::duration(t.quota_block.load())));
  if (t.dep->limiter.full()) later(now + kCapRecheck);
  if (const Budget* b = budgets.reached(t)) later(budgets.period_end(*b));  // out until its period ends
  policy::Balancer& b = *t.owner->balancer;
  b.set_share(t.index, share);
  b.block_until(t.index, block.value_or(now));
}

void Router::Impl::leave(DeploymentState& dep) {
  const bool was_full = dep.limiter.full();
  dep.limiter.leave();
  if (was_full)
    for (Target* k : dep.keys) sync(*k);
}

double Router::Impl::ms_since_start(Clock::time_point t) const {
  return std::chrono::duration<double, std::milli>(t - started).count();
}

void Router::Impl::fetch_credential(Target& t, const Timeouts& timeouts, providers::Credentials::Done done) {
  std::shared_ptr<transport::Exchanger> transport = http;
  std::shared_ptr<TimeSource> clock = time;  // the credentials read it until the exchange ends
  const Secret* proxy = t.deployment->proxy ? &*t.deployment->proxy : nullptr;
  providers::StartHttp start = [transport, clock, proxy](HttpRequest request, std::function<void(Event &&)> sink) {
    if (proxy) request.proxy = proxy->reveal();  // the token host through the deployment's proxy too
    transport->start(std::move(request), [sink = std::move(sink), clock](Event&& e) { sink(std::move(e)); });
  };
  t.credentials->fetch(start, timeouts, std::move(done));
}

void Router::Impl::record_event(RouterEvent event) {
  std::lock_guard lock(events_mutex);
  if (events.size() < 10'000) events.push_back(std::move(event));  // bounded if nobody drains
}

Router::Router(RouterConfig config, transport::ClientOptions options, std::shared_ptr<TimeSource> time,
               std::shared_ptr<Random> random)
    : impl_(
          std::make_shared<Impl>(std::move(config), std::move(options), nullptr, std::move(time), std::move(random))) {
  impl_->prober.start(impl_);  // holds the Impl weakly
}

Router::Router(std::shared_ptr<transport::Exchanger> transport, RouterConfig config, std::shared_ptr<TimeSource> time,
               std::shared_ptr<Random> random, transport::ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(config), std::move(options),
                                   transport ? std::move(transport) : throw ConfigError("transport", "is null"),
                                   std::move(time), std::move(random))) {
  impl_->prober.start(impl_);
}

Router::~Router() { close(); }

std::shared_ptr<RoutedCall> Router::send(RouteRequest request) { return start_routed_call(impl_, std::move(request)); }

bool Router::has_group(const std::string& name) const { return impl_->groups.count(name) > 0; }

std::vector<TargetSnapshot> Router::snapshot() const {
  std::vector<TargetSnapshot> out;
  auto now = impl_->time->now();
  for (const auto& t : impl_->targets) {
    auto s = t->health->snapshot();
    TargetSnapshot snap;
    snap.target = t->id;
    snap.group = t->group;
    snap.deployment = t->deployment->id;
    snap.model = t->deployment->model;
    snap.provider = t->deployment->provider;
    snap.key_index = t->key_index;
    snap.state = s.state;
    snap.probe = s.probe;
    snap.ramp_step = s.ramp_step;
    snap.cooling = s.cooling;
    snap.share = s.share;
    snap.failure_rate = s.failure_rate;
    snap.slow_rate = s.slow_rate;
    snap.in_flight = t->in_flight.load();
    if (s.available_at && *s.available_at > now)
      snap.available_in_ms = std::chrono::duration<double, std::milli>(*s.available_at - now).count();
    if (t->owner && t->owner->balancer) {
      auto c = t->owner->balancer->state(t->index);
      snap.strategy = std::string(policy::to_string(t->owner->balancer->strategy()));
      snap.balancer_share = c.share;
      snap.available = c.available;
      snap.weight = c.weight;
      snap.priority = c.priority;
      snap.ewma_ms = c.ewma_ms;
      snap.cost = c.cost;
      snap.balancer_in_flight = c.in_flight;
      if (c.blocked_until && *c.blocked_until > now)
        snap.blocked_for_ms = std::chrono::duration<double, std::milli>(*c.blocked_until - now).count();
    }
    snap.header_share = t->rate->share();
    snap.deployment_in_flight = t->dep->limiter.in_flight();
    snap.max_concurrency = t->dep->limiter.limit();
    snap.shed = t->dep->limiter.rejected();
    auto u = t->dep->window.usage();
    snap.rpm = t->deployment->rpm;
    snap.tpm = t->deployment->tpm;
    if (t->deployment->rpm > 0) snap.requests_left = std::max(0, t->deployment->rpm - u.requests);
    if (t->deployment->tpm > 0) snap.tokens_left = std::max<std::int64_t>(0, t->deployment->tpm - u.tokens);
    if (t->key_window) {
      auto k = t->key_window->usage();
      snap.key_rpm = t->key_limits.rpm;
      snap.key_tpm = t->key_limits.tpm;
      if (t->key_limits.rpm > 0) snap.key_requests_left = std::max(0, t->key_limits.rpm - k.requests);
      if (t->key_limits.tpm > 0) snap.key_tokens_left = std::max<std::int64_t>(0, t->key_limits.tpm - k.tokens);
    }
    out.push_back(std::move(snap));
  }
  // Each group's tier in use is its first with any available weight (O(n), like the snapshot).
  std::map<std::string, std::map<int, double>> tiers;
  for (const auto& s : out)
    if (s.available) tiers[s.group][s.priority] += s.weight * s.balancer_share;
  for (auto& s : out) {
    auto g = tiers.find(s.group);
    if (!s.available || g == tiers.end() || g->second.begin()->first != s.priority) continue;
    const double total = g->second.begin()->second;
    if (total > 0) s.pick_share = s.weight * s.balancer_share / total;
  }
  return out;
}

std::vector<RouterEvent> Router::drain_events() {
  std::lock_guard lock(impl_->events_mutex);
  std::vector<RouterEvent> out;
  out.swap(impl_->events);
  return out;
}

transport::PoolStats Router::pool_stats() const {
  return impl_->client ? impl_->client->stats() : transport::PoolStats{};
}

void Router::close() {
  impl_->prober.stop();  // first: shutdown() runs pending probe timers early, and they must find it stopped
  impl_->http->shutdown();
}

}  // namespace llmfailover
