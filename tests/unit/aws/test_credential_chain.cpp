// The chain, the cache and the default chain from make_default_credentials_chain.

#include <atomic>
#include <chrono>
#include <functional>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "aws/credential_providers.hpp"
#include "support/aws_home.hpp"
#include "support/fake_credentials.hpp"
#include "support/fake_http.hpp"
#include "support/fake_process.hpp"
#include "support/fake_sleeper.hpp"
#include "support/fake_sts.hpp"
#include "util/clock.hpp"

using namespace assetctl;
using namespace assetctl::aws;
using namespace std::chrono;
using Catch::Matchers::Contains;

namespace {

const system_clock::time_point k_now = sys_days{year{2026} / 11 / 27} + hours{10};

using test::FakeCredentialsProvider;
using Mode = FakeCredentialsProvider::Mode;

struct ChainParts {
    std::vector<std::unique_ptr<CredentialsProvider>> providers;
    std::vector<FakeCredentialsProvider*> scripted;

    ChainParts& add(std::string name, Mode mode) {
        auto provider = std::make_unique<FakeCredentialsProvider>(std::move(name), mode);
        scripted.push_back(provider.get());
        providers.push_back(std::move(provider));
        return *this;
    }
    int calls(std::size_t index) const { return scripted[index]->calls->load(); }
};

std::string what_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const CredentialsError& e) {
        return e.what();
    }
    return "no CredentialsError";
}

}  // namespace

// --- chain ---------------------------------------------------------------------------------

TEST_CASE("chain: the first provider with credentials wins and is remembered") {
    ChainParts parts;
    parts.add("one", Mode::not_applicable)
        .add("two", Mode::credentials)
        .add("three", Mode::credentials);
    auto* two = parts.scripted[1];
    auto* three = parts.scripted[2];
    CredentialsChain chain(std::move(parts.providers));
    CHECK_FALSE(chain.last_provider());

    auto result = chain.resolve();
    REQUIRE(result.credentials);
    CHECK(result.credentials->source == "two");
    CHECK(chain.last_provider() == "two");
    CHECK(*parts.scripted[0]->calls == 1);
    CHECK(*three->calls == 0);

    // A refresh goes straight to the provider that answered.
    REQUIRE(chain.resolve().credentials);
    CHECK(*parts.scripted[0]->calls == 1);
    CHECK(*two->calls == 2);

    // If it no longer applies, the whole chain is walked again (without asking it twice).
    two->set_mode(Mode::not_applicable);
    result = chain.resolve();
    REQUIRE(result.credentials);
    CHECK(result.credentials->source == "three");
    CHECK(*two->calls == 3);
    CHECK(*parts.scripted[0]->calls == 2);
    CHECK(chain.last_provider() == "three");
}

TEST_CASE("chain: a CredentialsError stops the chain") {
    ChainParts parts;
    parts.add("one", Mode::not_applicable).add("two", Mode::error).add("three", Mode::credentials);
    auto* three = parts.scripted[2];
    CredentialsChain chain(std::move(parts.providers));
    CHECK(what_of([&] { chain.resolve(); }) == "two is broken");
    CHECK(*three->calls == 0);
}

TEST_CASE("chain: no credentials lists every provider with its reason") {
    ChainParts parts;
    parts.add("one", Mode::not_applicable).add("two", Mode::not_applicable);
    CredentialsChain chain(std::move(parts.providers));
    try {
        chain.resolve();
        FAIL("expected NoCredentialsError");
    } catch (const NoCredentialsError& e) {
        CHECK_THAT(std::string(e.what()),
                   Contains("no AWS credentials found (one: one is not configured; two: two is "
                            "not configured); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"));
        REQUIRE(e.reasons().size() == 2);
        CHECK(e.reasons()[1] == std::make_pair(std::string("two"), std::string("two is not "
                                                                               "configured")));
        CHECK_THAT(e.hint(), Contains("AWS_PROFILE"));
    }
}

// --- cache ---------------------------------------------------------------------------------

TEST_CASE("cache: static credentials are kept for good") {
    util::FixedClock clock(k_now);
    auto inner = std::make_unique<FakeCredentialsProvider>("static", Mode::credentials);
    auto calls = inner->calls;
    CachingCredentialsProvider cache(std::move(inner), clock);
    CHECK(cache.name() == "static");
    CHECK(cache.credentials().keys.access_key_id == "AKID-static-1");
    clock.advance(hours{24 * 365});
    CHECK(cache.credentials().keys.access_key_id == "AKID-static-1");
    CHECK(*calls == 1);
    cache.invalidate();
    CHECK(cache.credentials().keys.access_key_id == "AKID-static-2");
}

TEST_CASE("cache: refreshes k_credentials_refresh_margin before expiration, not earlier") {
    util::FixedClock clock(k_now);
    const auto expiration = k_now + hours{1};
    auto inner = std::make_unique<FakeCredentialsProvider>("sts", Mode::credentials, expiration);
    auto calls = inner->calls;
    CachingCredentialsProvider cache(std::move(inner), clock);

    CHECK(cache.credentials().keys.access_key_id == "AKID-sts-1");
    clock.set(expiration - k_credentials_refresh_margin - seconds{1});
    CHECK(cache.credentials().keys.access_key_id == "AKID-sts-1");
    CHECK(*calls == 1);

    clock.set(expiration - k_credentials_refresh_margin);
    CHECK(cache.credentials().keys.access_key_id == "AKID-sts-2");
    CHECK(*calls == 2);
}

TEST_CASE("cache: failures and not-applicable answers are not cached") {
    util::FixedClock clock(k_now);
    auto inner = std::make_unique<FakeCredentialsProvider>("flaky", Mode::error);
    auto* flaky = inner.get();
    CachingCredentialsProvider cache(std::move(inner), clock);
    CHECK_THROWS_AS(cache.credentials(), CredentialsError);
    flaky->set_mode(Mode::not_applicable);
    CHECK(what_of([&] { cache.credentials(); }) == "flaky: flaky is not configured");
    CHECK_FALSE(cache.resolve().credentials);
    flaky->set_mode(Mode::credentials);
    CHECK(cache.credentials().keys.access_key_id == "AKID-flaky-4");
    CHECK(*flaky->calls == 4);
}

TEST_CASE("cache: concurrent callers share one refresh") {
    util::FixedClock clock(k_now);
    auto inner =
        std::make_unique<FakeCredentialsProvider>("sts", Mode::credentials, k_now + hours{1});
    auto calls = inner->calls;
    CachingCredentialsProvider cache(std::move(inner), clock);

    constexpr int k_threads = 8;
    std::latch start(k_threads);
    std::vector<std::string> keys(k_threads);
    std::vector<std::thread> threads;
    for (int i = 0; i < k_threads; ++i) {
        threads.emplace_back([&, i] {
            start.arrive_and_wait();
            for (int round = 0; round < 50; ++round) {
                keys[static_cast<std::size_t>(i)] = cache.credentials().keys.access_key_id;
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    CHECK(*calls == 1);
    for (const auto& key : keys) {
        CHECK(key == "AKID-sts-1");
    }
}

// --- the default chain ---------------------------------------------------------------------

namespace {

struct World {
    test::AwsHome home;
    util::FixedClock clock{k_now};
    test::FakeHttpClient http;
    test::FakeProcessRunner processes;
    test::FakeStsApi sts{k_now + hours{1}};
    test::FakeSleeper sleeper;

    World() {
        home.env.set("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338");
        home.env.set("USER", "ci-user");
    }

    std::unique_ptr<CachingCredentialsProvider> chain(
        std::optional<std::string> profile = std::nullopt) {
        return make_default_credentials_chain(
            {home.env, clock, http, processes, sts, std::move(profile), &sleeper});
    }

    void imds_absent() {
        for (int i = 0; i < k_imds_attempts; ++i) {
            http.expect("PUT", "http://127.0.0.1:1338/latest/api/token")
                .fail(http::TransportErrorKind::connect, "connection refused");
        }
    }
};

}  // namespace

TEST_CASE("default chain: nothing configured lists every provider and a hint") {
    World w;
    w.imds_absent();
    std::string message;
    try {
        w.chain()->credentials();
    } catch (const NoCredentialsError& e) {
        message = e.what();
        CHECK(e.reasons().size() == 5);
    }
    CHECK(message ==
          "no AWS credentials found (environment: AWS_ACCESS_KEY_ID is not set; shared config "
          "files: profile 'default' not found in " +
              w.home.path(".aws/credentials") + ", " + w.home.path(".aws/config") +
              "; web identity: AWS_WEB_IDENTITY_TOKEN_FILE is not set; ECS container: neither "
              "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is "
              "set; EC2 instance metadata: nothing answered at http://127.0.0.1:1338 (connection "
              "refused)); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, choose a profile of "
              "the shared config files with --profile or AWS_PROFILE, or set "
              "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (OIDC in CI)");
    CHECK(w.http.all_used());
}

TEST_CASE("default chain: the environment comes first") {
    World w;
    w.home.env.set("AWS_ACCESS_KEY_ID", "AKID-ENV");
    w.home.env.set("AWS_SECRET_ACCESS_KEY", "env-secret");
    w.home.credentials("[default]\naws_access_key_id = AKID-FILE\naws_secret_access_key = s\n");
    const auto credentials = w.chain()->credentials();
    CHECK(credentials.keys.access_key_id == "AKID-ENV");
    CHECK(credentials.source == "environment");
}

TEST_CASE("default chain: --profile skips the environment providers") {
    World w;
    w.home.env.set("AWS_ACCESS_KEY_ID", "AKID-ENV");
    w.home.env.set("AWS_SECRET_ACCESS_KEY", "env-secret");
    w.home.env.set("AWS_WEB_IDENTITY_TOKEN_FILE", w.home.file("token", "t"));
    w.home.env.set("AWS_ROLE_ARN", "arn:aws:iam::1:role/oidc");
    w.home.credentials("[release]\naws_access_key_id = AKID-FILE\naws_secret_access_key = s\n");
    CHECK(w.chain(std::string("release"))->credentials().keys.access_key_id == "AKID-FILE");

    // AWS_PROFILE is not --profile: the environment keys still win, as in botocore.
    w.home.env.set("AWS_PROFILE", "release");
    CHECK(w.chain()->credentials().keys.access_key_id == "AKID-ENV");

    World v;
    v.imds_absent();
    v.home.env.set("AWS_ACCESS_KEY_ID", "AKID-ENV");
    v.home.env.set("AWS_SECRET_ACCESS_KEY", "env-secret");
    v.home.config("[profile empty]\nregion = eu-west-1\n");
    const auto message = what_of([&] { v.chain(std::string("empty"))->credentials(); });
    CHECK_THAT(message, Contains("environment: not used because --profile was given"));
    CHECK_THAT(message, Contains("web identity: not used because --profile was given"));
}

TEST_CASE("default chain: web identity from the environment, refreshed with a new token") {
    World w;
    const auto token_file = w.home.file("token", "token-1");
    w.home.env.set("AWS_WEB_IDENTITY_TOKEN_FILE", token_file);
    w.home.env.set("AWS_ROLE_ARN", "arn:aws:iam::1:role/oidc");
    auto chain = w.chain();
    CHECK(chain->credentials().keys.access_key_id == "ASIA-STS-1");
    w.clock.advance(minutes{30});
    CHECK(chain->credentials().keys.access_key_id == "ASIA-STS-1");

    w.home.file("token", "token-2");
    w.clock.advance(minutes{26});  // 4 minutes before expiration: inside the margin
    CHECK(chain->credentials().keys.access_key_id == "ASIA-STS-2");
    const auto calls = w.sts.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].web_identity_token == "token-1");
    CHECK(calls[1].web_identity_token == "token-2");
    CHECK(calls[1].session_name == "assetctl-ci-user");
}

TEST_CASE("default chain: falls through to ECS and then IMDS") {
    World w;
    w.home.env.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds");
    w.http.expect("GET", "http://169.254.170.2/v2/creds")
        .respond(200, {}, R"({"AccessKeyId": "ASIA-ECS", "SecretAccessKey": "s", "Token": "t",
                         "Expiration": "2026-11-27T11:00:00Z"})");
    CHECK(w.chain()->credentials().source == "ECS container (http://169.254.170.2/v2/creds)");

    World v;
    v.http.expect("PUT", "http://127.0.0.1:1338/latest/api/token").respond(200, {}, "tok");
    v.http.expect("GET", "http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/")
        .respond(200, {}, "role");
    v.http.expect("GET", "http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/role")
        .respond(200, {}, R"({"Code": "Success", "AccessKeyId": "ASIA-EC2", "SecretAccessKey": "s",
                         "Token": "t", "Expiration": "2026-11-27T11:00:00Z"})");
    CHECK(v.chain()->credentials().keys.access_key_id == "ASIA-EC2");
    CHECK(v.http.all_used());
}

TEST_CASE("default chain: no secret appears in any error message or log line") {
    const std::vector<std::string> secrets{
        "SECRET-ENV-1", "SECRET-FILE-2", "SECRET-PROC-3", "SECRET-ECS-4",  "SECRET-EC2-5",
        "SECRET-SRC-6", "SECRET-TOK-7",  "SECRET-AUTH-8", "SECRET-OIDC-9", "SECRET-IMDS-TOKEN"};
    std::vector<std::string> messages;
    const auto capture = [&](World& w, std::optional<std::string> profile = std::nullopt) {
        try {
            auto chain = w.chain(std::move(profile));
            chain->credentials();
            messages.push_back("(no error)");
        } catch (const CredentialsError& e) {
            messages.emplace_back(e.what());
        }
    };

    auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
    auto previous = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("test", ring);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);

    {  // half a key pair in the environment, with a session token
        World w;
        w.home.env.set("AWS_SECRET_ACCESS_KEY", "SECRET-ENV-1");
        w.home.env.set("AWS_SESSION_TOKEN", "SECRET-TOK-7");
        capture(w);
    }
    {  // half a key pair in the credentials file
        World w;
        w.home.credentials("[default]\naws_secret_access_key = SECRET-FILE-2\n");
        capture(w);
    }
    {  // credential_process printing secrets with a wrong Version
        World w;
        w.home.config("[default]\ncredential_process = creds\n");
        w.processes.expect({"creds"},
                           test::FakeProcessRunner::exited(0, R"({"Version": 2, "AccessKeyId": "A",
                                                 "SecretAccessKey": "SECRET-PROC-3"})"));
        capture(w);
    }
    {  // ECS answer without a token, sent with a secret Authorization header
        World w;
        w.home.env.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds");
        w.home.env.set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "SECRET-AUTH-8");
        w.http.expect("GET", "http://127.0.0.1:9/creds")
            .respond(200, {}, R"({"AccessKeyId": "A", "SecretAccessKey": "SECRET-ECS-4"})");
        capture(w);
    }
    {  // ECS refusing the secret token
        World w;
        w.home.env.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds");
        w.home.env.set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "SECRET-AUTH-8");
        w.http.expect("GET", "http://127.0.0.1:9/creds").respond(401, {}, "denied");
        capture(w);
    }
    {  // IMDS answer without an expiration
        World w;
        w.http.expect("PUT", "http://127.0.0.1:1338/latest/api/token")
            .respond(200, {}, "SECRET-IMDS-TOKEN");
        w.http.expect("GET", "http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/")
            .respond(200, {}, "role");
        w.http.expect("GET", "http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/role")
            .respond(200, {}, R"({"AccessKeyId": "A", "SecretAccessKey": "SECRET-EC2-5",
                             "Token": "SECRET-TOK-7"})");
        capture(w);
    }
    {  // STS refusing a role assumed with secret source keys
        World w;
        w.home.config("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = src\n");
        w.home.credentials(
            "[src]\naws_access_key_id = AKID-SRC\naws_secret_access_key = SECRET-SRC-6\n");
        w.sts.fail_with("AccessDenied: not allowed");
        capture(w);
    }
    {  // web identity refused, token in a file
        World w;
        w.home.env.set("AWS_WEB_IDENTITY_TOKEN_FILE", w.home.file("token", "SECRET-OIDC-9"));
        w.home.env.set("AWS_ROLE_ARN", "arn:aws:iam::1:role/oidc");
        w.sts.fail_with("InvalidIdentityToken: expired");
        capture(w);
    }
    {  // success everywhere: nothing secret is logged either
        World w;
        w.home.config("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = src\n");
        w.home.credentials(
            "[src]\naws_access_key_id = AKID-SRC\naws_secret_access_key = SECRET-SRC-6\n");
        capture(w);
    }
    const auto logged = ring->last_formatted();
    spdlog::set_default_logger(previous);

    REQUIRE(messages.size() == 9);
    CHECK(messages.back() == "(no error)");
    for (const auto& message : messages) {
        CAPTURE(message);
        for (const auto& secret : secrets) {
            CHECK_THAT(message, !Contains(secret));
        }
    }
    CHECK_FALSE(logged.empty());
    for (const auto& line : logged) {
        for (const auto& secret : secrets) {
            CHECK_THAT(line, !Contains(secret));
        }
    }
}
