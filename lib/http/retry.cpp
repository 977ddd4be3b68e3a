#include "http/retry.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <mutex>
#include <random>

#include <spdlog/spdlog.h>

namespace assetctl::http {
namespace {

// Retry-After in delta-seconds; the HTTP-date form is rare for these APIs and ignored.
std::optional<std::chrono::milliseconds> retry_after(const Response& response) {
    const auto value = response.header("Retry-After");
    if (!value) {
        return std::nullopt;
    }
    long seconds = 0;
    const auto* end = value->data() + value->size();
    auto [ptr, ec] = std::from_chars(value->data(), end, seconds);
    if (ec == std::errc::result_out_of_range && ptr == end && value->front() != '-') {
        seconds = std::numeric_limits<long>::max();  // absurdly long: the caller caps it
    } else if (ec != std::errc() || ptr != end || seconds < 0) {
        return std::nullopt;
    }
    // Saturate instead of overflowing (a huge value would otherwise wrap to a negative wait).
    constexpr long k_max_seconds = std::numeric_limits<long>::max() / 1000;
    return std::chrono::milliseconds(std::min(seconds, k_max_seconds) * 1000);
}

}  // namespace

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, double jitter,
                                        const Response* response) {
    if (response != nullptr) {
        if (auto asked = retry_after(*response)) {
            return std::min(*asked, policy.cap);
        }
    }
    const int exponent = std::clamp(attempt - 1, 0, 30);
    const auto ceiling =
        std::min(policy.cap, std::chrono::milliseconds(policy.base.count() << exponent));
    const double factor = std::clamp(jitter, 0.0, 1.0);
    return std::chrono::milliseconds(
        static_cast<long long>(factor * static_cast<double>(ceiling.count())));
}

int attempts_allowed(const RetryPolicy& policy, bool throttled) {
    const int most = std::max(1, policy.max_attempts);
    return throttled && most > 1 ? std::max(most, policy.throttle_attempts) : most;
}

Response send_with_retries(const RetryContext& context, std::string_view what,
                           const std::function<Response()>& attempt,
                           const std::function<Verdict(const Response&)>& classify) {
    int max_attempts = attempts_allowed(context.policy, false);
    for (int n = 1;; ++n) {
        std::string reason;
        std::optional<Response> response;
        try {
            response = attempt();
            const Verdict verdict = classify(*response);
            max_attempts = attempts_allowed(context.policy, verdict.throttled);
            if (!verdict.retry || n >= max_attempts) {
                return std::move(*response);
            }
            reason = verdict.reason;
        } catch (const TransportError& e) {
            if (!e.retryable()) {
                throw;
            }
            max_attempts = attempts_allowed(context.policy, false);
            if (n >= max_attempts) {
                if (n == 1) {
                    throw;
                }
                throw TransportError(e.kind(), std::string(e.what()) + " (after " +
                                                   std::to_string(n) + " attempts)");
            }
            reason = e.what();
        }
        const auto delay =
            backoff_delay(context.policy, n, context.jitter(), response ? &*response : nullptr);
        spdlog::debug("{}: {}; retrying in {} ms (attempt {} of {})", what, reason, delay.count(),
                      n + 1, max_attempts);
        context.sleeper.sleep_for(delay);
    }
}

void retry_on_exception(
    const RetryContext& context, std::string_view what, const std::function<void()>& attempt,
    const std::function<bool(const std::exception&, int attempt)>& retry_after) {
    const int max_attempts = std::max(1, context.policy.max_attempts);
    for (int n = 1;; ++n) {
        try {
            attempt();
            return;
        } catch (const std::exception& e) {
            if (n >= max_attempts || !retry_after(e, n)) {
                throw;
            }
        }
        const auto delay = backoff_delay(context.policy, n, context.jitter(), nullptr);
        spdlog::debug("{}: retrying in {} ms (attempt {} of {})", what, delay.count(), n + 1,
                      max_attempts);
        context.sleeper.sleep_for(delay);
    }
}

std::function<double()> random_jitter() {
    struct State {
        std::mutex mutex;
        std::mt19937_64 engine{std::random_device{}()};
        std::uniform_real_distribution<double> distribution{0.0, 1.0};
    };
    auto state = std::make_shared<State>();
    return [state] {
        std::lock_guard lock(state->mutex);
        return state->distribution(state->engine);
    };
}

}  // namespace assetctl::http
