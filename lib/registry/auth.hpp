#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_client.hpp"
#include "http/retry.hpp"
#include "http/url.hpp"
#include "util/clock.hpp"

namespace assetctl::registry {

// A registry login. For ECR: username "AWS" and the password from GetAuthorizationToken. Never
// logged; there is deliberately no printing operator.
struct Credentials {
    std::string username;
    std::string password;
};

// Where the Authenticator gets credentials. Called under the Authenticator's lock, so one
// source serves one Authenticator without locking of its own.
class CredentialsSource {
  public:
    virtual ~CredentialsSource() = default;
    // nullopt: push anonymously. `refresh` is true after the registry refused the last
    // credentials (an ECR token expires after 12 hours): a caching source must fetch new ones
    // instead of answering from its cache.
    virtual std::optional<Credentials> get(bool refresh) = 0;
};

// Fixed credentials (or none, for an anonymous registry).
class StaticCredentials final : public CredentialsSource {
  public:
    StaticCredentials() = default;
    explicit StaticCredentials(Credentials credentials) : credentials_(std::move(credentials)) {}
    std::optional<Credentials> get(bool /*refresh*/) override { return credentials_; }

  private:
    std::optional<Credentials> credentials_;
};

// `user:password` from base64 (what ECR's GetAuthorizationToken returns as authorizationToken);
// nullopt when it is not base64 or has no colon.
std::optional<Credentials> credentials_from_basic_token(std::string_view base64);

// One challenge of a WWW-Authenticate header (RFC 7235): `Bearer realm="...",service="..."`.
// The scheme and parameter names are lower-cased; values are unquoted.
struct Challenge {
    std::string scheme;
    std::map<std::string, std::string> parameters;

    std::string parameter(const std::string& name) const;
};

// All challenges of one header value (a header may carry several, separated by commas).
std::vector<Challenge> parse_challenges(std::string_view header_value);
// The challenges of every WWW-Authenticate header of an answer, in order.
std::vector<Challenge> challenges_of(const http::Response& response);

// A token service's answer (distribution token spec): `token` or, from OAuth2-style services,
// `access_token`; `expires_in` seconds, 60 when absent.
struct BearerToken {
    std::string token;
    std::chrono::seconds expires_in{60};
};
std::optional<BearerToken> parse_token_response(std::string_view body);

// "repository:<name>:<actions>", the scope a Bearer token is requested for.
std::string repository_scope(std::string_view repository, std::string_view actions);

enum class AuthScheme { none, basic, bearer };

// Adds the Authorization header to registry requests. It learns the scheme from an
// unauthenticated `GET /v2/` (401 + WWW-Authenticate; 200 means anonymous) once, then:
//   Basic  - `Basic base64(user:password)` on every request (what ECR asks for);
//   Bearer - a token from the challenge's realm (`GET realm?service=&scope=` with the Basic
//            credentials, or anonymously), cached per set of scopes until shortly before
//            `expires_in` runs out.
// A 401 to a request means the credentials expired or the scope was not enough: send()
// adopts the answer's challenge (and its `scope`), drops the refused header, fetches fresh
// credentials (`refresh`), and sends the request once more - once, never in a loop; when the
// fresh header is the one just refused, it does not resend at all. The header goes only to
// the registry's own origin: an upload Location on another host (a storage redirect) gets
// none. Safe to use from several threads; requests go out in parallel, while the ping and
// credential / token fetches are serialised under one lock (so N threads that meet an expired
// token fetch one new token, not N).
class Authenticator {
  public:
    Authenticator(http::HttpClient& http, const http::RetryContext& retry, const util::Clock& clock,
                  http::Url registry, std::shared_ptr<CredentialsSource> credentials);

    // The scheme, pinging the registry the first time. Throws RegistryError when the ping
    // gets an error answer, TransportError when none.
    AuthScheme scheme();

    // Sends `request` with credentials for `scopes` (Bearer only; "repository:app:pull,push")
    // and returns the answer. `request` is updated in place (its Authorization header), so a
    // large body is never copied. Throws RegistryError when the token service refuses.
    http::Response send(http::Request& request, const std::vector<std::string>& scopes);

  private:
    void ping_locked();
    std::string authorization_locked(const std::vector<std::string>& scopes);
    std::optional<Credentials> credentials_locked();
    std::string fetch_token_locked(const std::vector<std::string>& scopes);
    void adopt_locked(const std::vector<Challenge>& challenges, std::vector<std::string>& scopes);
    void invalidate_locked(const std::vector<std::string>& scopes, const std::string& used);
    bool same_origin(const std::string& url) const;

    http::HttpClient& http_;
    const http::RetryContext retry_;
    const util::Clock& clock_;
    const http::Url registry_;
    std::shared_ptr<CredentialsSource> source_;

    std::mutex mutex_;
    bool pinged_ = false;
    // Set once the ping's retries were spent: later requests fail with it at once.
    std::optional<std::string> unreachable_;
    AuthScheme scheme_ = AuthScheme::none;
    std::string realm_;
    std::string service_;
    bool have_credentials_ = false;
    bool credentials_stale_ = false;
    std::optional<Credentials> credentials_;
    struct CachedToken {
        std::string header;
        std::chrono::system_clock::time_point refresh_at;
    };
    std::map<std::string, CachedToken> tokens_;  // by sorted, space-joined scopes
};

}  // namespace assetctl::registry
