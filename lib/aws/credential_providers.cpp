#include "aws/credential_providers.hpp"

#include <cctype>
#include <charconv>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "aws/credential_providers_detail.hpp"
#include "util/files.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace assetctl::aws {

// --- Helpers -------------------------------------------------------------------------------

namespace {

// Appends the body of the '...' word part opening at `open` (no escapes inside); returns the
// index of the closing quote.
std::size_t append_single_quoted(std::string_view command, std::size_t open, std::string& word) {
    const auto close = command.find('\'', open + 1);
    if (close == std::string_view::npos) {
        throw std::invalid_argument("a single quote is not closed");
    }
    word.append(command.substr(open + 1, close - open - 1));
    return close;
}

// Appends the body of the "..." word part opening at `open`, where a backslash escapes only
// " \ $ ` and a newline (a line continuation); returns the index of the closing quote.
std::size_t append_double_quoted(std::string_view command, std::size_t open, std::string& word) {
    const auto n = command.size();
    for (std::size_t i = open + 1;; ++i) {
        if (i >= n) {
            throw std::invalid_argument("a double quote is not closed");
        }
        const char q = command[i];
        if (q == '"') {
            return i;
        }
        if (q == '\\' && i + 1 < n) {
            const char next = command[i + 1];
            if (next == '"' || next == '\\' || next == '$' || next == '`') {
                word += next;
                ++i;
                continue;
            }
            if (next == '\n') {
                ++i;
                continue;
            }
        }
        word += q;
    }
}

}  // namespace

std::vector<std::string> split_command_line(std::string_view command) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;  // distinguishes an empty quoted word from no word
    const auto n = command.size();
    for (std::size_t i = 0; i < n; ++i) {
        const char c = command[i];
        if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word) {
                words.push_back(std::move(word));
                word.clear();
                in_word = false;
            }
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= n) {
                throw std::invalid_argument("a backslash ends the command");
            }
            ++i;
            if (command[i] != '\n') {  // backslash-newline is a line continuation
                word += command[i];
                in_word = true;
            }
            continue;
        }
        in_word = true;
        if (c == '\'') {
            i = append_single_quoted(command, i, word);
        } else if (c == '"') {
            i = append_double_quoted(command, i, word);
        } else {
            word += c;
        }
    }
    if (in_word) {
        words.push_back(std::move(word));
    }
    return words;
}

std::string default_session_user(const util::Environment& env) {
    if (auto user = env.get_non_empty("USER")) {
        return *user;
    }
    if (auto user = env.get_non_empty("LOGNAME")) {
        return *user;
    }
    return "ci";
}

namespace detail {

AwsCredentials credentials_from_json(const nlohmann::json& document, std::string_view what,
                                     const CredentialsJsonShape& shape) {
    const std::string prefix(what);
    if (!document.is_object()) {
        throw CredentialsError(prefix + ": expected a JSON object");
    }
    const auto string_field = [&](std::string_view key,
                                  Presence presence) -> std::optional<std::string> {
        const auto it = document.find(key);
        if (it == document.end() || it->is_null()) {
            if (presence == Presence::required) {
                throw CredentialsError(prefix + ": the answer has no " + std::string(key));
            }
            return std::nullopt;
        }
        if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
            throw CredentialsError(prefix + ": " + std::string(key) +
                                   " must be a non-empty string");
        }
        return it->get<std::string>();
    };

    AwsCredentials credentials;
    credentials.keys.access_key_id = *string_field("AccessKeyId", Presence::required);
    credentials.keys.secret_access_key = *string_field("SecretAccessKey", Presence::required);
    credentials.keys.session_token = string_field(shape.token_key, shape.token);
    if (auto expiration = string_field("Expiration", shape.expiration)) {
        credentials.expiration = util::parse_iso8601(*expiration);
        if (!credentials.expiration) {
            throw CredentialsError(prefix + ": Expiration '" + *expiration +
                                   "' is not an ISO 8601 timestamp");
        }
    }
    return credentials;
}

std::string read_token_file(const std::string& path, std::string_view what) {
    std::string token;
    try {
        token = util::trim(util::read_file(path));
    } catch (const util::FileError& e) {
        throw CredentialsError(std::string(what) + ": " + e.what());
    }
    if (token.empty()) {
        throw CredentialsError(std::string(what) + ": " + path + " is empty");
    }
    return token;
}

std::string stderr_tail(std::string_view err) {
    constexpr std::size_t k_max_lines = 5;
    constexpr std::size_t k_max_chars = 400;
    std::vector<std::string> lines;
    while (!err.empty()) {
        const auto newline = err.find('\n');
        std::string line = util::trim(err.substr(0, newline));
        err = newline == std::string_view::npos ? std::string_view() : err.substr(newline + 1);
        if (!line.empty()) {
            lines.push_back(std::move(line));
        }
    }
    if (lines.size() > k_max_lines) {
        lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(k_max_lines));
    }
    std::string tail = util::join(lines, " | ");
    if (tail.size() > k_max_chars) {
        tail = "..." + tail.substr(tail.size() - k_max_chars);
    }
    return tail;
}

}  // namespace detail

// --- Environment ---------------------------------------------------------------------------

ProviderResult EnvironmentProvider::resolve() {
    auto access_key = env_.get_non_empty("AWS_ACCESS_KEY_ID");
    auto secret_key = env_.get_non_empty("AWS_SECRET_ACCESS_KEY");
    if (!access_key && !secret_key) {
        return {std::nullopt, "AWS_ACCESS_KEY_ID is not set"};
    }
    if (!access_key) {
        throw CredentialsError(
            "environment: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is missing (set "
            "both, or neither)");
    }
    if (!secret_key) {
        throw CredentialsError(
            "environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is missing (set "
            "both, or neither)");
    }
    AwsCredentials credentials;
    credentials.keys.access_key_id = std::move(*access_key);
    credentials.keys.secret_access_key = std::move(*secret_key);
    credentials.keys.session_token = env_.get_non_empty("AWS_SESSION_TOKEN");
    if (!credentials.keys.session_token) {
        credentials.keys.session_token = env_.get_non_empty("AWS_SECURITY_TOKEN");
    }
    if (auto expiration = env_.get_non_empty("AWS_CREDENTIAL_EXPIRATION")) {
        credentials.expiration = util::parse_iso8601(*expiration);
        if (!credentials.expiration) {
            throw CredentialsError("environment: AWS_CREDENTIAL_EXPIRATION '" + *expiration +
                                   "' is not an ISO 8601 timestamp");
        }
    }
    credentials.source = "environment";
    return {std::move(credentials), {}};
}

// --- Web identity from the environment -----------------------------------------------------

ProviderResult WebIdentityEnvProvider::resolve() {
    auto token_file = env_.get_non_empty("AWS_WEB_IDENTITY_TOKEN_FILE");
    if (!token_file) {
        return {std::nullopt, "AWS_WEB_IDENTITY_TOKEN_FILE is not set"};
    }
    auto role_arn = env_.get_non_empty("AWS_ROLE_ARN");
    if (!role_arn) {
        throw CredentialsError(
            "web identity: AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not (set the "
            "role to assume)");
    }
    WebIdentityRequest request;
    request.role_arn = *role_arn;
    request.session_name = env_.get_non_empty("AWS_ROLE_SESSION_NAME")
                               .value_or(sts_session_name(default_session_user(env_)));
    request.token =
        detail::read_token_file(*token_file, "web identity: AWS_WEB_IDENTITY_TOKEN_FILE");
    AwsCredentials credentials;
    try {
        credentials = sts_.assume_role_with_web_identity(request);
    } catch (const std::runtime_error& e) {
        throw CredentialsError("web identity: AssumeRoleWithWebIdentity for " + *role_arn +
                               " failed: " + e.what());
    }
    credentials.source = "web identity: " + *role_arn;
    return {std::move(credentials), {}};
}

// --- Chain ---------------------------------------------------------------------------------

namespace {

std::string no_credentials_message(const std::vector<std::pair<std::string, std::string>>& reasons,
                                   const std::string& hint) {
    std::vector<std::string> parts;
    parts.reserve(reasons.size());
    for (const auto& [name, reason] : reasons) {
        parts.push_back(name + ": " + reason);
    }
    return "no AWS credentials found (" + util::join(parts, "; ") + "); " + hint;
}

const std::string k_no_credentials_hint =
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, choose a profile of the shared config "
    "files with --profile or AWS_PROFILE, or set AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN "
    "(OIDC in CI)";

}  // namespace

NoCredentialsError::NoCredentialsError(std::vector<std::pair<std::string, std::string>> reasons)
    : CredentialsError(no_credentials_message(reasons, k_no_credentials_hint)),
      reasons_(std::move(reasons)),
      hint_(k_no_credentials_hint) {}

CredentialsChain::CredentialsChain(std::vector<std::unique_ptr<CredentialsProvider>> providers)
    : providers_(std::move(providers)) {}

std::optional<AwsCredentials> CredentialsChain::try_provider(std::size_t index,
                                                             std::string& reason) {
    auto& provider = *providers_[index];
    spdlog::debug("credentials: trying {}", provider.name());
    auto result = provider.resolve();
    if (result.credentials) {
        spdlog::debug("credentials: using {} ({})", provider.name(), result.credentials->source);
        last_.store(static_cast<int>(index));
        return std::move(result.credentials);
    }
    spdlog::debug("credentials: {} does not apply: {}", provider.name(),
                  result.not_applicable_reason);
    reason = std::move(result.not_applicable_reason);
    return std::nullopt;
}

ProviderResult CredentialsChain::resolve() {
    const int last = last_.load();
    std::string last_reason;
    if (last >= 0) {
        if (auto credentials = try_provider(static_cast<std::size_t>(last), last_reason)) {
            return {std::move(credentials), {}};
        }
        last_.store(-1);
    }
    std::vector<std::pair<std::string, std::string>> reasons;
    for (std::size_t i = 0; i < providers_.size(); ++i) {
        std::string reason;
        if (static_cast<int>(i) == last) {
            reason = last_reason;
        } else if (auto credentials = try_provider(i, reason)) {
            return {std::move(credentials), {}};
        }
        reasons.emplace_back(providers_[i]->name(), std::move(reason));
    }
    throw NoCredentialsError(std::move(reasons));
}

std::optional<std::string> CredentialsChain::last_provider() const {
    const int last = last_.load();
    if (last < 0) {
        return std::nullopt;
    }
    return providers_[static_cast<std::size_t>(last)]->name();
}

// --- Cache ---------------------------------------------------------------------------------

CachingCredentialsProvider::CachingCredentialsProvider(std::unique_ptr<CredentialsProvider> inner,
                                                       const util::Clock& clock)
    : inner_(std::move(inner)), clock_(clock) {}

ProviderResult CachingCredentialsProvider::resolve() {
    // Held across the refresh on purpose: concurrent callers wait for the one refresh instead
    // of each calling STS or IMDS.
    std::lock_guard lock(mutex_);
    if (cached_ && (!cached_->expiration ||
                    clock_.now() < *cached_->expiration - k_credentials_refresh_margin)) {
        return {cached_, {}};
    }
    cached_.reset();
    auto result = inner_->resolve();
    if (result.credentials) {
        cached_ = result.credentials;
        if (cached_->expiration) {
            spdlog::debug("credentials: {} valid until {}", cached_->source,
                          util::format_iso8601(*cached_->expiration));
        }
    }
    return result;
}

AwsCredentials CachingCredentialsProvider::credentials() {
    auto result = resolve();
    if (!result.credentials) {
        throw CredentialsError(name() + ": " + result.not_applicable_reason);
    }
    return std::move(*result.credentials);
}

void CachingCredentialsProvider::invalidate() {
    std::lock_guard lock(mutex_);
    cached_.reset();
}

// --- Factory -------------------------------------------------------------------------------

std::unique_ptr<CachingCredentialsProvider> make_default_credentials_chain(
    const ChainDependencies& dependencies) {
    static util::ThreadSleeper real_sleeper;
    util::Sleeper& sleeper = dependencies.sleeper != nullptr ? *dependencies.sleeper : real_sleeper;
    const auto& env = dependencies.environment;
    const ProfileSelection selection = select_profile(env, dependencies.profile_override);
    const bool profile_given = selection.origin == "--profile";
    const std::string skipped = "not used because --profile was given";

    CredentialSources sources;
    sources.environment = std::make_unique<EnvironmentProvider>(env);
    sources.ec2_instance_metadata =
        std::make_unique<InstanceMetadataProvider>(env, dependencies.http);
    sources.ecs_container = std::make_unique<ContainerProvider>(env, dependencies.http, sleeper);

    std::vector<std::unique_ptr<CredentialsProvider>> providers;
    if (profile_given) {
        providers.push_back(std::make_unique<DisabledProvider>("environment", skipped));
    } else {
        providers.push_back(std::make_unique<EnvironmentProvider>(env));
    }
    providers.push_back(std::make_unique<SharedProfileProvider>(
        env, dependencies.processes, dependencies.sts, selection, std::move(sources)));
    if (profile_given) {
        providers.push_back(std::make_unique<DisabledProvider>("web identity", skipped));
    } else {
        providers.push_back(std::make_unique<WebIdentityEnvProvider>(env, dependencies.sts));
    }
    providers.push_back(std::make_unique<ContainerProvider>(env, dependencies.http, sleeper));
    providers.push_back(std::make_unique<InstanceMetadataProvider>(env, dependencies.http));
    return std::make_unique<CachingCredentialsProvider>(
        std::make_unique<CredentialsChain>(std::move(providers)), dependencies.clock);
}

// --- Region and other settings ------------------------------------------------------------

namespace {

std::optional<std::string> profile_setting(const SharedConfig& config,
                                           const ProfileSelection& selection,
                                           std::string_view key) {
    const Profile* profile = config.selected(selection);
    if (profile == nullptr) {
        return std::nullopt;
    }
    auto value = profile->get(key);
    if (value && value->empty()) {
        return std::nullopt;
    }
    return value;
}

int parse_max_attempts(const std::string& text, const std::string& where) {
    constexpr std::uint64_t k_most = 1'000;
    const auto value = util::parse_whole_number(text);
    if (!value || *value < 1 || *value > k_most) {
        throw SharedConfigError(where + " must be a whole number from 1 to 1000, got '" + text +
                                "'");
    }
    return static_cast<int>(*value);
}

}  // namespace

std::optional<std::string> resolve_default_region(const util::Environment& env,
                                                  const SharedConfig& config,
                                                  const ProfileSelection& profile) {
    if (auto region = env.get_non_empty("AWS_REGION")) {
        return region;
    }
    if (auto region = env.get_non_empty("AWS_DEFAULT_REGION")) {
        return region;
    }
    return profile_setting(config, profile, "region");
}

std::optional<int> resolve_max_attempts(const util::Environment& env, const SharedConfig& config,
                                        const ProfileSelection& profile) {
    if (auto value = env.get_non_empty("AWS_MAX_ATTEMPTS")) {
        return parse_max_attempts(util::trim(*value), "AWS_MAX_ATTEMPTS");
    }
    if (auto value = profile_setting(config, profile, "max_attempts")) {
        return parse_max_attempts(*value, "max_attempts of profile '" + profile.name + "'");
    }
    return std::nullopt;
}

std::optional<std::string> resolve_ca_bundle(const util::Environment& env,
                                             const SharedConfig& config,
                                             const ProfileSelection& profile) {
    if (auto value = env.get_non_empty("AWS_CA_BUNDLE")) {
        return value;
    }
    return profile_setting(config, profile, "ca_bundle");
}

}  // namespace assetctl::aws
