#include "llmfailover/router.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <limits>

#include "router_impl.hpp"

namespace llmfailover {

namespace {

// Where a deployment's key comes from when the config names none (what each provider's SDK reads).
std::optional<std::string> default_key(const std::string& provider) {
  static const std::map<std::string, std::vector<const char*>> vars = {
      {"openai", {"OPENAI_API_KEY"}},       {"azure", {"AZURE_OPENAI_API_KEY"}},
      {"anthropic", {"ANTHROPIC_API_KEY"}}, {"gemini", {"GEMINI_API_KEY", "GOOGLE_API_KEY"}},
      {"cohere", {"CO_API_KEY", "COHERE_API_KEY"}}, {"mistral", {"MISTRAL_API_KEY"}},
      {"groq", {"GROQ_API_KEY"}},           {"together", {"TOGETHER_API_KEY"}},
      {"openrouter", {"OPENROUTER_API_KEY"}}, {"deepseek", {"DEEPSEEK_API_KEY"}},
      {"fireworks", {"FIREWORKS_API_KEY"}}, {"xai", {"XAI_API_KEY"}}};
  auto it = vars.find(provider);
  if (it == vars.end()) return std::nullopt;
  for (const char* name : it->second)
    if (const char* v = std::getenv(name); v && *v) return std::string(v);
  return std::nullopt;
}

providers::Endpoint endpoint_for(const DeploymentConfig& d, int key) {
  providers::Endpoint e;
  e.base_url = d.base_url;
  if (d.provider == "azure") {
    while (!e.base_url.empty() && e.base_url.back() == '/') e.base_url.pop_back();
    if (e.base_url.find("/openai") == std::string::npos) e.base_url += "/openai";
  }
  if (key < static_cast<int>(d.api_keys.size())) e.api_key = d.api_keys[key];
  else if (auto k = default_key(d.provider)) e.api_key = Secret(*k);
  e.model = d.model;
  e.api_version = d.api_version;
  e.organization = d.organization;
  e.region = d.region;
  e.project = d.project;
  e.headers = d.headers;
  return e;
}

}  // namespace

Router::Impl::Impl(RouterConfig cfg, transport::ClientOptions options, std::shared_ptr<TimeSource> time_source,
                   std::shared_ptr<Random> rng)
    : config(std::move(cfg)),
      time(time_source ? std::move(time_source) : std::make_shared<SteadyTimeSource>()),
      random(rng ? std::move(rng) : std::make_shared<SeededRandom>()),
      http(std::make_shared<transport::HttpClient>(std::move(options))),
      started(time->now()) {
  for (const auto& name : config.groups()) {
    Group& g = groups[name];
    g.name = name;
    g.policy = &config.policy_for(name);
    g.budget = std::make_unique<policy::RetryBudget>(g.policy->budget, *time);
  }
  for (const auto& d : config.deployments) {
    Group& g = groups.at(d.group);
    int keys = std::max<int>(1, static_cast<int>(d.api_keys.size()));
    for (int k = 0; k < keys; ++k) {
      auto t = std::make_unique<Target>();
      t->id = keys > 1 ? d.id + "#key" + std::to_string(k) : d.id;
      t->group = d.group;
      t->deployment = &d;
      t->key_index = k;
      t->provider = providers::find_provider(d.provider);
      if (!t->provider) throw ConfigError("deployments." + d.id + ".provider", "no adapter for provider '" + d.provider + "'");
      t->endpoint = endpoint_for(d, k);
      t->health = std::make_unique<policy::TargetHealth>(g.policy->breaker, g.policy->ramp, *time, *random);
      t->health->set_listener([this, id = t->id](std::string_view from, std::string_view to, std::string_view why) {
        record_event({"breaker", id, std::string(from), std::string(to), std::string(why), ms_since_start(time->now())});
      });
      g.targets.push_back(t.get());
      targets.push_back(std::move(t));
    }
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

Target* Router::Impl::pick(Group& g, const std::set<const Target*>& tried, const std::set<const Target*>& exclude) {
  // Untried targets first (a retry prefers another target); then tried ones. Within a pass only
  // the best priority tier with an available target counts (active-active inside a tier).
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<std::pair<Target*, double>> weighted;
    double total = 0;
    int tier = std::numeric_limits<int>::max();
    for (Target* t : g.targets) {
      if ((pass == 0) == (tried.count(t) > 0) || exclude.count(t)) continue;
      if (t->deployment->weight * t->health->share() > 0) tier = std::min(tier, t->deployment->priority);
    }
    for (Target* t : g.targets) {
      if ((pass == 0) == (tried.count(t) > 0) || exclude.count(t) || t->deployment->priority != tier) continue;
      double w = t->deployment->weight * t->health->share();
      if (w <= 0) continue;
      weighted.emplace_back(t, w);
      total += w;
    }
    while (!weighted.empty()) {
      double r = random->uniform() * total;
      std::size_t i = 0;
      for (; i + 1 < weighted.size() && r >= weighted[i].second; ++i) r -= weighted[i].second;
      Target* t = weighted[i].first;
      if (t->health->try_acquire()) return t;
      total -= weighted[i].second;  // lost a race for the last half-open permit
      weighted.erase(weighted.begin() + static_cast<long>(i));
    }
  }
  return nullptr;
}

double Router::Impl::ms_since_start(Clock::time_point t) const {
  return std::chrono::duration<double, std::milli>(t - started).count();
}

void Router::Impl::record_event(RouterEvent event) {
  std::lock_guard lock(events_mutex);
  if (events.size() < 10'000) events.push_back(std::move(event));  // bounded if nobody drains
}

Router::Router(RouterConfig config, transport::ClientOptions options, std::shared_ptr<TimeSource> time,
               std::shared_ptr<Random> random)
    : impl_(std::make_shared<Impl>(std::move(config), std::move(options), std::move(time), std::move(random))) {}

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
    snap.share = s.share;
    snap.failure_rate = s.failure_rate;
    snap.slow_rate = s.slow_rate;
    snap.in_flight = t->in_flight.load();
    if (s.available_at && *s.available_at > now)
      snap.available_in_ms = std::chrono::duration<double, std::milli>(*s.available_at - now).count();
    out.push_back(std::move(snap));
  }
  return out;
}

std::vector<RouterEvent> Router::drain_events() {
  std::lock_guard lock(impl_->events_mutex);
  std::vector<RouterEvent> out;
  out.swap(impl_->events);
  return out;
}

void Router::close() { impl_->http->shutdown(); }

}  // namespace llmfailover
