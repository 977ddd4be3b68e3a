// WWW-Authenticate challenges, token answers and the Authenticator: Basic (ECR), Bearer with a
// per-scope token cache, one re-authentication after a 401, and no secrets in logs.
#include <memory>
#include <sstream>

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "registry/auth.hpp"
#include "registry/registry_error.hpp"
#include "support/fake_http.hpp"
#include "support/fake_sleeper.hpp"

using namespace assetctl;
using namespace assetctl::registry;
using namespace std::chrono;

namespace {

const auto k_now = sys_days(year(2026) / 3 / 1) + hours(9);
const std::string k_registry = "https://registry.test";
const std::string k_ping = k_registry + "/v2/";
const std::string k_blob = k_registry + "/v2/app/blobs/sha256:00";
// base64("AWS:secret-password")
const std::string k_basic = "Basic QVdTOnNlY3JldC1wYXNzd29yZA==";
const std::string k_bearer_challenge =
    R"(Bearer realm="https://auth.test/token",service="registry.test")";
const std::string k_token_url =
    "https://auth.test/token?service=registry.test&scope=repository%3Aapp%3Apull";

// Hands out the given passwords in turn, one more on each refresh; counts the calls.
class RotatingCredentials final : public CredentialsSource {
  public:
    explicit RotatingCredentials(std::vector<std::string> passwords)
        : passwords_(std::move(passwords)) {}
    std::optional<Credentials> get(bool refresh) override {
        ++calls;
        if (refresh) {
            ++refreshes;
            ++index_;
        }
        return Credentials{"AWS", passwords_.at(std::min(index_, passwords_.size() - 1))};
    }
    int calls = 0;
    int refreshes = 0;

  private:
    std::vector<std::string> passwords_;
    std::size_t index_ = 0;
};

struct Harness {
    test::FakeHttpClient http;
    test::FakeSleeper sleeper;
    util::FixedClock clock{k_now};
    http::RetryContext retry{http::RetryPolicy{}, sleeper, [] { return 1.0; }};

    Authenticator make(std::shared_ptr<CredentialsSource> source) {
        return Authenticator(http, retry, clock, *http::parse_url(k_registry), std::move(source));
    }
};

std::shared_ptr<CredentialsSource> aws_credentials() {
    return std::make_shared<StaticCredentials>(Credentials{"AWS", "secret-password"});
}

http::Request head(const std::string& url) {
    http::Request request;
    request.method = "HEAD";
    request.url = url;
    return request;
}

const std::vector<std::string> k_pull{"repository:app:pull"};

}  // namespace

TEST_CASE("parse_challenges reads Basic and Bearer challenges with quoted parameters") {
    auto challenges = parse_challenges(R"(Basic realm="Registry Realm")");
    REQUIRE(challenges.size() == 1);
    CHECK(challenges[0].scheme == "basic");
    CHECK(challenges[0].parameter("realm") == "Registry Realm");

    challenges = parse_challenges(
        R"(BEARER Realm="https://auth.docker.io/token",service="registry.docker.io",)"
        R"(scope="repository:samalba/my-app:pull,push", error="insufficient_scope")");
    REQUIRE(challenges.size() == 1);
    CHECK(challenges[0].scheme == "bearer");
    CHECK(challenges[0].parameter("realm") == "https://auth.docker.io/token");
    CHECK(challenges[0].parameter("service") == "registry.docker.io");
    CHECK(challenges[0].parameter("scope") == "repository:samalba/my-app:pull,push");
    CHECK(challenges[0].parameter("error") == "insufficient_scope");
    CHECK(challenges[0].parameter("missing").empty());
}

TEST_CASE("parse_challenges splits several challenges and unescapes quoted pairs") {
    const auto challenges = parse_challenges(
        R"(Bearer realm="https://a.test/t?x=1", service=a, Basic realm="say \"hi\"", Negotiate)");
    REQUIRE(challenges.size() == 3);
    CHECK(challenges[0].parameter("realm") == "https://a.test/t?x=1");
    CHECK(challenges[0].parameter("service") == "a");
    CHECK(challenges[1].scheme == "basic");
    CHECK(challenges[1].parameter("realm") == R"(say "hi")");
    CHECK(challenges[2].scheme == "negotiate");
    CHECK(parse_challenges("").empty());
    CHECK(parse_challenges(R"(Basic realm="unterminated)").at(0).parameter("realm") ==
          "unterminated");
}

TEST_CASE("challenges_of reads every WWW-Authenticate header") {
    const http::Response response{401,
                                  {{"www-authenticate", "Basic realm=x"},
                                   {"Content-Type", "application/json"},
                                   {"WWW-Authenticate", k_bearer_challenge}},
                                  ""};
    const auto challenges = challenges_of(response);
    REQUIRE(challenges.size() == 2);
    CHECK(challenges[0].scheme == "basic");
    CHECK(challenges[1].scheme == "bearer");
}

TEST_CASE("token answers give token or access_token, expiring after 60 s by default") {
    auto token = parse_token_response(R"({"token": "t1", "expires_in": 300})");
    REQUIRE(token);
    CHECK(token->token == "t1");
    CHECK(token->expires_in == seconds(300));
    token = parse_token_response(R"({"access_token": "t2"})");
    REQUIRE(token);
    CHECK(token->token == "t2");
    CHECK(token->expires_in == seconds(60));
    token = parse_token_response(R"({"token": "", "access_token": "t3", "expires_in": -5})");
    REQUIRE(token);
    CHECK(token->token == "t3");
    CHECK(token->expires_in == seconds(60));
    CHECK_FALSE(parse_token_response(R"({"expires_in": 60})"));
    CHECK_FALSE(parse_token_response("not json"));
}

TEST_CASE("credentials_from_basic_token decodes ECR's authorizationToken") {
    const auto credentials = credentials_from_basic_token("QVdTOnNlY3JldDpwYXJ0");
    REQUIRE(credentials);
    CHECK(credentials->username == "AWS");
    CHECK(credentials->password == "secret:part");
    CHECK_FALSE(credentials_from_basic_token("QVdT"));  // "AWS": no colon
    CHECK_FALSE(credentials_from_basic_token("***"));
}

TEST_CASE("repository_scope builds the Bearer scope") {
    CHECK(repository_scope("team/app", "pull,push") == "repository:team/app:pull,push");
}

TEST_CASE("Basic: one ping, then every request carries the credentials") {
    Harness h;
    h.http.expect("GET", k_ping)
        .without_header("Authorization")
        .respond(401, {{"WWW-Authenticate", R"(Basic realm="r")"}});
    h.http.expect("HEAD", k_blob).with_header("Authorization", k_basic).respond(200);
    h.http.expect("HEAD", k_blob).with_header("Authorization", k_basic).respond(404);
    auto auth = h.make(aws_credentials());
    auto first = head(k_blob);
    CHECK(auth.send(first, k_pull).status == 200);
    auto second = head(k_blob);
    second.headers.push_back({"authorization", "stale"});
    CHECK(auth.send(second, k_pull).status == 404);
    CHECK(auth.scheme() == AuthScheme::basic);
    CHECK(h.http.all_used());
    CHECK(h.http.received().at(2).headers.size() == 1);  // the stale header was replaced
}

TEST_CASE("a 401 ping without a challenge is taken as Basic") {
    Harness h;
    h.http.expect("GET", k_ping).respond(401);
    h.http.expect("HEAD", k_blob).with_header("Authorization", k_basic).respond(200);
    auto auth = h.make(aws_credentials());
    auto request = head(k_blob);
    CHECK(auth.send(request, k_pull).status == 200);
    CHECK(h.http.all_used());
}

TEST_CASE("an anonymous registry gets no Authorization header even with credentials") {
    Harness h;
    h.http.expect("GET", k_ping).respond(200);
    h.http.expect("HEAD", k_blob).without_header("Authorization").respond(200);
    auto auth = h.make(aws_credentials());
    auto request = head(k_blob);
    CHECK(auth.send(request, k_pull).status == 200);
    CHECK(auth.scheme() == AuthScheme::none);
    CHECK(h.http.all_used());
}

TEST_CASE("the ping is retried on 5xx through the retry loop") {
    Harness h;
    h.http.expect("GET", k_ping).respond(503);
    h.http.expect("GET", k_ping).respond(401, {{"WWW-Authenticate", "Basic realm=r"}});
    auto auth = h.make(aws_credentials());
    CHECK(auth.scheme() == AuthScheme::basic);
    CHECK(h.sleeper.sleeps().size() == 1);
    CHECK(h.http.all_used());
}

TEST_CASE("a ping whose retries are spent fails every later request at once, not retried") {
    for (const bool silent : {true, false}) {
        INFO((silent ? "timeouts" : "503 answers"));
        Harness h;
        for (int i = 0; i < http::k_default_max_attempts; ++i) {
            if (silent) {
                h.http.expect("GET", k_ping).fail(http::TransportErrorKind::timeout, "too slow");
            } else {
                h.http.expect("GET", k_ping).respond(503);
            }
        }
        auto auth = h.make(aws_credentials());
        for (int call = 0; call < 2; ++call) {
            try {
                auto request = head(k_blob);
                auth.send(request, k_pull);
                FAIL("expected TransportError");
            } catch (const http::TransportError& e) {
                CHECK(e.kind() == http::TransportErrorKind::gave_up);
                CHECK_FALSE(e.retryable());
                CHECK_THAT(e.what(), Catch::Contains("registry.test"));
                CHECK_THAT(e.what(), Catch::Contains("after 3 attempts"));
            }
        }
        // Three pings, two waits between them; the second request sent nothing.
        CHECK(h.sleeper.sleeps().size() == 2);
        CHECK(h.http.all_used());
    }
}

TEST_CASE("a ping answered 404 is a RegistryError") {
    Harness h;
    h.http.expect("GET", k_ping).respond(404);
    auto auth = h.make(aws_credentials());
    CHECK_THROWS_AS(auth.scheme(), RegistryError);
}

TEST_CASE("Bearer: a token per scope from the realm, cached until shortly before expiry") {
    Harness h;
    h.http.expect("GET", k_ping).respond(401, {{"WWW-Authenticate", k_bearer_challenge}});
    h.http.expect("GET", k_token_url)
        .with_header("Authorization", k_basic)
        .respond(200, {}, R"({"token": "t1", "expires_in": 300})");
    h.http.expect("HEAD", k_blob).with_header("Authorization", "Bearer t1").respond(200);
    h.http.expect("HEAD", k_blob).with_header("Authorization", "Bearer t1").respond(200);
    // 290 s later (300 s minus the 10 s margin) the token is renewed.
    h.http.expect("GET", k_token_url).respond(200, {}, R"({"token": "t2", "expires_in": 300})");
    h.http.expect("HEAD", k_blob).with_header("Authorization", "Bearer t2").respond(200);
    // Another scope needs a token of its own.
    h.http
        .expect(
            "GET",
            "https://auth.test/token?service=registry.test&scope=repository%3Aapp%3Apull%2Cpush")
        .respond(200, {}, R"({"access_token": "t3"})");
    h.http.expect("PUT", k_registry + "/v2/app/manifests/v1")
        .with_header("Authorization", "Bearer t3")
        .respond(201);

    auto auth = h.make(aws_credentials());
    auto request = head(k_blob);
    CHECK(auth.send(request, k_pull).status == 200);
    h.clock.advance(seconds(289));
    CHECK(auth.send(request, k_pull).status == 200);
    h.clock.advance(seconds(1));
    CHECK(auth.send(request, k_pull).status == 200);
    http::Request put;
    put.method = "PUT";
    put.url = k_registry + "/v2/app/manifests/v1";
    CHECK(auth.send(put, {"repository:app:pull,push"}).status == 201);
    CHECK(auth.scheme() == AuthScheme::bearer);
    CHECK(h.http.all_used());
}

TEST_CASE("Bearer tokens are fetched anonymously without credentials") {
    Harness h;
    h.http.expect("GET", k_ping).respond(401, {{"WWW-Authenticate", k_bearer_challenge}});
    h.http.expect("GET", k_token_url)
        .without_header("Authorization")
        .respond(200, {}, R"({"token": "anon"})");
    h.http.expect("HEAD", k_blob).with_header("Authorization", "Bearer anon").respond(200);
    auto auth = h.make(std::make_shared<StaticCredentials>());
    auto request = head(k_blob);
    CHECK(auth.send(request, k_pull).status == 200);
    CHECK(h.http.all_used());
}

TEST_CASE("a 401 mid-push fetches fresh credentials once and resends") {
    Harness h;
    auto source = std::make_shared<RotatingCredentials>(std::vector<std::string>{"old", "new"});
    h.http.expect("GET", k_ping).respond(401, {{"WWW-Authenticate", "Basic realm=r"}});
    h.http.expect("HEAD", k_blob).with_header("Authorization", "Basic QVdTOm9sZA==").respond(200);
    h.http.expect("HEAD", k_blob)
        .with_header("Authorization", "Basic QVdTOm9sZA==")
        .respond(401, {{"WWW-Authenticate", "Basic realm=r"}});
    h.http.expect("HEAD", k_blob).with_header("Authorization", "Basic QVdTOm5ldw==").respond(200);
    h.http.expect("HEAD", k_blob).with_header("Authorization", "Basic QVdTOm5ldw==").respond(200);
    auto auth = h.make(source);
    auto request = head(k_blob);
    CHECK(auth.send(request, k_pull).status == 200);
    CHECK(auth.send(request, k_pull).status == 200);  // the token expired: 401, then fresh
    CHECK(auth.send(request, k_pull).status == 200);  // the fresh one is kept
    CHECK(source->refreshes == 1);
    CHECK(source->calls == 2);
    CHECK(h.http.all_used());
}

TEST_CASE("a 401 after re-authenticating is returned, not retried a second time") {
    Harness h;
    h.http.expect("GET", k_ping).respond(401, {{"WWW-Authenticate", k_bearer_challenge}});
    h.http.expect("GET", k_token_url).respond(200, {}, R"({"token": "t1"})");
    h.http.expect("HEAD", k_blob)
        .with_header("Authorization", "Bearer t1")
        .respond(401, {{"WWW-Authenticate", k_bearer_challenge}});
    h.http.expect("GET", k_token_url).respond(200, {}, R"({"token": "t2"})");
    h.http.expect("HEAD", k_blob)
        .with_header("Authorization", "Bearer t2")
        .respond(401, {{"WWW-Authenticate", k_bearer_challenge}});
    auto source = std::make_shared<RotatingCredentials>(std::vector<std::string>{"a", "b"});
    auto auth = h.make(source);
    auto request = head(k_blob);
    CHECK(auth.send(request, k_pull).status == 401);
    CHECK(source->refreshes == 1);
    CHECK(h.http.all_used());
    CHECK(h.http.received().size() == 5);
}

TEST_CASE("fixed credentials that were refused are not sent again") {
    Harness h;
    h.http.expect("GET", k_ping).respond(401, {{"WWW-Authenticate", "Basic realm=r"}});
    h.http.expect("HEAD", k_blob).respond(401, {{"WWW-Authenticate", "Basic realm=r"}});
    auto auth = h.make(aws_credentials());
    auto request = head(k_blob);
    CHECK(auth.send(request, k_pull).status == 401);
    CHECK(h.http.all_used());
    CHECK(h.http.received().size() == 2);
}

TEST_CASE("a 401 asking for more scope gets a token for it") {
    Harness h;
    h.http.expect("GET", k_ping).respond(401, {{"WWW-Authenticate", k_bearer_challenge}});
    h.http.expect("GET", k_token_url).respond(200, {}, R"({"token": "narrow"})");
    h.http.expect("POST", k_registry + "/v2/app/blobs/uploads/?mount=x&from=base")
        .with_header("Authorization", "Bearer narrow")
        .respond(401, {{"WWW-Authenticate",
                        k_bearer_challenge +
                            R"(,scope="repository:base:pull",error="insufficient_scope")"}});
    h.http.expect("GET", k_token_url + "&scope=repository%3Abase%3Apull")
        .respond(200, {}, R"({"token": "wide"})");
    h.http.expect("POST", k_registry + "/v2/app/blobs/uploads/?mount=x&from=base")
        .with_header("Authorization", "Bearer wide")
        .respond(201);
    auto auth = h.make(aws_credentials());
    http::Request request;
    request.method = "POST";
    request.url = k_registry + "/v2/app/blobs/uploads/?mount=x&from=base";
    CHECK(auth.send(request, k_pull).status == 201);
    CHECK(h.http.all_used());
}

TEST_CASE("no Authorization header goes to another host") {
    Harness h;
    h.http.expect("PUT", "https://storage.test/upload?sig=1")
        .without_header("Authorization")
        .respond(201);
    auto auth = h.make(aws_credentials());
    http::Request request;
    request.method = "PUT";
    request.url = "https://storage.test/upload?sig=1";
    request.headers.push_back({"Authorization", "Basic leaked"});
    CHECK(auth.send(request, k_pull).status == 201);
    CHECK(h.http.all_used());  // and no ping either
}

TEST_CASE("a Bearer realm over plain http is refused for an https registry") {
    Harness h;
    h.http.expect("GET", k_ping)
        .respond(401,
                 {{"WWW-Authenticate", R"(Bearer realm="http://auth.test/token",service="s")"}});
    auto auth = h.make(aws_credentials());
    auto request = head(k_blob);
    CHECK_THROWS_AS(auth.send(request, k_pull), ProtocolError);
    CHECK(h.http.received().size() == 1);
}

TEST_CASE("a token service refusing the credentials is an auth failure") {
    Harness h;
    h.http.expect("GET", k_ping).respond(401, {{"WWW-Authenticate", k_bearer_challenge}});
    h.http.expect("GET", k_token_url)
        .respond(401, {}, R"({"errors":[{"code":"UNAUTHORIZED","message":"bad login"}]})");
    auto auth = h.make(aws_credentials());
    auto request = head(k_blob);
    try {
        auth.send(request, k_pull);
        FAIL("no exception");
    } catch (const RegistryError& e) {
        CHECK(e.is_auth_failure());
        CHECK(e.has_code("UNAUTHORIZED"));
        CHECK_FALSE(e.retryable());
    }
}

TEST_CASE("passwords and tokens never reach the log, even at trace level") {
    std::ostringstream captured;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
    auto previous = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
    {
        Harness h;
        h.http.expect("GET", k_ping).respond(401, {{"WWW-Authenticate", k_bearer_challenge}});
        h.http.expect("GET", k_token_url).respond(200, {}, R"({"token": "secret-token-1"})");
        h.http.expect("HEAD", k_blob).respond(401, {{"WWW-Authenticate", k_bearer_challenge}});
        h.http.expect("GET", k_token_url).respond(200, {}, R"({"token": "secret-token-2"})");
        h.http.expect("HEAD", k_blob).respond(200);
        auto source =
            std::make_shared<RotatingCredentials>(std::vector<std::string>{"pw-one", "pw-two"});
        auto auth = h.make(source);
        auto request = head(k_blob);
        CHECK(auth.send(request, k_pull).status == 200);
        CHECK(h.http.all_used());
    }
    spdlog::set_default_logger(previous);
    const std::string log = captured.str();
    CHECK_FALSE(log.empty());  // the flow did log, so the checks below can fail
    for (const char* secret : {"secret-token", "pw-one", "pw-two", "QVdTOnB3"}) {
        INFO(secret);
        CHECK(log.find(secret) == std::string::npos);
    }
}
