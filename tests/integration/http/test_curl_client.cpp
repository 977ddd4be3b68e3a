// Integration test of make_curl_client against real local servers (http_test_server.py): plain
// HTTP, TLS with a self-signed certificate, a forward proxy, and a control port that reports
// how many connections and requests each of them saw. The server is started once for the whole
// run; its absence of prerequisites (python3, openssl) makes this program exit 77 (Skipped).
#define CATCH_CONFIG_RUNNER
#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <netinet/in.h>
#include <optional>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "catch_session.hpp"
#include "http/http_client.hpp"
#include "http/retry.hpp"
#include "util/interrupt.hpp"

extern char** environ;

using namespace assetctl::http;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Ports {
    int http = 0;
    int https = 0;
    int proxy = 0;
    int control = 0;
    std::string cert;
};

Ports g_ports;

// libcurl's timers work in whole milliseconds, so a timeout can fire a fraction of one early.
constexpr auto k_timer_slack = 2ms;

std::string http_url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(g_ports.http) + path;
}

std::string https_url(const std::string& path) {
    return "https://127.0.0.1:" + std::to_string(g_ports.https) + path;
}

ClientOptions options_with_ca() {
    ClientOptions options;
    options.ca_bundle = g_ports.cert;
    return options;
}

Response fetch(HttpClient& client, const std::string& method, const std::string& url,
               std::string body = {}, Headers headers = {}) {
    Request request;
    request.method = method;
    request.url = url;
    request.body = std::move(body);
    request.headers = std::move(headers);
    return client.send(request);
}

// The servers' counters, fetched over a plain socket: independent of the client under test and
// of the proxy variables the proxy test sets.
json stats() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(g_ports.control));
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    const std::string request = "GET /stats HTTP/1.0\r\nHost: control\r\n\r\n";
    REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
    std::string answer;
    std::array<char, 4096> buffer{};
    ssize_t n = 0;
    while ((n = ::read(fd, buffer.data(), buffer.size())) > 0) {
        answer.append(buffer.data(), static_cast<std::size_t>(n));
    }
    ::close(fd);
    const auto body = answer.find("\r\n\r\n");
    REQUIRE(answer.starts_with("HTTP/1.1 200 "));
    REQUIRE(body != std::string::npos);
    return json::parse(answer.substr(body + 4));
}

// The headers the echo route saw, names lower-cased.
std::vector<std::pair<std::string, std::string>> echoed_headers(const json& echo) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& pair : echo.at("headers")) {
        std::string name = pair.at(0).get<std::string>();
        for (char& c : name) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        out.emplace_back(name, pair.at(1).get<std::string>());
    }
    return out;
}

std::optional<std::string> echoed_header(const json& echo, const std::string& lower_name) {
    for (const auto& [name, value] : echoed_headers(echo)) {
        if (name == lower_name) {
            return value;
        }
    }
    return std::nullopt;
}

std::string base64_decode(const std::string& text) {
    static const std::string alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned int bits = 0;
    int count = 0;
    for (char c : text) {
        const auto index = alphabet.find(c);
        if (index == std::string::npos) {
            continue;  // padding
        }
        bits = (bits << 6) | static_cast<unsigned int>(index);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out.push_back(static_cast<char>((bits >> count) & 0xffU));
        }
    }
    return out;
}

std::string binary_body(std::size_t size) {
    std::string body(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        body[i] = static_cast<char>((i * 131 + i / 977) & 0xffU);
    }
    return body;
}

// Sets (or, with nullopt, removes) an environment variable until the end of the scope. libcurl
// reads the proxy variables itself at every transfer, so they apply to clients in this process.
class ScopedEnv {
  public:
    ScopedEnv(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
        if (const char* old = std::getenv(name_.c_str())) {
            old_ = old;
        }
        set(value);
    }
    ~ScopedEnv() { set(old_); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

  private:
    void set(const std::optional<std::string>& value) {
        if (value) {
            ::setenv(name_.c_str(), value->c_str(), 1);
        } else {
            ::unsetenv(name_.c_str());
        }
    }
    std::string name_;
    std::optional<std::string> old_;
};

class RecordingSleeper final : public assetctl::util::Sleeper {
  public:
    void sleep_for(std::chrono::milliseconds duration) override { slept.push_back(duration); }
    std::vector<std::chrono::milliseconds> slept;
};

}  // namespace

TEST_CASE("curl client sends each method with its body and headers") {
    const auto client = make_curl_client({});
    const std::string method = GENERATE("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS");
    const std::string body = GENERATE(std::string(), binary_body(256), std::string("\0", 1));
    INFO(method << " with " << body.size() << " body bytes");
    const Response response =
        fetch(*client, method, http_url("/echo?a=1&b=%2F"), body,
              {{"X-Test-Header", "some value"}, {"x-amz-date", "20240101T000000Z"}});
    REQUIRE(response.status == 200);
    const json echo = json::parse(response.body);
    CHECK(echo.at("method") == method);
    CHECK(echo.at("path") == "/echo?a=1&b=%2F");
    CHECK(base64_decode(echo.at("body").get<std::string>()) == body);
    CHECK(echoed_header(echo, "x-test-header") == "some value");
    CHECK(echoed_header(echo, "x-amz-date") == "20240101T000000Z");
    CHECK(echoed_header(echo, "host") == "127.0.0.1:" + std::to_string(g_ports.http));
    if (!body.empty()) {
        CHECK(echoed_header(echo, "content-length") == std::to_string(body.size()));
    }
    // Nothing the caller did not ask for: no form content type, no 100-continue handshake.
    CHECK_FALSE(echoed_header(echo, "content-type"));
    CHECK_FALSE(echoed_header(echo, "expect"));
    CHECK_FALSE(echoed_header(echo, "transfer-encoding"));
}

TEST_CASE("curl client keeps the caller's content type and headers with empty values") {
    const auto client = make_curl_client({});
    const Response response =
        fetch(*client, "PUT", http_url("/echo"), "{}",
              {{"Content-Type", "application/json"}, {"X-Empty", ""}, {"X-After", "after"}});
    REQUIRE(response.status == 200);
    const json echo = json::parse(response.body);
    CHECK(echoed_header(echo, "content-type") == "application/json");
    CHECK(echoed_header(echo, "x-empty") == "");
    CHECK(echoed_header(echo, "x-after") == "after");
}

TEST_CASE("curl client round-trips large binary bodies both ways") {
    const auto client = make_curl_client({});
    const std::string body = binary_body(3 * 1024 * 1024 + 5);
    const Response put = fetch(*client, "PUT", http_url("/echo"), body);
    REQUIRE(put.status == 200);
    CHECK(base64_decode(json::parse(put.body).at("body").get<std::string>()) == body);

    const Response get = fetch(*client, "GET", http_url("/bytes/3000000"));
    REQUIRE(get.status == 200);
    CHECK(get.body == binary_body(3'000'000));
    CHECK(get.header("content-length") == "3000000");
}

namespace {

// Hands out a body in pieces of at most `piece` bytes; counts how often it was opened.
class PieceReader final : public assetctl::http::BodyReader {
  public:
    PieceReader(const std::string& body, std::size_t piece) : body_(body), piece_(piece) {}
    std::size_t read(char* buffer, std::size_t size) override {
        const std::size_t n = std::min({size, piece_, body_.size() - position_});
        std::memcpy(buffer, body_.data() + position_, n);
        position_ += n;
        return n;
    }

  private:
    const std::string& body_;
    std::size_t piece_;
    std::size_t position_ = 0;
};

}  // namespace

TEST_CASE("curl client streams a body from a reader with its exact length") {
    const auto client = make_curl_client({});
    const std::string body = binary_body(2 * 1024 * 1024 + 17);
    const std::string method = GENERATE("PUT", "PATCH", "POST");
    int opened = 0;
    Request request;
    request.method = method;
    request.url = http_url("/echo");
    request.stream = StreamedBody{body.size(), [&] {
                                      ++opened;
                                      return std::make_unique<PieceReader>(body, 70'001);
                                  }};
    const Response response = client->send(request);
    REQUIRE(response.status == 200);
    const json echo = json::parse(response.body);
    CHECK(echo.at("method") == method);
    CHECK(base64_decode(echo.at("body").get<std::string>()) == body);
    CHECK(echoed_header(echo, "content-length") == std::to_string(body.size()));
    CHECK_FALSE(echoed_header(echo, "transfer-encoding"));
    CHECK_FALSE(echoed_header(echo, "expect"));
    CHECK(opened == 1);
    // Sending it again reads it again from the first byte.
    REQUIRE(client->send(request).status == 200);
    CHECK(opened == 2);
}

TEST_CASE("curl client sends a body of unknown size chunked") {
    const auto client = make_curl_client({});
    const std::string body = binary_body(1024 * 1024 + 333);
    Request request;
    request.method = "PATCH";
    request.url = http_url("/echo");
    request.stream =
        StreamedBody{0, [&] { return std::make_unique<PieceReader>(body, 50'000); }, true};
    const Response response = client->send(request);
    REQUIRE(response.status == 200);
    const json echo = json::parse(response.body);
    CHECK(base64_decode(echo.at("body").get<std::string>()) == body);
    CHECK(echoed_header(echo, "transfer-encoding") == "chunked");
    CHECK_FALSE(echoed_header(echo, "content-length"));
}

TEST_CASE("curl client fails a request whose body reader throws or ends early") {
    const auto client = make_curl_client({});
    const std::string body = binary_body(100'000);
    Request request;
    request.method = "PUT";
    request.url = http_url("/echo");
    SECTION("the reader throws: the same exception reaches the caller") {
        class Throwing final : public assetctl::http::BodyReader {
          public:
            std::size_t read(char*, std::size_t) override {
                throw std::runtime_error("disk went away");
            }
        };
        request.stream = StreamedBody{body.size(), [] { return std::make_unique<Throwing>(); }};
        CHECK_THROWS_WITH(client->send(request), "disk went away");
    }
    SECTION("the reader ends before the announced length") {
        request.stream = StreamedBody{body.size() + 10,
                                      [&] { return std::make_unique<PieceReader>(body, 4096); }};
        CHECK_THROWS_WITH(client->send(request), Catch::Contains("10 bytes early"));
    }
    // The client still works afterwards.
    CHECK(fetch(*client, "GET", http_url("/status/200")).status == 200);
}

TEST_CASE("curl client stops a transfer once the process is interrupted") {
    const auto client = make_curl_client({});
    assetctl::util::request_interrupt();
    const auto started = std::chrono::steady_clock::now();
    // /stall never answers: only the interrupt can end this request before the 60 s timeout.
    CHECK_THROWS_AS(fetch(*client, "GET", http_url("/stall")), assetctl::util::Interrupted);
    assetctl::util::clear_interrupt_for_tests();
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
    CHECK(fetch(*client, "GET", http_url("/status/200")).status == 200);
}

TEST_CASE("curl client sends HEAD without reading a body") {
    const auto client = make_curl_client({});
    const Response get = fetch(*client, "GET", http_url("/status/200"));
    const Response head = fetch(*client, "HEAD", http_url("/status/200"));
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(head.header("Content-Length") == std::to_string(get.body.size()));
    CHECK(head.header("X-Status") == "200");
    // The connection is still usable after the body-less answer.
    CHECK(fetch(*client, "GET", http_url("/status/200")).body == "status 200");
}

TEST_CASE("curl client returns error statuses instead of throwing") {
    const auto client = make_curl_client({});
    for (long status : {201L, 204L, 301L, 304L, 400L, 403L, 404L, 409L, 429L, 500L, 503L}) {
        INFO(status);
        const Response response =
            fetch(*client, "GET", http_url("/status/" + std::to_string(status)));
        CHECK(response.status == status);
        CHECK(response.header("X-Status") == std::to_string(status));
        if (status != 204 && status != 304) {
            CHECK(response.body == "status " + std::to_string(status));
        }
    }
    // Redirects are answers too: not followed.
    const Response moved = fetch(*client, "GET", http_url("/status/301"));
    CHECK(moved.status == 301);
    CHECK(moved.header("location") == "/echo");
}

TEST_CASE("curl client captures response headers in order") {
    const auto client = make_curl_client({});
    const Response response = fetch(*client, "GET", http_url("/headers"));
    REQUIRE(response.status == 200);
    std::vector<std::string> multi;
    for (const auto& header : response.headers) {
        if (header.name == "X-Multi") {
            multi.push_back(header.value);
        }
    }
    CHECK(multi == std::vector<std::string>{"one", "two"});
    CHECK(response.header("x-multi") == "one");
    CHECK(response.header("X-EMPTY") == "");
    CHECK(response.header("X-Padded") == "padded value");
    CHECK(response.header("Content-Type") == "text/plain");
    CHECK_FALSE(response.header("X-Missing"));
    for (const auto& header : response.headers) {
        CHECK(header.name.find_first_of(" \r\n:") == std::string::npos);
        CHECK(header.value.find_first_of("\r\n") == std::string::npos);
    }
}

TEST_CASE("curl client keeps only the final answer's headers after interim answers") {
    const auto client = make_curl_client({});
    const long interim = GENERATE(100L, 103L);
    INFO("interim status " << interim);
    const Response response =
        fetch(*client, "POST", http_url("/interim/" + std::to_string(interim)), "data");
    CHECK(response.status == 200);
    CHECK(response.body == "final");
    CHECK(response.header("X-Final") == "yes");
    CHECK_FALSE(response.header("X-Interim"));
    CHECK_FALSE(response.header("Link"));
}

TEST_CASE("curl client reuses one connection for sequential requests to one host") {
    const auto client = make_curl_client({});
    const json before = stats();
    std::vector<long> connection_ids;
    for (int i = 0; i < 10; ++i) {
        const std::string method = i % 3 == 1 ? "POST" : "GET";
        const Response response = fetch(*client, method, http_url("/echo"), "request body");
        REQUIRE(response.status == 200);
        connection_ids.push_back(json::parse(response.body).at("connection").get<long>());
        // Non-200 and body-less answers keep the connection alive too.
        REQUIRE(fetch(*client, "HEAD", http_url("/status/404")).status == 404);
        REQUIRE(fetch(*client, "GET", http_url("/status/204")).status == 204);
    }
    const json after = stats();
    CHECK(after["connections"]["http"].get<int>() - before["connections"]["http"].get<int>() == 1);
    CHECK(after["requests"]["http"].get<int>() - before["requests"]["http"].get<int>() == 30);
    CHECK(std::count(connection_ids.begin(), connection_ids.end(), connection_ids.front()) == 10);
}

TEST_CASE("curl client reuses one TLS connection for sequential requests") {
    const auto client = make_curl_client(options_with_ca());
    const json before = stats();
    for (int i = 0; i < 10; ++i) {
        REQUIRE(fetch(*client, "GET", https_url("/echo")).status == 200);
    }
    const json after = stats();
    CHECK(after["connections"]["https"].get<int>() - before["connections"]["https"].get<int>() ==
          1);
}

TEST_CASE("curl client gives up after the total timeout with kind timeout") {
    ClientOptions options;
    options.total_timeout = 1'000ms;
    const auto client = make_curl_client(options);
    const auto started = std::chrono::steady_clock::now();
    try {
        fetch(*client, "GET", http_url("/stall"));
        FAIL("expected TransportError");
    } catch (const TransportError& e) {
        const auto elapsed = std::chrono::steady_clock::now() - started;
        CHECK(e.kind() == TransportErrorKind::timeout);
        CHECK(e.retryable());
        CHECK(elapsed >= 1'000ms - k_timer_slack);
        CHECK(elapsed < 4'000ms);
    }
    // The client still works afterwards.
    CHECK(fetch(*client, "GET", http_url("/status/200")).status == 200);
}

TEST_CASE("curl client gives up on a silent peer after the stall timeout, before the total") {
    ClientOptions options = options_with_ca();
    options.total_timeout = 30'000ms;
    options.stall_timeout = 1s;
    const auto client = make_curl_client(options);
    for (const std::string& url : {http_url("/stall"), https_url("/stall")}) {
        INFO(url);
        const auto started = std::chrono::steady_clock::now();
        try {
            fetch(*client, "GET", url);
            FAIL("expected TransportError");
        } catch (const TransportError& e) {
            const auto elapsed = std::chrono::steady_clock::now() - started;
            CHECK(e.kind() == TransportErrorKind::timeout);
            CHECK(e.retryable());
            CHECK(elapsed >= 1'000ms - k_timer_slack);
            CHECK(elapsed < 10'000ms);
        }
    }
    CHECK(fetch(*client, "GET", http_url("/status/200")).status == 200);
}

TEST_CASE("curl client lets a request's timeout override the client's") {
    ClientOptions options = options_with_ca();
    options.total_timeout = 30'000ms;
    const auto client = make_curl_client(options);
    for (const std::string& url : {http_url("/stall"), https_url("/stall")}) {
        INFO(url);
        Request request;
        request.url = url;
        request.timeout = 400ms;
        const auto started = std::chrono::steady_clock::now();
        try {
            client->send(request);
            FAIL("expected TransportError");
        } catch (const TransportError& e) {
            const auto elapsed = std::chrono::steady_clock::now() - started;
            CHECK(e.kind() == TransportErrorKind::timeout);
            CHECK(elapsed >= 400ms - k_timer_slack);
            CHECK(elapsed < 4'000ms);
        }
    }
}

TEST_CASE("curl client reports a refused connection with kind connect") {
    // A bound socket that does not listen refuses connections, and keeps its port ours.
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/";
    const auto client = make_curl_client({});
    try {
        fetch(*client, "GET", url);
        FAIL("expected TransportError");
    } catch (const TransportError& e) {
        CHECK(e.kind() == TransportErrorKind::connect);
        CHECK(e.retryable());
        CHECK_THAT(e.what(), Catch::Contains(url));
    }
    ::close(fd);
}

TEST_CASE("curl client rejects an untrusted certificate with kind tls") {
    const auto client = make_curl_client({});
    try {
        fetch(*client, "GET", https_url("/echo"));
        FAIL("expected TransportError");
    } catch (const TransportError& e) {
        CHECK(e.kind() == TransportErrorKind::tls);
        CHECK_FALSE(e.retryable());
    }
    ClientOptions missing_bundle;
    missing_bundle.ca_bundle = g_ports.cert + ".missing";
    try {
        fetch(*make_curl_client(missing_bundle), "GET", https_url("/echo"));
        FAIL("expected TransportError");
    } catch (const TransportError& e) {
        CHECK(e.kind() == TransportErrorKind::tls);
    }
}

TEST_CASE("curl client reports https to a plain HTTP port with kind tls_handshake") {
    // The plain server answers the ClientHello with an HTTP error: no TLS session at all.
    const std::string url = "https://127.0.0.1:" + std::to_string(g_ports.http) + "/echo";
    try {
        fetch(*make_curl_client(options_with_ca()), "GET", url);
        FAIL("expected TransportError");
    } catch (const TransportError& e) {
        CHECK(e.kind() == TransportErrorKind::tls_handshake);
        CHECK_FALSE(e.retryable());
    }
}

namespace {

std::shared_ptr<const std::string> pem_of(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    return std::make_shared<const std::string>(text.str());
}

Request get_with_extra_ca(const std::string& url, std::shared_ptr<const std::string> extra) {
    Request request;
    request.url = url;
    request.extra_ca_pem = std::move(extra);
    return request;
}

TransportErrorKind failure_kind(HttpClient& client, const Request& request) {
    try {
        client.send(request);
    } catch (const TransportError& e) {
        return e.kind();
    }
    FAIL("expected TransportError");
    return TransportErrorKind::other;
}

}  // namespace

TEST_CASE("curl client trusts a request's extra CA in addition to the system store") {
    const auto client = make_curl_client({});
    const auto server_ca = pem_of(g_ports.cert);
    CHECK(client->send(get_with_extra_ca(https_url("/echo"), server_ca)).status == 200);
    // The connection verified with the extra CA is not reused for a request without it.
    CHECK(failure_kind(*client, get_with_extra_ca(https_url("/echo"), nullptr)) ==
          TransportErrorKind::tls);
    CHECK(client->send(get_with_extra_ca(https_url("/echo"), server_ca)).status == 200);
}

TEST_CASE("curl client adds a request's extra CA to the configured bundle, keeping it") {
    const auto server_ca = pem_of(g_ports.cert);
    const auto other_ca = pem_of(std::string(k_system_ca_bundle));  // not the server's
    ClientOptions system_bundle;
    system_bundle.ca_bundle = std::string(k_system_ca_bundle);
    CHECK(make_curl_client(system_bundle)
              ->send(get_with_extra_ca(https_url("/echo"), server_ca))
              .status == 200);
    // The bundle's own CAs stay trusted when a request brings others.
    CHECK(make_curl_client(options_with_ca())
              ->send(get_with_extra_ca(https_url("/echo"), other_ca))
              .status == 200);
    CHECK(failure_kind(*make_curl_client({}), get_with_extra_ca(https_url("/echo"), other_ca)) ==
          TransportErrorKind::tls);
    ClientOptions missing_bundle;
    missing_bundle.ca_bundle = g_ports.cert + ".missing";
    CHECK(failure_kind(*make_curl_client(missing_bundle),
                       get_with_extra_ca(https_url("/echo"), server_ca)) ==
          TransportErrorKind::tls);
}

TEST_CASE("curl client trusts the configured CA bundle") {
    const auto client = make_curl_client(options_with_ca());
    const Response response =
        fetch(*client, "POST", https_url("/echo"), binary_body(1000), {{"X-Over-Tls", "yes"}});
    REQUIRE(response.status == 200);
    const json echo = json::parse(response.body);
    CHECK(echo.at("listener") == "https");
    CHECK(echoed_header(echo, "x-over-tls") == "yes");
    CHECK(base64_decode(echo.at("body").get<std::string>()) == binary_body(1000));
}

TEST_CASE("curl client goes through the proxy from the environment unless NO_PROXY matches") {
    const std::string proxy = "http://127.0.0.1:" + std::to_string(g_ports.proxy);
    const auto proxied_count = [] { return stats()["proxied"].size(); };

    SECTION("https through CONNECT") {
        const ScopedEnv https_proxy("HTTPS_PROXY", proxy);
        const auto before = proxied_count();
        const auto client = make_curl_client(options_with_ca());
        const Response response = fetch(*client, "PUT", https_url("/echo"), "via proxy");
        REQUIRE(response.status == 200);
        CHECK(json::parse(response.body).at("body") == "dmlhIHByb3h5");
        const json after = stats()["proxied"];
        REQUIRE(after.size() == before + 1);
        CHECK(after.back() == "CONNECT 127.0.0.1:" + std::to_string(g_ports.https));
        // The CONNECT answer's headers are not the response's.
        CHECK_FALSE(response.header("X-Proxy"));
        CHECK(response.header("Content-Type") == "application/json");

        const ScopedEnv no_proxy("NO_PROXY", std::string("127.0.0.1"));
        const auto direct = make_curl_client(options_with_ca());
        REQUIRE(fetch(*direct, "GET", https_url("/echo")).status == 200);
        CHECK(proxied_count() == before + 1);
    }

    SECTION("plain http through http_proxy") {
        // libcurl reads only the lower-case http_proxy for http:// URLs (HTTP_PROXY could be
        // set by a CGI request header), so the upper-case form is shown to be ignored.
        const auto before = proxied_count();
        {
            const ScopedEnv upper("HTTP_PROXY", proxy);
            REQUIRE(fetch(*make_curl_client({}), "GET", http_url("/echo")).status == 200);
            CHECK(proxied_count() == before);
        }
        const ScopedEnv http_proxy("http_proxy", proxy);
        const auto client = make_curl_client({});
        const Response response =
            fetch(*client, "POST", http_url("/echo?q=1"), "through", {{"X-Through", "proxy"}});
        REQUIRE(response.status == 200);
        const json echo = json::parse(response.body);
        CHECK(echo.at("path") == "/echo?q=1");
        CHECK(echoed_header(echo, "x-through") == "proxy");
        const json after = stats()["proxied"];
        REQUIRE(after.size() == before + 1);
        CHECK(after.back() == "POST " + http_url("/echo?q=1"));

        const ScopedEnv no_proxy("no_proxy", std::string("127.0.0.1"));
        REQUIRE(fetch(*make_curl_client({}), "GET", http_url("/echo")).status == 200);
        CHECK(proxied_count() == before + 1);
    }
}

TEST_CASE("curl client sends the configured user agent and none by default") {
    ClientOptions options;
    options.user_agent = "assetctl/0.1.0 test";
    const Response configured = fetch(*make_curl_client(options), "GET", http_url("/echo"));
    CHECK(echoed_header(json::parse(configured.body), "user-agent") == "assetctl/0.1.0 test");
    const Response unset = fetch(*make_curl_client({}), "GET", http_url("/echo"));
    CHECK_FALSE(echoed_header(json::parse(unset.body), "user-agent"));
}

TEST_CASE("curl client is safe to share between threads") {
    const auto client = make_curl_client(options_with_ca());
    const json before = stats();
    constexpr int k_threads = 8;
    constexpr int k_requests = 25;
    std::atomic<int> good{0};
    std::vector<std::string> failures(k_threads);
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < k_requests; ++i) {
                const std::string body = std::to_string(t) + "/" + std::to_string(i) +
                                         binary_body(1000 + 37 * static_cast<std::size_t>(i));
                const std::string url = t % 2 == 0 ? http_url("/echo") : https_url("/echo");
                try {
                    const Response response = fetch(*client, "POST", url, body);
                    const json echo = json::parse(response.body);
                    if (response.status == 200 &&
                        base64_decode(echo.at("body").get<std::string>()) == body) {
                        ++good;
                    } else {
                        failures[static_cast<std::size_t>(t)] = "wrong answer for " + url;
                    }
                } catch (const std::exception& e) {
                    failures[static_cast<std::size_t>(t)] = e.what();
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    for (const auto& failure : failures) {
        CHECK(failure.empty());
    }
    CHECK(good == k_threads * k_requests);
    const json after = stats();
    // At most one connection per thread and scheme: idle connections are reused.
    CHECK(after["connections"]["http"].get<int>() - before["connections"]["http"].get<int>() <=
          k_threads / 2);
    CHECK(after["connections"]["https"].get<int>() - before["connections"]["https"].get<int>() <=
          k_threads / 2);
}

TEST_CASE("curl client with send_with_retries gets past two 503 answers") {
    const auto client = make_curl_client({});
    RecordingSleeper sleeper;
    const RetryContext context{RetryPolicy{}, sleeper, [] { return 0.5; }};
    int attempts = 0;
    Request request;
    request.method = "POST";
    request.url = http_url("/flaky/retry-test");
    request.body = "payload";
    const Response response = send_with_retries(
        context, "flaky",
        [&] {
            ++attempts;
            return client->send(request);
        },
        [](const Response& r) {
            return Verdict{r.status >= 500, "server busy"};
        });
    CHECK(response.status == 200);
    CHECK(response.body == "ok after 3");
    CHECK(attempts == 3);
    CHECK(stats()["flaky"]["retry-test"] == 3);
    CHECK(sleeper.slept == std::vector<std::chrono::milliseconds>{500ms, 1'000ms});
}

namespace {

// Starts http_test_server.py and waits (with a deadline) for its ready file. Its stdin is a
// pipe we hold: when this process ends, however it ends, the server sees EOF and exits.
class TestServer {
  public:
    TestServer() {
        std::string pattern = (fs::temp_directory_path() / "assetctl-http-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        dir_ = pattern;
        const fs::path ready = dir_ / "ready.json";

        std::array<int, 2> stdin_pipe{};
        if (::pipe2(stdin_pipe.data(), O_CLOEXEC) != 0) {
            throw std::runtime_error("pipe2 failed");
        }
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, stdin_pipe[0], STDIN_FILENO);
        const std::string dir_text = dir_.string();
        const std::string ready_text = ready.string();
        std::vector<std::string> args{
            ASSETCTL_PYTHON, ASSETCTL_HTTP_TEST_SERVER, "--dir", dir_text, "--ready", ready_text};
        std::vector<char*> argv;
        for (auto& arg : args) {
            argv.push_back(arg.data());
        }
        argv.push_back(nullptr);
        const int spawned =
            ::posix_spawn(&pid_, ASSETCTL_PYTHON, &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(stdin_pipe[0]);
        stdin_write_ = stdin_pipe[1];
        if (spawned != 0) {
            pid_ = -1;
            throw Unavailable(std::string("cannot start ") + ASSETCTL_PYTHON);
        }

        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (!fs::exists(ready)) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
                    throw Unavailable("the test server lacks a prerequisite");
                }
                throw std::runtime_error("the test server exited before it was ready");
            }
            if (std::chrono::steady_clock::now() > deadline) {
                throw std::runtime_error("the test server was not ready within 30 s");
            }
            std::this_thread::sleep_for(10ms);  // polling interval, bounded by the deadline
        }
        std::ifstream in(ready);
        const json ports = json::parse(in);
        g_ports.http = ports.at("http").get<int>();
        g_ports.https = ports.at("https").get<int>();
        g_ports.proxy = ports.at("proxy").get<int>();
        g_ports.control = ports.at("control").get<int>();
        g_ports.cert = ports.at("cert").get<std::string>();
    }

    ~TestServer() {
        if (stdin_write_ >= 0) {
            ::close(stdin_write_);
        }
        if (pid_ > 0) {
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    struct Unavailable : std::runtime_error {
        using std::runtime_error::runtime_error;
    };

  private:
    fs::path dir_;
    pid_t pid_ = -1;
    int stdin_write_ = -1;
};

}  // namespace

int main(int argc, char* argv[]) {
    // Proxies from the environment this test was started in would defeat the tests; the proxy
    // test sets its own.
    for (const char* name : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                             "ALL_PROXY", "no_proxy", "NO_PROXY"}) {
        ::unsetenv(name);
    }
    std::optional<TestServer> server;
    try {
        server.emplace();
    } catch (const TestServer::Unavailable& e) {
        std::cerr << "test_curl_client: skipped: " << e.what() << "\n";
        return assetctl::test::k_skipped_exit_code;
    }
    return assetctl::test::run_catch_session(argc, argv);
}
