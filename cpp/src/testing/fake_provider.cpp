// fake_provider.cpp — FakeProvider's scripting, fault choice and attempt log.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "fake_impl.hpp"

namespace llmfailover::testing {

FakeProvider::Impl::Impl(Options opts)
    : options(std::move(opts)),
      dialect(detail::make_openai_dialect()),
      started(options.clock ? options.clock() : Clock::now()) {}

const detail::Dialect& detail::dialect_for(std::string_view target, const Dialect& fallback) {
  static const auto anthropic = make_anthropic_dialect();
  static const auto gemini = make_gemini_dialect();
  static const auto bedrock = make_bedrock_dialect();
  static const auto cohere = make_cohere_dialect();
  static const auto google_token = make_google_token_dialect();
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/v1/messages") return *anthropic;
  if (path.starts_with("/model/")) return *bedrock;
  if (path == "/v2/chat" || path == "/v2/embed") return *cohere;
  if (path == "/token") return *google_token;
  if ((path.starts_with("/v1/projects/") || path.starts_with("/v1beta1/projects/")) &&
      path.find(':') != std::string_view::npos) {
    return *gemini;  // Vertex AI
  }
  if ((path.starts_with("/v1beta/models/") || path.starts_with("/v1/models/")) &&
      path.find(':') != std::string_view::npos) {
    return *gemini;
  }
  return fallback;
}

Clock::time_point FakeProvider::Impl::now() const { return options.clock ? options.clock() : Clock::now(); }

double FakeProvider::Impl::since_start() const { return std::chrono::duration<double>(now() - started).count(); }

// Precedence (see the header): outage, script entry, default; the model's own, then "*".
FakeProvider::Impl::Plan FakeProvider::Impl::plan(const std::string& model) {
  const auto t = now();
  const auto wall = std::chrono::system_clock::now();
  std::lock_guard lock(mutex);
  Plan p;
  p.attempt = ++counters[model];
  char id[32];
  std::snprintf(id, sizeof id, "fake%012llx", static_cast<unsigned long long>(++next_request));
  p.request_id = id;
  p.created = std::chrono::duration_cast<std::chrono::seconds>(wall.time_since_epoch()).count();

  auto choose = [&](const std::string& key) -> const Fault* {
    if (auto o = outages.find(key); o != outages.end() && t < o->second.until) return &o->second.fault;
    if (auto s = scripts.find(key); s != scripts.end()) {
      auto b = s->second.base.find(model);
      const int n = p.attempt - (b == s->second.base.end() ? 0 : b->second);  // 1-based in this script
      if (n >= 1 && n <= static_cast<int>(s->second.faults.size())) return &s->second.faults[n - 1];
    }
    if (auto d = defaults.find(key); d != defaults.end()) return &d->second;
    return nullptr;
  };
  const Fault* f = choose(model);
  if (!f) f = choose("*");
  if (f) p.fault = *f;

  // The answer: the attempt's Fault::content, else the model's own tool call or reply (the tool
  // call first), else the same for "*", else the dialect's default text.
  p.content = dialect->default_content(model, options.reply_words);
  if (p.fault.content) {
    p.content = *p.fault.content;
    return p;
  }
  for (const std::string& key : {model, std::string("*")}) {
    if (auto c = tool_calls.find(key); c != tool_calls.end()) {
      p.tool_call = c->second;
      return p;
    }
    if (auto r = replies.find(key); r != replies.end()) {
      p.content = r->second;
      return p;
    }
  }
  return p;
}

void FakeProvider::Impl::add_record(AttemptRecord record) {
  std::lock_guard lock(mutex);
  records.push_back(std::move(record));
}

// The configured list, then any model named in a script, default or reply.
std::vector<std::string> FakeProvider::Impl::model_list() const {
  std::vector<std::string> out = options.models;
  auto add = [&](const std::string& m) {
    if (!m.empty() && m != "*" && std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  };
  std::lock_guard lock(mutex);
  for (const auto& [m, _] : scripts) add(m);
  for (const auto& [m, _] : defaults) add(m);
  for (const auto& [m, _] : replies) add(m);
  for (const auto& [m, _] : tool_calls) add(m);
  return out;
}

FakeProvider::FakeProvider(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {
  impl_->server = make_fake_server(*impl_);
}

FakeProvider::~FakeProvider() { stop(); }

std::uint16_t FakeProvider::port() const noexcept { return impl_->server->port(); }

std::string FakeProvider::root_url() const {
  const std::string& host = impl_->options.host;
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port());
}

std::string FakeProvider::base_url() const { return root_url() + "/v1"; }

void FakeProvider::script(std::string model, std::vector<Fault> faults) {
  std::lock_guard lock(impl_->mutex);
  // Counted from the next attempt, so a script set after earlier traffic (or after an earlier
  // script ran out) takes effect; "*" keeps every model's count.
  auto base = impl_->counters;
  if (model != "*") {
    auto own = base.find(model);
    base = own == base.end() ? decltype(base){} : decltype(base){{own->first, own->second}};
  }
  impl_->scripts[std::move(model)] = {std::move(faults), std::move(base)};
}

void FakeProvider::set_default(std::string model, Fault fault) {
  std::lock_guard lock(impl_->mutex);
  impl_->defaults[std::move(model)] = std::move(fault);
}

void FakeProvider::set_reply(std::string model, std::string content) {
  std::lock_guard lock(impl_->mutex);
  impl_->replies[std::move(model)] = std::move(content);
}

void FakeProvider::set_tool_call(std::string model, std::string name, std::string arguments) {
  if (name.empty()) throw std::invalid_argument("set_tool_call: the tool name is empty");
  JsonError error;
  const auto parsed = parse_json(arguments, &error);
  if (parsed.is_discarded() && error.kind == JsonError::Kind::too_deep)
    throw std::invalid_argument("set_tool_call: arguments are " + error.message());
  if (!parsed.is_object()) throw std::invalid_argument("set_tool_call: arguments must be the JSON text of an object");
  std::lock_guard lock(impl_->mutex);
  impl_->tool_calls[std::move(model)] = detail::ToolCall{std::move(name), std::move(arguments)};
}

void FakeProvider::outage(std::string model, Millis duration, Fault fault) {
  const auto until = impl_->now() + duration;
  std::lock_guard lock(impl_->mutex);
  impl_->outages[std::move(model)] = Impl::Outage{until, std::move(fault)};
}

std::vector<AttemptRecord> FakeProvider::attempts(std::optional<std::string_view> model) const {
  std::lock_guard lock(impl_->mutex);
  if (!model) return impl_->records;
  std::vector<AttemptRecord> out;
  for (const auto& r : impl_->records) {
    if (r.model == *model) out.push_back(r);
  }
  return out;
}

void FakeProvider::reset() {
  std::lock_guard lock(impl_->mutex);
  impl_->scripts.clear();
  impl_->defaults.clear();
  impl_->replies.clear();
  impl_->tool_calls.clear();
  impl_->outages.clear();
  impl_->counters.clear();
  impl_->records.clear();
}

void FakeProvider::stop() { impl_->server->stop(); }

}  // namespace llmfailover::testing
