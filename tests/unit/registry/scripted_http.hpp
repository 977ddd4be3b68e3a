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

// A scripted HttpClient for the registry tests: like support/fake_http.hpp (each expect() is
// one request that must arrive in that order, with that method and URL; anything else throws
// std::logic_error), plus what registry answers need and that fake cannot script: response
// headers (Location, WWW-Authenticate, Docker-Content-Digest, Retry-After) and a check of the
// request body.
class ScriptedHttp final : public http::HttpClient {
  public:
    class Step {
      public:
        Step& with_header(std::string name, std::string value) {
            headers_.push_back({std::move(name), std::move(value)});
            return *this;
        }
        Step& without_header(std::string name) {
            absent_.push_back(std::move(name));
            return *this;
        }
        Step& with_body(std::string body) {
            body_ = std::move(body);
            return *this;
        }
        Step& respond(long status, http::Headers headers = {}, std::string body = {}) {
            response_ = http::Response{status, std::move(headers), std::move(body)};
            return *this;
        }
        Step& fail(http::TransportErrorKind kind) {
            failure_ = kind;
            return *this;
        }

      private:
        friend class ScriptedHttp;
        std::string method_;
        std::string url_;
        http::Headers headers_;
        std::vector<std::string> absent_;
        std::optional<std::string> body_;
        std::optional<http::Response> response_;
        std::optional<http::TransportErrorKind> failure_;
    };

    Step& expect(std::string method, std::string url) {
        std::lock_guard lock(mutex_);
        auto& step = steps_.emplace_back();
        step.method_ = std::move(method);
        step.url_ = std::move(url);
        return step;
    }

    http::Response send(const http::Request& request) override {
        Step step;
        {
            std::lock_guard lock(mutex_);
            received_.push_back(request);
            if (steps_.empty()) {
                throw std::logic_error("ScriptedHttp: unexpected request " + request.method + " " +
                                       request.url);
            }
            step = std::move(steps_.front());
            steps_.pop_front();
        }
        const std::string what = request.method + " " + request.url;
        if (request.method != step.method_ || request.url != step.url_) {
            throw std::logic_error("ScriptedHttp: expected " + step.method_ + " " + step.url_ +
                                   ", got " + what);
        }
        for (const auto& header : step.headers_) {
            const auto value = http::find_header(request.headers, header.name);
            if (!value || *value != header.value) {
                throw std::logic_error("ScriptedHttp: " + what + ": header " + header.name +
                                       " is " + (value ? "'" + *value + "'" : "missing") +
                                       ", expected '" + header.value + "'");
            }
        }
        for (const auto& name : step.absent_) {
            if (http::find_header(request.headers, name)) {
                throw std::logic_error("ScriptedHttp: " + what + ": unexpected header " + name);
            }
        }
        if (step.body_ && *step.body_ != http::body_bytes(request)) {
            throw std::logic_error(
                "ScriptedHttp: " + what + ": body of " + std::to_string(request.body.size()) +
                " bytes differs from the " + std::to_string(step.body_->size()) + " expected");
        }
        if (step.failure_) {
            throw http::TransportError(*step.failure_, "scripted failure of " + what);
        }
        if (!step.response_) {
            throw std::logic_error("ScriptedHttp: no response scripted for " + what);
        }
        return *step.response_;
    }

    bool all_used() const {
        std::lock_guard lock(mutex_);
        return steps_.empty();
    }
    std::vector<http::Request> received() const {
        std::lock_guard lock(mutex_);
        return received_;
    }

  private:
    mutable std::mutex mutex_;
    std::deque<Step> steps_;
    std::vector<http::Request> received_;
};

}  // namespace assetctl::test
