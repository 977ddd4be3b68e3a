#include "registry/registry_error.hpp"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

namespace assetctl::registry {
namespace {

constexpr std::size_t k_excerpt_length = 200;
constexpr std::size_t k_detail_length = 200;

// TOOMANYREQUESTS is the spec's throttling code; UNAVAILABLE is distribution's (503) and
// appears behind load balancers with other statuses.
constexpr std::array<std::string_view, 2> k_retryable_codes{"TOOMANYREQUESTS", "UNAVAILABLE"};
constexpr std::array<std::string_view, 2> k_auth_codes{"UNAUTHORIZED", "DENIED"};
constexpr std::array<std::string_view, 3> k_not_found_codes{"NAME_UNKNOWN", "BLOB_UNKNOWN",
                                                            "MANIFEST_UNKNOWN"};
constexpr std::array<std::string_view, 2> k_session_codes{"BLOB_UPLOAD_INVALID",
                                                          "BLOB_UPLOAD_UNKNOWN"};

template <std::size_t N>
bool any_code_in(const std::vector<ErrorDetail>& errors,
                 const std::array<std::string_view, N>& list) {
    return std::any_of(errors.begin(), errors.end(), [&](const ErrorDetail& error) {
        return std::find(list.begin(), list.end(), error.code) != list.end();
    });
}

std::string printable(std::string_view text, std::size_t limit) {
    std::string out;
    for (char c : text.substr(0, limit)) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? ' ' : c;
    }
    if (text.size() > limit) {
        out += "...";
    }
    return out;
}

std::string render(const std::string& operation, long status,
                   const std::vector<ErrorDetail>& errors, const std::string& excerpt) {
    std::string out = "registry " + operation + " failed: ";
    if (errors.empty()) {
        out += excerpt.empty() ? "no error details" : excerpt;
    }
    for (std::size_t i = 0; i < errors.size(); ++i) {
        if (i > 0) {
            out += "; ";
        }
        out += errors[i].code.empty() ? "(no code)" : errors[i].code;
        if (!errors[i].message.empty()) {
            out += ": " + errors[i].message;
        }
        if (!errors[i].detail.empty()) {
            out += " (" + printable(errors[i].detail, k_detail_length) + ")";
        }
    }
    out += " (HTTP " + std::to_string(status) + ")";
    return out;
}

}  // namespace

RegistryError::RegistryError(std::string operation, long status, std::vector<ErrorDetail> errors,
                             std::string excerpt)
    : std::runtime_error(render(operation, status, errors, excerpt)),
      operation_(std::move(operation)),
      status_(status),
      errors_(std::move(errors)) {}

std::vector<std::string> RegistryError::codes() const {
    std::vector<std::string> out;
    for (const auto& error : errors_) {
        out.push_back(error.code);
    }
    return out;
}

bool RegistryError::has_code(std::string_view code) const {
    return std::any_of(errors_.begin(), errors_.end(),
                       [&](const ErrorDetail& error) { return error.code == code; });
}

bool RegistryError::retryable() const {
    if (status_ == 408 || status_ == 429) {
        return true;
    }
    if (status_ >= 500 && status_ <= 599 && status_ != 501 && status_ != 505) {
        return true;
    }
    return any_code_in(errors_, k_retryable_codes);
}

bool RegistryError::is_auth_failure() const {
    return status_ == 401 || status_ == 403 || any_code_in(errors_, k_auth_codes);
}

bool RegistryError::is_not_found() const {
    return status_ == 404 || any_code_in(errors_, k_not_found_codes);
}

bool RegistryError::breaks_upload_session() const {
    return status_ == 416 || any_code_in(errors_, k_session_codes);
}

std::vector<ErrorDetail> parse_error_body(std::string_view body) {
    std::vector<ErrorDetail> out;
    const auto json = nlohmann::json::parse(body, nullptr, false);
    if (!json.is_object()) {
        return out;
    }
    const auto errors = json.find("errors");
    if (errors == json.end() || !errors->is_array()) {
        return out;
    }
    for (const auto& entry : *errors) {
        if (!entry.is_object()) {
            continue;
        }
        ErrorDetail detail;
        if (auto code = entry.find("code"); code != entry.end() && code->is_string()) {
            detail.code = code->get<std::string>();
        }
        if (auto message = entry.find("message"); message != entry.end() && message->is_string()) {
            detail.message = message->get<std::string>();
        }
        if (auto more = entry.find("detail"); more != entry.end() && !more->is_null()) {
            detail.detail = more->is_string() ? more->get<std::string>() : more->dump();
        }
        out.push_back(std::move(detail));
    }
    return out;
}

RegistryError error_from_response(std::string operation, const http::Response& response) {
    auto errors = parse_error_body(response.body);
    std::string excerpt;
    if (errors.empty()) {
        excerpt = printable(response.body, k_excerpt_length);
    }
    return RegistryError(std::move(operation), response.status, std::move(errors),
                         std::move(excerpt));
}

http::Verdict classify_answer(const http::Response& response, RetryScope scope) {
    if (response.status >= 200 && response.status < 400) {
        return {};
    }
    const RegistryError error = error_from_response("", response);
    const bool retry =
        error.retryable() || (scope == RetryScope::upload_session && error.breaks_upload_session());
    if (!retry) {
        return {};
    }
    std::string reason = "HTTP " + std::to_string(response.status);
    for (const auto& code : error.codes()) {
        reason += " " + code;
    }
    return {true, reason, response.status == 429 || error.has_code("TOOMANYREQUESTS")};
}

}  // namespace assetctl::registry
