#include <stdexcept>
#include <thread>

#include <catch2/catch.hpp>

#include "aws/role_cache.hpp"
#include "support/fake_sts.hpp"
#include "util/clock.hpp"

using namespace assetctl;
using namespace std::chrono;

namespace {

aws::AwsCredentials caller(const std::string& key = "AKIDCALLER") {
    aws::AwsCredentials credentials;
    credentials.keys = {key, "secret", std::nullopt};
    return credentials;
}

aws::RoleTarget role(const std::string& arn, std::optional<std::string> external_id = {}) {
    aws::RoleTarget target;
    target.role_arn = arn;
    target.external_id = std::move(external_id);
    target.region = "us-east-1";
    return target;
}

const auto k_now = sys_days(year(2026) / 11 / 27);

}  // namespace

TEST_CASE("one AssumeRole per role, external id and caller") {
    test::FakeStsApi sts(k_now + hours(1));
    util::FixedClock clock(k_now);
    aws::AssumedRoleCache cache(sts, clock, "assetctl-ci");

    const auto a = cache.credentials_for(caller(), role("arn:aws:iam::1:role/a"));
    const auto again = cache.credentials_for(caller(), role("arn:aws:iam::1:role/a"));
    CHECK(again.keys.access_key_id == a.keys.access_key_id);
    cache.credentials_for(caller(), role("arn:aws:iam::1:role/a", "ext"));
    cache.credentials_for(caller("AKIDOTHER"), role("arn:aws:iam::1:role/a"));
    cache.credentials_for(caller(), role("arn:aws:iam::1:role/b"));

    const auto calls = sts.calls();
    REQUIRE(calls.size() == 4);
    CHECK(cache.assume_count() == 4);
    CHECK(calls[0].session_name == "assetctl-ci");
    CHECK(calls[1].external_id == "ext");
    CHECK(calls[2].caller_access_key_id == "AKIDOTHER");
}

TEST_CASE("assumed credentials are refreshed 5 minutes before they expire") {
    test::FakeStsApi sts(k_now + hours(1));
    util::FixedClock clock(k_now);
    aws::AssumedRoleCache cache(sts, clock, "s");
    cache.credentials_for(caller(), role("arn:aws:iam::1:role/a"));
    clock.advance(minutes(54));
    cache.credentials_for(caller(), role("arn:aws:iam::1:role/a"));
    CHECK(sts.calls().size() == 1);
    clock.advance(minutes(1) + seconds(1));
    cache.credentials_for(caller(), role("arn:aws:iam::1:role/a"));
    CHECK(sts.calls().size() == 2);
}

TEST_CASE("concurrent callers for one role share one AssumeRole") {
    test::FakeStsApi sts(k_now + hours(1));
    util::FixedClock clock(k_now);
    aws::AssumedRoleCache cache(sts, clock, "s");
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back(
            [&] { cache.credentials_for(caller(), role("arn:aws:iam::1:role/a")); });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    CHECK(sts.calls().size() == 1);
}

TEST_CASE("a failed AssumeRole is not cached") {
    test::FakeStsApi sts(k_now + hours(1));
    util::FixedClock clock(k_now);
    aws::AssumedRoleCache cache(sts, clock, "s");
    sts.fail_with("AccessDenied");
    // FakeStsApi throws std::runtime_error; the cache passes it on unchanged, both times.
    CHECK_THROWS_AS(cache.credentials_for(caller(), role("arn:aws:iam::1:role/a")),
                    std::runtime_error);
    CHECK_THROWS_WITH(cache.credentials_for(caller(), role("arn:aws:iam::1:role/a")),
                      "AccessDenied");
    // Nothing was remembered from the first failure: the second call asked STS again.
    CHECK(sts.calls().size() == 2);
    CHECK(cache.assume_count() == 0);
}
