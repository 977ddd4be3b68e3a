#pragma once

#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "http/http_client.hpp"

namespace assetctl::test {

// A scripted HttpClient: each expect() is one request that must arrive in that order with
// that method, URL and headers; it is answered with the scripted response or transport error.
// Anything unexpected throws std::logic_error (which no production code catches), so the test
// fails with a description.
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
        Expectation& respond(long status, std::string body = {}) {
            response_ = http::Response{status, {}, std::move(body)};
            return *this;
        }
        Expectation& fail(http::TransportErrorKind kind, std::string message = "scripted failure") {
            failure_ = std::make_pair(kind, std::move(message));
            return *this;
        }

      private:
        friend class FakeHttpClient;
        std::string method_;
        std::string url_;
        http::Headers headers_;
        std::vector<std::string> absent_;
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
        Expectation expectation;
        {
            std::lock_guard lock(mutex_);
            received_.push_back(request);
            if (expected_.empty()) {
                throw std::logic_error("FakeHttpClient: unexpected request " + request.method +
                                       " " + request.url);
            }
            expectation = std::move(expected_.front());
            expected_.pop_front();
        }
        if (request.method != expectation.method_ || request.url != expectation.url_) {
            throw std::logic_error("FakeHttpClient: expected " + expectation.method_ + " " +
                                   expectation.url_ + ", got " + request.method + " " +
                                   request.url);
        }
        for (const auto& header : expectation.headers_) {
            auto value = http::find_header(request.headers, header.name);
            if (!value || *value != header.value) {
                throw std::logic_error("FakeHttpClient: " + request.method + " " + request.url +
                                       ": header " + header.name + " is " +
                                       (value ? "'" + *value + "'" : "missing") + ", expected '" +
                                       header.value + "'");
            }
        }
        for (const auto& name : expectation.absent_) {
            if (http::find_header(request.headers, name)) {
                throw std::logic_error("FakeHttpClient: " + request.method + " " + request.url +
                                       ": unexpected header " + name);
            }
        }
        if (expectation.failure_) {
            throw http::TransportError(expectation.failure_->first, expectation.failure_->second);
        }
        if (!expectation.response_) {
            throw std::logic_error("FakeHttpClient: no response scripted for " +
                                   expectation.method_ + " " + expectation.url_);
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

  private:
    mutable std::mutex mutex_;
    std::deque<Expectation> expected_;
    std::vector<http::Request> received_;
};

}  // namespace assetctl::test
