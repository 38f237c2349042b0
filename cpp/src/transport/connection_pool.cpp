#include "connection_pool.hpp"

#include <openssl/ssl.h>

#include <algorithm>

namespace llmfailover::transport::detail {

void Connection::close() noexcept {
  beast::error_code ec;
  lowest().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  lowest().socket().close(ec);
}

bool Connection::clean() noexcept {
  if (buffer.size() > 0) return false;
  if (tls && SSL_pending(tls->native_handle()) > 0) return false;
  if (tls2 && (SSL_pending(tls2->native_handle()) > 0 || SSL_pending(tls2->next_layer().stream.native_handle()) > 0))
    return false;
  beast::error_code ec;
  std::size_t readable = lowest().socket().available(ec);  // FIONREAD: bytes the peer sent since
  return !ec && readable == 0;
}

std::unique_ptr<Connection> ConnectionPool::take_idle(const std::string& origin) {
  auto it = origins_.find(origin);
  if (it == origins_.end()) return nullptr;
  auto& o = it->second;
  auto now = Clock::now();
  while (!o.idle.empty()) {
    auto conn = std::move(o.idle.back());  // most recently used first: warmest, least likely stale
    o.idle.pop_back();
    if (now - conn->idle_since <= limits_.idle_ttl && conn->lowest().socket().is_open() && conn->clean()) return conn;
    conn->close();
    --o.open;
  }
  return nullptr;
}

bool ConnectionPool::reserve(const std::string& origin) {
  auto& o = origins_[origin];
  if (o.open >= limits_.max_per_origin) {
    // Make room by closing an idle connection, if any.
    if (o.idle.empty()) return false;
    o.idle.front()->close();
    o.idle.pop_front();
    --o.open;
  }
  ++o.open;
  return true;
}

void ConnectionPool::wait_for_slot(const std::string& origin, asio::steady_timer* timer) {
  origins_[origin].waiters.push_back(timer);
}

bool ConnectionPool::forget_waiter(const std::string& origin, asio::steady_timer* timer) {
  auto it = origins_.find(origin);
  if (it == origins_.end()) return false;
  auto& w = it->second.waiters;
  auto pos = std::find(w.begin(), w.end(), timer);
  if (pos == w.end()) return false;
  w.erase(pos);
  return true;
}

void ConnectionPool::pass_wake(const std::string& origin) {
  auto it = origins_.find(origin);
  if (it != origins_.end()) wake_one(it->second);
}

void ConnectionPool::release(std::unique_ptr<Connection> conn, bool keep_alive) {
  auto& o = origins_[conn->origin];
  if (keep_alive && o.idle.size() < limits_.max_idle_per_origin && conn->lowest().socket().is_open() && conn->clean()) {
    conn->idle_since = Clock::now();
    conn->lowest().expires_never();
    o.idle.push_back(std::move(conn));
  } else {
    conn->close();
    --o.open;
  }
  wake_one(o);
}

void ConnectionPool::drop(const std::string& origin) {
  auto& o = origins_[origin];
  if (o.open > 0) --o.open;
  wake_one(o);
}

void ConnectionPool::wake_one(Origin& o) {
  if (o.waiters.empty()) return;
  o.waiters.front()->cancel();
  o.waiters.pop_front();
}

void ConnectionPool::close_all() {
  for (auto& [_, o] : origins_) {
    for (auto& c : o.idle) c->close();
    o.open -= o.idle.size();
    o.idle.clear();
    for (auto* w : o.waiters) w->cancel();
    o.waiters.clear();
  }
}

PoolStats ConnectionPool::stats() const {
  PoolStats s{opened_, reused_, 0, 0};
  for (auto& [_, o] : origins_) {
    s.idle += o.idle.size();
    s.active += o.open - o.idle.size();
  }
  return s;
}

}  // namespace llmfailover::transport::detail
