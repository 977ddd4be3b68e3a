#include <chrono>
#include <stdexcept>
#include <vector>

#include <catch2/catch.hpp>

#include "http/retry.hpp"

using namespace assetctl::http;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

class RecordingSleeper final : public assetctl::util::Sleeper {
  public:
    void sleep_for(milliseconds duration) override { slept.push_back(duration); }
    std::vector<milliseconds> slept;
};

Response answer(long status, Headers headers = {}, std::string body = {}) {
    Response response;
    response.status = status;
    response.headers = std::move(headers);
    response.body = std::move(body);
    return response;
}

Verdict retry_5xx(const Response& response) {
    if (response.status >= 500) {
        return {true, "status " + std::to_string(response.status)};
    }
    return {};
}

RetryPolicy policy(int max_attempts, milliseconds base = 100ms, milliseconds cap = 1'000ms) {
    RetryPolicy p;
    p.max_attempts = max_attempts;
    p.base = base;
    p.cap = cap;
    return p;
}

}  // namespace

TEST_CASE("backoff_delay is jitter times base doubled per attempt, capped") {
    const RetryPolicy p = policy(10, 100ms, 1'000ms);
    CHECK(backoff_delay(p, 1, 1.0, nullptr) == 100ms);
    CHECK(backoff_delay(p, 2, 1.0, nullptr) == 200ms);
    CHECK(backoff_delay(p, 3, 1.0, nullptr) == 400ms);
    CHECK(backoff_delay(p, 4, 1.0, nullptr) == 800ms);
    CHECK(backoff_delay(p, 5, 1.0, nullptr) == 1'000ms);
    CHECK(backoff_delay(p, 100, 1.0, nullptr) == 1'000ms);
    CHECK(backoff_delay(p, 3, 0.5, nullptr) == 200ms);
    CHECK(backoff_delay(p, 5, 0.25, nullptr) == 250ms);
    CHECK(backoff_delay(p, 2, 0.0, nullptr) == 0ms);
    // Out-of-range jitter is clamped to [0, 1].
    CHECK(backoff_delay(p, 2, 7.0, nullptr) == 200ms);
    CHECK(backoff_delay(p, 2, -1.0, nullptr) == 0ms);
}

TEST_CASE("backoff_delay defaults follow the AWS standard mode constants") {
    const RetryPolicy p;
    CHECK(p.max_attempts == 3);
    CHECK(backoff_delay(p, 1, 1.0, nullptr) == 1'000ms);
    CHECK(backoff_delay(p, 5, 1.0, nullptr) == 16'000ms);
    CHECK(backoff_delay(p, 6, 1.0, nullptr) == 20'000ms);
}

TEST_CASE("backoff_delay honours Retry-After in seconds up to the cap") {
    const RetryPolicy p = policy(5, 100ms, 5'000ms);
    const Response two = answer(503, {{"retry-after", "2"}});
    CHECK(backoff_delay(p, 1, 0.1, &two) == 2'000ms);
    const Response zero = answer(429, {{"Retry-After", "0"}});
    CHECK(backoff_delay(p, 3, 1.0, &zero) == 0ms);
    const Response long_wait = answer(503, {{"Retry-After", "3600"}});
    CHECK(backoff_delay(p, 1, 1.0, &long_wait) == 5'000ms);
    // Far beyond any sane value (and beyond what fits in milliseconds): still the cap.
    const Response huge = answer(503, {{"Retry-After", "9223372036854775807"}});
    CHECK(backoff_delay(p, 1, 1.0, &huge) == 5'000ms);
    const Response too_big = answer(503, {{"Retry-After", "99999999999999999999999"}});
    CHECK(backoff_delay(p, 1, 1.0, &too_big) == 5'000ms);
}

TEST_CASE("backoff_delay falls back to the formula for unusable Retry-After values") {
    const RetryPolicy p = policy(5, 100ms, 5'000ms);
    for (const char* value :
         {"", "soon", "-1", "1.5", " 2", "Wed, 21 Oct 2015 07:28:00 GMT", "2s"}) {
        INFO(value);
        const Response response = answer(503, {{"Retry-After", value}});
        CHECK(backoff_delay(p, 2, 1.0, &response) == 200ms);
    }
}

TEST_CASE("send_with_retries returns the first answer that is not to be retried") {
    RecordingSleeper sleeper;
    const RetryContext context{policy(5), sleeper, [] { return 0.5; }};
    int calls = 0;
    const Response response = send_with_retries(
        context, "test",
        [&] {
            ++calls;
            return answer(calls < 3 ? 503 : 200, {}, "call " + std::to_string(calls));
        },
        retry_5xx);
    CHECK(response.status == 200);
    CHECK(response.body == "call 3");
    CHECK(calls == 3);
    CHECK(sleeper.slept == std::vector<milliseconds>{50ms, 100ms});
}

TEST_CASE("send_with_retries does not retry answers the classifier accepts") {
    RecordingSleeper sleeper;
    const RetryContext context{policy(5), sleeper, [] { return 1.0; }};
    for (long status : {200L, 204L, 400L, 403L, 404L}) {
        int calls = 0;
        const Response response = send_with_retries(
            context, "test",
            [&] {
                ++calls;
                return answer(status);
            },
            retry_5xx);
        CHECK(response.status == status);
        CHECK(calls == 1);
    }
    CHECK(sleeper.slept.empty());
}

TEST_CASE("send_with_retries returns the last answer when the attempts run out") {
    RecordingSleeper sleeper;
    const RetryContext context{policy(4, 100ms, 250ms), sleeper, [] { return 1.0; }};
    int calls = 0;
    const Response response = send_with_retries(
        context, "test",
        [&] {
            ++calls;
            return answer(500, {{"X-Call", std::to_string(calls)}});
        },
        retry_5xx);
    CHECK(calls == 4);
    CHECK(response.status == 500);
    CHECK(response.header("x-call") == "4");
    // No wait after the last attempt; the third wait is capped.
    CHECK(sleeper.slept == std::vector<milliseconds>{100ms, 200ms, 250ms});
}

TEST_CASE("send_with_retries makes one attempt when max_attempts is below one") {
    RecordingSleeper sleeper;
    for (int max_attempts : {1, 0, -3}) {
        const RetryContext context{policy(max_attempts), sleeper, [] { return 1.0; }};
        int calls = 0;
        const Response response = send_with_retries(
            context, "test",
            [&] {
                ++calls;
                return answer(503);
            },
            retry_5xx);
        CHECK(response.status == 503);
        CHECK(calls == 1);
    }
    CHECK(sleeper.slept.empty());
}

TEST_CASE("send_with_retries waits what Retry-After asks, capped") {
    RecordingSleeper sleeper;
    const RetryContext context{policy(3, 100ms, 2'000ms), sleeper, [] { return 0.5; }};
    int calls = 0;
    const Response response = send_with_retries(
        context, "test",
        [&] {
            ++calls;
            if (calls == 1) {
                return answer(429, {{"Retry-After", "1"}});
            }
            if (calls == 2) {
                return answer(503, {{"Retry-After", "120"}});
            }
            return answer(200);
        },
        [](const Response& r) {
            return Verdict{r.status != 200, "busy"};
        });
    CHECK(response.status == 200);
    CHECK(sleeper.slept == std::vector<milliseconds>{1'000ms, 2'000ms});
}

TEST_CASE("send_with_retries retries retryable transport errors") {
    const auto kind = GENERATE(TransportErrorKind::connect, TransportErrorKind::timeout,
                               TransportErrorKind::connection_reset);
    RecordingSleeper sleeper;
    const RetryContext context{policy(3), sleeper, [] { return 1.0; }};
    int calls = 0;
    const Response response = send_with_retries(
        context, "test",
        [&]() -> Response {
            ++calls;
            if (calls < 3) {
                throw TransportError(kind, "attempt " + std::to_string(calls));
            }
            return answer(200);
        },
        retry_5xx);
    CHECK(response.status == 200);
    CHECK(calls == 3);
    CHECK(sleeper.slept == std::vector<milliseconds>{100ms, 200ms});
}

TEST_CASE("send_with_retries rethrows transport errors retrying cannot fix at once") {
    const auto kind =
        GENERATE(TransportErrorKind::tls, TransportErrorKind::resolve, TransportErrorKind::other);
    RecordingSleeper sleeper;
    const RetryContext context{policy(5), sleeper, [] { return 1.0; }};
    int calls = 0;
    try {
        send_with_retries(
            context, "test",
            [&]() -> Response {
                ++calls;
                throw TransportError(kind, "no luck");
            },
            retry_5xx);
        FAIL("expected TransportError");
    } catch (const TransportError& e) {
        CHECK(e.kind() == kind);
        CHECK_FALSE(e.retryable());
    }
    CHECK(calls == 1);
    CHECK(sleeper.slept.empty());
}

TEST_CASE("send_with_retries throws the last transport error, with the attempts, after the last") {
    RecordingSleeper sleeper;
    const RetryContext context{policy(3), sleeper, [] { return 1.0; }};
    int calls = 0;
    try {
        send_with_retries(
            context, "test",
            [&]() -> Response {
                ++calls;
                throw TransportError(
                    calls == 3 ? TransportErrorKind::timeout : TransportErrorKind::connect,
                    "attempt " + std::to_string(calls));
            },
            retry_5xx);
        FAIL("expected TransportError");
    } catch (const TransportError& e) {
        CHECK(e.kind() == TransportErrorKind::timeout);
        CHECK(std::string(e.what()) == "attempt 3 (after 3 attempts)");
    }
    CHECK(calls == 3);
    CHECK(sleeper.slept.size() == 2);
}

TEST_CASE("send_with_retries lets other exceptions through untouched") {
    RecordingSleeper sleeper;
    const RetryContext context{policy(3), sleeper, [] { return 1.0; }};
    int calls = 0;
    CHECK_THROWS_AS(send_with_retries(
                        context, "test",
                        [&]() -> Response {
                            ++calls;
                            throw std::logic_error("bug");
                        },
                        retry_5xx),
                    std::logic_error);
    CHECK(calls == 1);
}

TEST_CASE("send_with_retries mixes error answers and transport errors") {
    RecordingSleeper sleeper;
    const RetryContext context{policy(3, 100ms, 10'000ms), sleeper, [] { return 1.0; }};
    int calls = 0;
    const Response response = send_with_retries(
        context, "test",
        [&]() -> Response {
            ++calls;
            if (calls == 1) {
                return answer(503, {{"Retry-After", "3"}});
            }
            if (calls == 2) {
                throw TransportError(TransportErrorKind::connection_reset, "reset");
            }
            return answer(502);
        },
        retry_5xx);
    CHECK(response.status == 502);
    // A transport error has no Retry-After: back to the formula for the second wait.
    CHECK(sleeper.slept == std::vector<milliseconds>{3'000ms, 200ms});
}

TEST_CASE("random_jitter stays within [0, 1] and varies") {
    const auto jitter = random_jitter();
    double low = 1.0;
    double high = 0.0;
    for (int i = 0; i < 1000; ++i) {
        const double value = jitter();
        REQUIRE(value >= 0.0);
        REQUIRE(value <= 1.0);
        low = std::min(low, value);
        high = std::max(high, value);
    }
    CHECK(high - low > 0.5);
}

TEST_CASE("retry_on_exception tries again while the predicate agrees, then rethrows") {
    RecordingSleeper sleeper;
    const RetryContext context{RetryPolicy{3, 100ms, 1000ms}, sleeper, [] { return 1.0; }};
    SECTION("succeeds on the second attempt, after one back-off") {
        int calls = 0;
        retry_on_exception(
            context, "push",
            [&] {
                if (++calls == 1) {
                    throw std::runtime_error("blob upload unknown");
                }
            },
            [](const std::exception&, int) { return true; });
        CHECK(calls == 2);
        CHECK(sleeper.slept == std::vector<milliseconds>{100ms});
    }
    SECTION("gives up after max_attempts with the last exception") {
        int calls = 0;
        std::vector<int> asked;
        CHECK_THROWS_WITH(
            retry_on_exception(
                context, "push",
                [&] { throw std::runtime_error("denied " + std::to_string(++calls)); },
                [&](const std::exception&, int attempt) {
                    asked.push_back(attempt);
                    return true;
                }),
            "denied 3");
        CHECK(calls == 3);
        CHECK(asked == std::vector<int>{1, 2});  // never asked about the last attempt
    }
    SECTION("stops at once when the predicate refuses") {
        int calls = 0;
        CHECK_THROWS(retry_on_exception(
            context, "push",
            [&] {
                ++calls;
                throw std::runtime_error("x");
            },
            [](const std::exception&, int) { return false; }));
        CHECK(calls == 1);
        CHECK(sleeper.slept.empty());
    }
}

TEST_CASE("throttled answers get the throttle attempts, other failures max_attempts") {
    RecordingSleeper sleeper;
    const RetryContext context{policy(3), sleeper, [] { return 1.0; }};
    const auto throttled_or_5xx = [](const Response& response) -> Verdict {
        if (response.status == 429) {
            return {true, "throttled", true};
        }
        return {response.status >= 500, "5xx"};
    };
    SECTION("429 on every attempt: 8 attempts") {
        int calls = 0;
        const auto last = send_with_retries(
            context, "test",
            [&] {
                ++calls;
                return Response{429, {}, ""};
            },
            throttled_or_5xx);
        CHECK(last.status == 429);
        CHECK(calls == k_default_throttle_attempts);
        CHECK(sleeper.slept.size() == static_cast<std::size_t>(k_default_throttle_attempts - 1));
    }
    SECTION("503 on every attempt: 3") {
        int calls = 0;
        send_with_retries(
            context, "test",
            [&] {
                ++calls;
                return Response{503, {}, ""};
            },
            throttled_or_5xx);
        CHECK(calls == 3);
    }
    SECTION("AWS_MAX_ATTEMPTS=1 means no retries, throttled or not") {
        const RetryContext once{policy(1), sleeper, [] { return 1.0; }};
        int calls = 0;
        send_with_retries(
            once, "test",
            [&] {
                ++calls;
                return Response{429, {}, ""};
            },
            throttled_or_5xx);
        CHECK(calls == 1);
    }
    CHECK(attempts_allowed(policy(10), true) == 10);  // a larger max_attempts wins
}
