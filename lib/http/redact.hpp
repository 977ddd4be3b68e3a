#pragma once

#include <string>
#include <string_view>

#include "http/http_client.hpp"

namespace assetctl::http {

// Header names whose values are secrets (Authorization, X-Amz-Security-Token, cookies, ...).
bool is_secret_header(std::string_view name);

// `Name: value` lines for logs, with secret values replaced by `<redacted>`.
std::string headers_for_log(const Headers& headers);

// The URL for logs: user:password@ and presigned-URL query values (X-Amz-Signature,
// X-Amz-Credential, X-Amz-Security-Token) replaced by `<redacted>`.
std::string url_for_log(std::string_view url);

}  // namespace assetctl::http
