// The fakes' own promise: a surprise fails the test even when the code under test catches
// every std::exception (as the publisher, the doctor and the tarball pusher do). Each case
// swallows the surprise like that code would and is tagged [!shouldfail]: it passes only
// because the fake fails it when it goes away.

#include <exception>
#include <string>

#include <catch2/catch.hpp>

#include "support/fake_ecr.hpp"
#include "support/fake_http.hpp"
#include "support/fake_process.hpp"
#include "support/fake_registry.hpp"

using namespace assetctl;

namespace {

// What production code does with any exception from a dependency: turn it into a failure
// value.
template <typename Call>
bool swallowed(Call call) {
    try {
        call();
    } catch (const std::exception&) {
        return true;
    }
    return false;
}

http::Request get(std::string url) {
    http::Request request;
    request.url = std::move(url);
    return request;
}

}  // namespace

TEST_CASE("an unexpected request to FakeHttpClient fails the test though it was caught",
          "[support][!shouldfail]") {
    test::FakeHttpClient http;
    CHECK(swallowed([&] { http.send(get("https://example.test/")); }));
    CHECK(http.surprises().size() == 1);
}

TEST_CASE("a request FakeHttpClient expected otherwise fails the test though it was caught",
          "[support][!shouldfail]") {
    test::FakeHttpClient http;
    http.expect("GET", "https://example.test/").with_header("Authorization", "Basic x");
    CHECK(swallowed([&] { http.send(get("https://example.test/")); }));
    CHECK(http.surprises().size() == 1);
}

TEST_CASE("an unexpected run of FakeProcessRunner fails the test though it was caught",
          "[support][!shouldfail]") {
    test::FakeProcessRunner runner;
    runner.expect({"docker", "version"}, test::FakeProcessRunner::exited(0, ""));
    process::Command command;
    command.argv = {"docker", "info"};
    CHECK(swallowed([&] { runner.run(command); }));
    CHECK(runner.surprises().size() == 1);
}

TEST_CASE("a FakeRegistry request to another host fails the test though it was caught",
          "[support][!shouldfail]") {
    test::FakeRegistry registry;
    CHECK(swallowed([&] { registry.send(get("https://elsewhere.test/v2/")); }));
}

TEST_CASE("a call FakeEcr does not model fails the test though it was caught",
          "[support][!shouldfail]") {
    test::FakeEcr ecr;
    CHECK(swallowed([&] { ecr.create_repository({}, "us-east-1", "repo"); }));
}
