#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "http/http_client.hpp"
#include "util/sleeper.hpp"

namespace assetctl::http {

// The one retry loop of assetctl (AWS "standard" mode): up to `max_attempts` attempts, waiting
// `jitter() * min(base * 2^n, cap)` between them, or what `Retry-After` asks (up to `cap`).
inline constexpr int k_default_max_attempts = 3;
// Throttled answers (429, ThrottlingException, SlowDown) may take this many attempts: a rate
// limit is the one failure that waiting always cures, and a CI run of hundreds of images
// meets ECR's PutImage limit (10 per second per region) as a matter of course. An explicit
// AWS_MAX_ATTEMPTS (or profile max_attempts) sets both (cli/aws_setup.cpp).
inline constexpr int k_default_throttle_attempts = 8;
inline constexpr std::chrono::milliseconds k_default_backoff_base{1'000};
inline constexpr std::chrono::milliseconds k_default_backoff_cap{20'000};

struct RetryPolicy {
    int max_attempts = k_default_max_attempts;
    std::chrono::milliseconds base = k_default_backoff_base;
    std::chrono::milliseconds cap = k_default_backoff_cap;
    int throttle_attempts = k_default_throttle_attempts;
};

// What an answer means for the loop. `reason` is logged when retrying; `throttled` answers get
// the policy's throttle attempts.
struct Verdict {
    bool retry = false;
    std::string reason;
    bool throttled = false;
};

// How many attempts an operation gets: max_attempts, or for throttled answers the larger
// throttle_attempts (but one when max_attempts is one: the caller asked for no retries).
int attempts_allowed(const RetryPolicy& policy, bool throttled);

struct RetryContext {
    RetryPolicy policy;
    util::Sleeper& sleeper;
    std::function<double()> jitter;  // uniform in [0, 1]
};

// Calls `attempt` until it returns an answer `classify` does not want retried, a transport
// error that retrying cannot fix occurs, or the attempts run out. Returns the last answer
// (callers turn error answers into typed errors) or rethrows the last TransportError.
// `what` names the operation in logs ("ecr DescribeImages").
Response send_with_retries(const RetryContext& context, std::string_view what,
                           const std::function<Response()>& attempt,
                           const std::function<Verdict(const Response&)>& classify);

// The same loop for work that reports failure by throwing (a `docker push`): calls `attempt`
// until it returns, `retry_after` says the exception is not worth another attempt (it is asked
// only when attempts remain, and may log why it retries), or the attempts run out; the last
// exception propagates. Waits as send_with_retries does.
void retry_on_exception(const RetryContext& context, std::string_view what,
                        const std::function<void()>& attempt,
                        const std::function<bool(const std::exception&, int attempt)>& retry_after);

// The wait before attempt `attempt + 1` (attempt counts from 1). Exposed for tests.
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, double jitter,
                                        const Response* response);

// A jitter source from a random device, for production.
std::function<double()> random_jitter();

}  // namespace assetctl::http
