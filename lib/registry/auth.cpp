#include "registry/auth.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "crypto/crypto.hpp"
#include "http/redact.hpp"
#include "registry/registry_error.hpp"
#include "util/strings.hpp"

namespace assetctl::registry {
namespace {

// A cached token is renewed this long before it expires, so a request never carries a token
// that runs out in flight. Capped at half of the token's lifetime for very short-lived ones.
constexpr std::chrono::seconds k_token_refresh_margin{10};

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void set_authorization(http::Request& request, const std::string& value) {
    auto& headers = request.headers;
    headers.erase(std::remove_if(headers.begin(), headers.end(),
                                 [](const http::Header& header) {
                                     return util::to_lower(header.name) == "authorization";
                                 }),
                  headers.end());
    if (!value.empty()) {
        headers.push_back({"Authorization", value});
    }
}

std::string basic_header(const Credentials& credentials) {
    std::string pair = credentials.username + ":" + credentials.password;
    std::string header = "Basic " + crypto::base64_encode(pair);
    crypto::wipe(pair);
    return header;
}

std::string scope_key(std::vector<std::string> scopes) {
    std::sort(scopes.begin(), scopes.end());
    scopes.erase(std::unique(scopes.begin(), scopes.end()), scopes.end());
    return util::join(scopes, " ");
}

const char* scheme_name(AuthScheme scheme) {
    switch (scheme) {
        case AuthScheme::none:
            return "none";
        case AuthScheme::basic:
            return "Basic";
        case AuthScheme::bearer:
            return "Bearer";
    }
    return "?";
}

}  // namespace

std::optional<Credentials> credentials_from_basic_token(std::string_view base64) {
    auto decoded = crypto::base64_decode(base64);
    if (!decoded) {
        return std::nullopt;
    }
    const auto colon = decoded->find(':');
    if (colon == std::string::npos) {
        crypto::wipe(*decoded);
        return std::nullopt;
    }
    Credentials credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
    crypto::wipe(*decoded);
    return credentials;
}

std::string Challenge::parameter(const std::string& name) const {
    const auto it = parameters.find(name);
    return it == parameters.end() ? std::string() : it->second;
}

std::vector<Challenge> parse_challenges(std::string_view value) {
    std::vector<Challenge> out;
    std::size_t pos = 0;
    const std::size_t n = value.size();
    const auto skip_spaces = [&] {
        while (pos < n && is_space(value[pos])) {
            ++pos;
        }
    };
    const auto skip_spaces_and_commas = [&] {
        while (pos < n && (is_space(value[pos]) || value[pos] == ',')) {
            ++pos;
        }
    };
    while (true) {
        skip_spaces_and_commas();
        if (pos >= n) {
            break;
        }
        const std::size_t start = pos;
        while (pos < n && !is_space(value[pos]) && value[pos] != ',' && value[pos] != '=') {
            ++pos;
        }
        const std::string token = util::to_lower(value.substr(start, pos - start));
        skip_spaces();
        if (pos < n && value[pos] == '=' && !out.empty() && !token.empty()) {
            ++pos;
            skip_spaces();
            std::string parameter;
            if (pos < n && value[pos] == '"') {
                ++pos;
                while (pos < n && value[pos] != '"') {
                    if (value[pos] == '\\' && pos + 1 < n) {
                        ++pos;
                    }
                    parameter += value[pos++];
                }
                ++pos;  // closing quote (or past the end of a truncated header)
            } else {
                while (pos < n && value[pos] != ',' && !is_space(value[pos])) {
                    parameter += value[pos++];
                }
            }
            out.back().parameters[token] = parameter;
        } else if (!token.empty()) {
            out.push_back(Challenge{token, {}});
        } else {
            ++pos;  // a stray '=': skip it
        }
    }
    return out;
}

std::vector<Challenge> challenges_of(const http::Response& response) {
    std::vector<Challenge> out;
    for (const auto& header : response.headers) {
        if (util::to_lower(header.name) == "www-authenticate") {
            auto parsed = parse_challenges(header.value);
            out.insert(out.end(), parsed.begin(), parsed.end());
        }
    }
    return out;
}

std::optional<BearerToken> parse_token_response(std::string_view body) {
    const auto json = nlohmann::json::parse(body, nullptr, false);
    if (!json.is_object()) {
        return std::nullopt;
    }
    BearerToken token;
    for (const char* key : {"token", "access_token"}) {
        if (auto it = json.find(key);
            it != json.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
            token.token = it->get<std::string>();
            break;
        }
    }
    if (token.token.empty()) {
        return std::nullopt;
    }
    if (auto it = json.find("expires_in"); it != json.end() && it->is_number()) {
        const auto seconds = it->get<double>();
        if (seconds > 0 && seconds < 1e9) {
            token.expires_in = std::chrono::seconds(static_cast<long long>(seconds));
        }
    }
    return token;
}

std::string repository_scope(std::string_view repository, std::string_view actions) {
    return "repository:" + std::string(repository) + ":" + std::string(actions);
}

Authenticator::Authenticator(http::HttpClient& http, const http::RetryContext& retry,
                             const util::Clock& clock, http::Url registry,
                             std::shared_ptr<CredentialsSource> credentials)
    : http_(http),
      retry_(retry),
      clock_(clock),
      registry_(std::move(registry)),
      source_(std::move(credentials)) {}

AuthScheme Authenticator::scheme() {
    std::lock_guard lock(mutex_);
    ping_locked();
    return scheme_;
}

void Authenticator::ping_locked() {
    if (pinged_) {
        return;
    }
    if (unreachable_) {
        throw http::TransportError(http::TransportErrorKind::gave_up, *unreachable_);
    }
    const std::string url = registry_.origin() + "/v2/";
    http::Response response;
    try {
        response = http::send_with_retries(
            retry_, "registry ping " + registry_.authority(),
            [&] {
                http::Request request;
                request.url = url;
                return http_.send(request);
            },
            [](const http::Response& answer) { return classify_answer(answer); });
    } catch (const http::TransportError& e) {
        // The ping's retries are spent: every later request to this registry fails at once with
        // the same error, and no caller's retry loop retries it (which would multiply the
        // attempts: a silent registry held a run for minutes).
        if (!e.retryable()) {
            throw;
        }
        unreachable_ = "registry " + registry_.authority() + " did not answer: " + e.what();
        throw http::TransportError(http::TransportErrorKind::gave_up, *unreachable_);
    }
    if (const auto verdict = classify_answer(response); verdict.retry) {
        const int attempts = http::attempts_allowed(retry_.policy, verdict.throttled);
        unreachable_ = std::string(error_from_response(
                                       "GET /v2/ (ping " + registry_.authority() + ")", response)
                                       .what()) +
                       " after " + std::to_string(attempts) + " attempts";
        throw http::TransportError(http::TransportErrorKind::gave_up, *unreachable_);
    }
    if (response.status == 200) {
        scheme_ = AuthScheme::none;
    } else if (response.status == 401) {
        std::vector<std::string> no_scopes;
        scheme_ = AuthScheme::basic;  // a 401 without a usable challenge: try Basic
        adopt_locked(challenges_of(response), no_scopes);
    } else {
        throw error_from_response("GET /v2/ (ping " + registry_.authority() + ")", response);
    }
    pinged_ = true;
    spdlog::debug("registry {}: authentication {}", registry_.authority(), scheme_name(scheme_));
}

// Takes the first Bearer challenge, else the first Basic one; other schemes are ignored. A
// Bearer challenge's `scope` (what the refused request needed) joins the requested scopes.
void Authenticator::adopt_locked(const std::vector<Challenge>& challenges,
                                 std::vector<std::string>& scopes) {
    const Challenge* chosen = nullptr;
    for (const auto& challenge : challenges) {
        if (challenge.scheme == "bearer") {
            chosen = &challenge;
            break;
        }
        if (challenge.scheme == "basic" && chosen == nullptr) {
            chosen = &challenge;
        }
    }
    if (chosen == nullptr) {
        if (scheme_ == AuthScheme::none) {
            scheme_ = AuthScheme::basic;
        }
        return;
    }
    if (chosen->scheme == "basic") {
        if (scheme_ != AuthScheme::basic) {
            tokens_.clear();
        }
        scheme_ = AuthScheme::basic;
        return;
    }
    const std::string realm = chosen->parameter("realm");
    const auto realm_url = http::parse_url(realm);
    // Credentials go to the realm in a Basic header: never over plain HTTP unless the
    // registry itself is plain HTTP (a local test registry).
    if (!realm_url || (realm_url->scheme != "https" && registry_.scheme == "https")) {
        throw ProtocolError("registry " + registry_.authority() +
                            " asks for Bearer tokens from realm '" + http::url_for_log(realm) +
                            "', which is not an https URL; refusing to send credentials there");
    }
    if (scheme_ != AuthScheme::bearer || realm != realm_ ||
        chosen->parameter("service") != service_) {
        tokens_.clear();
    }
    scheme_ = AuthScheme::bearer;
    realm_ = realm;
    service_ = chosen->parameter("service");
    const std::string wanted = chosen->parameter("scope");
    std::size_t start = 0;
    while (start < wanted.size()) {  // several scopes are space-separated
        const auto space = wanted.find(' ', start);
        const auto scope = wanted.substr(start, space == std::string::npos ? space : space - start);
        if (!scope.empty() && std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) {
            scopes.push_back(scope);
        }
        start = space == std::string::npos ? wanted.size() : space + 1;
    }
}

std::optional<Credentials> Authenticator::credentials_locked() {
    if (!have_credentials_ || credentials_stale_) {
        credentials_ = source_ ? source_->get(credentials_stale_) : std::nullopt;
        have_credentials_ = true;
        credentials_stale_ = false;
    }
    return credentials_;
}

std::string Authenticator::authorization_locked(const std::vector<std::string>& scopes) {
    switch (scheme_) {
        case AuthScheme::none:
            return {};
        case AuthScheme::basic: {
            const auto credentials = credentials_locked();
            return credentials ? basic_header(*credentials) : std::string();
        }
        case AuthScheme::bearer: {
            const auto key = scope_key(scopes);
            if (auto it = tokens_.find(key);
                it != tokens_.end() && clock_.now() < it->second.refresh_at) {
                return it->second.header;
            }
            return fetch_token_locked(scopes);
        }
    }
    return {};
}

std::string Authenticator::fetch_token_locked(const std::vector<std::string>& scopes) {
    std::string url = realm_;
    char separator = url.find('?') == std::string::npos ? '?' : '&';
    if (!service_.empty()) {
        url += separator + std::string("service=") + http::form_encode(service_);
        separator = '&';
    }
    for (const auto& scope : scopes) {
        url += separator + std::string("scope=") + http::form_encode(scope);
        separator = '&';
    }
    const auto credentials = credentials_locked();
    const auto requested_at = clock_.now();
    const auto realm_host = http::parse_url(realm_)->authority();
    const auto response = http::send_with_retries(
        retry_, "registry token from " + realm_host,
        [&] {
            http::Request request;
            request.url = url;
            if (credentials) {
                request.headers.push_back({"Authorization", basic_header(*credentials)});
            }
            return http_.send(request);
        },
        [](const http::Response& answer) { return classify_answer(answer); });
    if (response.status != 200) {
        throw error_from_response(
            "GET token from " + realm_host + " for '" + scope_key(scopes) + "'", response);
    }
    const auto token = parse_token_response(response.body);
    if (!token) {
        throw ProtocolError("the token service " + realm_host +
                            " answered 200 without a token or access_token");
    }
    const auto margin =
        std::min<std::chrono::seconds>(k_token_refresh_margin, token->expires_in / 2);
    CachedToken cached{"Bearer " + token->token, requested_at + token->expires_in - margin};
    tokens_[scope_key(scopes)] = cached;
    spdlog::debug("registry {}: token for '{}' valid {} s", registry_.authority(),
                  scope_key(scopes), token->expires_in.count());
    return cached.header;
}

// Forgets `used` if it is still the current header: another thread may already have replaced
// it after its own 401, and that newer one must not be thrown away (nor refreshed twice).
void Authenticator::invalidate_locked(const std::vector<std::string>& scopes,
                                      const std::string& used) {
    if (scheme_ == AuthScheme::bearer) {
        const auto it = tokens_.find(scope_key(scopes));
        if (it != tokens_.end() && it->second.header == used) {
            tokens_.erase(it);
        }
        if (!used.empty()) {
            credentials_stale_ = true;
        }
        return;
    }
    if (scheme_ == AuthScheme::basic && !used.empty() && credentials_ &&
        basic_header(*credentials_) == used) {
        credentials_stale_ = true;
    }
}

bool Authenticator::same_origin(const std::string& url) const {
    const auto parsed = http::parse_url(url);
    return parsed && parsed->origin() == registry_.origin();
}

http::Response Authenticator::send(http::Request& request, const std::vector<std::string>& scopes) {
    if (!same_origin(request.url)) {
        set_authorization(request, {});
        return http_.send(request);
    }
    std::vector<std::string> wanted = scopes;
    std::string used;
    {
        std::lock_guard lock(mutex_);
        ping_locked();
        used = authorization_locked(wanted);
    }
    set_authorization(request, used);
    http::Response response = http_.send(request);
    if (response.status != 401) {
        return response;
    }
    std::string fresh;
    {
        std::lock_guard lock(mutex_);
        const AuthScheme before = scheme_;
        adopt_locked(challenges_of(response), wanted);
        invalidate_locked(wanted, used);
        fresh = authorization_locked(wanted);
        if (fresh == used && (scheme_ == before || fresh.empty())) {
            spdlog::debug("registry {}: credentials refused for {} {}", registry_.authority(),
                          request.method, http::url_for_log(request.url));
            return response;  // the same header again would get the same 401
        }
    }
    spdlog::debug("registry {}: 401 for {} {}; authenticating again", registry_.authority(),
                  request.method, http::url_for_log(request.url));
    set_authorization(request, fresh);
    return http_.send(request);
}

}  // namespace assetctl::registry
