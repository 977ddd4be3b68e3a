#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_client.hpp"
#include "http/retry.hpp"

namespace assetctl::registry {

// One entry of a distribution error body:
//   {"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown to registry", "detail": ...}]}
// `detail` is whatever JSON the registry put there, serialised (empty when absent).
struct ErrorDetail {
    std::string code;
    std::string message;
    std::string detail;
};

// An error answer from a registry (or its token service), with the registry's codes. The
// decisions callers need are methods, so retry and re-authentication logic never looks at
// status numbers itself.
class RegistryError : public std::runtime_error {
  public:
    // `operation` names what failed for the message ("PUT manifest app:v1"); `excerpt` is the
    // start of a body that was not a distribution error document (a proxy's HTML page).
    RegistryError(std::string operation, long status, std::vector<ErrorDetail> errors,
                  std::string excerpt = {});

    const std::string& operation() const noexcept { return operation_; }
    long status() const noexcept { return status_; }
    const std::vector<ErrorDetail>& errors() const noexcept { return errors_; }
    std::vector<std::string> codes() const;
    bool has_code(std::string_view code) const;

    // Worth sending again after a back-off: 408, 429, any 5xx but 501/505, or a throttling or
    // unavailability code (TOOMANYREQUESTS, UNAVAILABLE) whatever the status. Never a plain
    // 400/401/403/404: the same request would get the same answer.
    bool retryable() const;
    // The registry refused the credentials or the permission (401, 403, UNAUTHORIZED, DENIED).
    bool is_auth_failure() const;
    // The repository, blob or manifest does not exist (404, NAME_UNKNOWN, BLOB_UNKNOWN,
    // MANIFEST_UNKNOWN).
    bool is_not_found() const;
    // The upload session is unusable (BLOB_UPLOAD_INVALID, BLOB_UPLOAD_UNKNOWN, 416 Range Not
    // Satisfiable): the upload must start again with a new session, never reuse its Location.
    bool breaks_upload_session() const;

  private:
    std::string operation_;
    long status_;
    std::vector<ErrorDetail> errors_;
};

// A success answer that breaks the protocol (202 without Location, a digest that differs from
// the bytes sent). Retrying will not fix the registry, so it is not retried.
class ProtocolError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The entries of a distribution error body; empty when `body` is not one.
std::vector<ErrorDetail> parse_error_body(std::string_view body);

// The RegistryError for an error answer.
RegistryError error_from_response(std::string operation, const http::Response& response);

// What a single request's answer means for http::send_with_retries. `upload_session` is for an
// attempt that is a whole upload (POST .. PUT): there a broken session is worth another
// attempt, because the next attempt starts a new one.
enum class RetryScope { request, upload_session };
http::Verdict classify_answer(const http::Response& response,
                              RetryScope scope = RetryScope::request);

}  // namespace assetctl::registry
