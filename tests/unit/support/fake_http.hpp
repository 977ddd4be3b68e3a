#pragma once

#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http/http_client.hpp"
#include "support/surprises.hpp"

namespace assetctl::test {

// A scripted HttpClient: each expect() is one request that must arrive in that order with that
// method and URL (and the headers and body asked for); it is answered with the scripted
// response (status, headers such as Location or WWW-Authenticate, body) or transport error.
// Anything unexpected is a surprise (support/surprises.hpp): it throws std::logic_error and
// fails the test even if the code under test catches the exception.
class FakeHttpClient final : public http::HttpClient {
  public:
    class Expectation {
      public:
        // The request must carry this header with exactly this value.
        Expectation& with_header(std::string name, std::string value) {
            headers_.push_back({std::move(name), std::move(value)});
            return *this;
        }
        // The request must not carry this header.
        Expectation& without_header(std::string name) {
            absent_.push_back(std::move(name));
            return *this;
        }
        // The request body must be exactly these bytes.
        Expectation& with_body(std::string body) {
            body_ = std::move(body);
            return *this;
        }
        Expectation& respond(long status, http::Headers headers = {}, std::string body = {}) {
            response_ = http::Response{status, std::move(headers), std::move(body)};
            return *this;
        }
        // Throws http::TransportError; the message defaults to "scripted failure of METHOD URL".
        Expectation& fail(http::TransportErrorKind kind, std::string message = {}) {
            failure_ = std::make_pair(kind, std::move(message));
            return *this;
        }

      private:
        friend class FakeHttpClient;
        std::string method_;
        std::string url_;
        http::Headers headers_;
        std::vector<std::string> absent_;
        std::optional<std::string> body_;
        std::optional<http::Response> response_;
        std::optional<std::pair<http::TransportErrorKind, std::string>> failure_;
    };

    Expectation& expect(std::string method, std::string url) {
        std::lock_guard lock(mutex_);
        auto& expectation = expected_.emplace_back();
        expectation.method_ = std::move(method);
        expectation.url_ = std::move(url);
        return expectation;
    }

    http::Response send(const http::Request& request) override {
        const auto expectation = next(request);
        const std::string what = request.method + " " + request.url;
        if (request.method != expectation.method_ || request.url != expectation.url_) {
            surprises_.raise("FakeHttpClient: expected " + expectation.method_ + " " +
                             expectation.url_ + ", got " + what);
        }
        check_headers(expectation, request, what);
        if (expectation.body_ && *expectation.body_ != http::body_bytes(request)) {
            surprises_.raise("FakeHttpClient: " + what + ": body of " +
                             std::to_string(request.body.size()) + " bytes differs from the " +
                             std::to_string(expectation.body_->size()) + " expected");
        }
        if (expectation.failure_) {
            const auto& [kind, message] = *expectation.failure_;
            throw http::TransportError(kind,
                                       message.empty() ? "scripted failure of " + what : message);
        }
        if (!expectation.response_) {
            surprises_.raise("FakeHttpClient: no response scripted for " + what);
        }
        return *expectation.response_;
    }

    // Every scripted request arrived.
    bool all_used() const {
        std::lock_guard lock(mutex_);
        return expected_.empty();
    }
    std::vector<http::Request> received() const {
        std::lock_guard lock(mutex_);
        return received_;
    }
    // What was not expected so far (each also fails the test when this fake goes away).
    std::vector<std::string> surprises() const { return surprises_.list(); }

  private:
    // Records the request and takes the next expectation off the script.
    Expectation next(const http::Request& request) {
        std::unique_lock lock(mutex_);
        received_.push_back(request);
        if (expected_.empty()) {
            lock.unlock();
            surprises_.raise("FakeHttpClient: unexpected request " + request.method + " " +
                             request.url);
        }
        auto expectation = std::move(expected_.front());
        expected_.pop_front();
        return expectation;
    }

    void check_headers(const Expectation& expectation, const http::Request& request,
                       const std::string& what) {
        for (const auto& header : expectation.headers_) {
            const auto value = http::find_header(request.headers, header.name);
            if (!value || *value != header.value) {
                surprises_.raise("FakeHttpClient: " + what + ": header " + header.name + " is " +
                                 (value ? "'" + *value + "'" : "missing") + ", expected '" +
                                 header.value + "'");
            }
        }
        for (const auto& name : expectation.absent_) {
            if (http::find_header(request.headers, name)) {
                surprises_.raise("FakeHttpClient: " + what + ": unexpected header " + name);
            }
        }
    }

    Surprises surprises_;
    mutable std::mutex mutex_;
    std::deque<Expectation> expected_;
    std::vector<http::Request> received_;
};

}  // namespace assetctl::test
