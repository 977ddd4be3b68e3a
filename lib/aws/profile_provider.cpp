// SharedProfileProvider: credentials from the selected profile of the shared files.

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "aws/credential_providers.hpp"
#include "aws/credential_providers_detail.hpp"
#include "util/strings.hpp"

namespace assetctl::aws {
namespace {

constexpr std::array<std::string_view, 4> k_sso_keys{"sso_start_url", "sso_session",
                                                     "sso_account_id", "sso_role_name"};

std::string in_quotes(std::string_view name) {
    std::string out;
    out += '\'';
    out += name;
    out += '\'';
    return out;
}

bool has_role(const Profile& profile) {
    // A profile with web_identity_token_file uses role_arn for that, not for AssumeRole.
    return profile.has("role_arn") && !profile.has("web_identity_token_file");
}

bool has_static_keys(const IniValues& values) {
    return values.count("aws_access_key_id") != 0 || values.count("aws_secret_access_key") != 0;
}

bool has_static_keys(const Profile& profile) {
    return has_static_keys(profile.credentials_values) || has_static_keys(profile.config_values);
}

// Resolves one top-level profile; `visited` is the source_profile chain walked so far.
class ProfileResolver {
  public:
    ProfileResolver(const SharedConfig& config, const util::Environment& env,
                    process::ProcessRunner& processes, StsApi& sts,
                    const CredentialSources& sources)
        : config_(config), env_(env), processes_(processes), sts_(sts), sources_(sources) {}

    ProviderResult resolve(const ProfileSelection& selection) {
        const Profile* profile = config_.selected(selection);
        if (profile == nullptr) {
            return {std::nullopt, "profile " + in_quotes(selection.name) + " not found in " +
                                      config_.files_for_message()};
        }
        visited_ = {profile->name};
        if (has_role(*profile)) {
            return {assume_role(*profile), {}};
        }
        if (auto credentials = without_role(*profile)) {
            return {std::move(credentials), {}};
        }
        return {std::nullopt,
                "profile " + in_quotes(profile->name) + " in " + config_.files_for_message() +
                    " has no credentials (no aws_access_key_id, role_arn, credential_process or "
                    "web_identity_token_file)"};
    }

  private:
    std::string context(const Profile& profile) const {
        return "profile " + in_quotes(profile.name);
    }

    // Everything but role_arn + source, in botocore's order.
    std::optional<AwsCredentials> without_role(const Profile& profile) {
        if (profile.has("web_identity_token_file")) {
            return web_identity(profile);
        }
        for (auto key : k_sso_keys) {
            if (profile.has(key)) {
                throw CredentialsError(
                    context(profile) + " uses IAM Identity Center (" + std::string(key) +
                    "), which assetctl does not support; set credential_process = aws "
                    "configure export-credentials --profile " +
                    profile.name + " --format process in another profile instead");
            }
        }
        if (has_static_keys(profile.credentials_values)) {
            return static_keys(profile, profile.credentials_values,
                               config_.files().credentials.string());
        }
        if (auto command = profile.get("credential_process")) {
            return credential_process(profile, *command);
        }
        if (has_static_keys(profile.config_values)) {
            return static_keys(profile, profile.config_values, config_.files().config.string());
        }
        return std::nullopt;
    }

    AwsCredentials static_keys(const Profile& profile, const IniValues& values,
                               const std::string& file) const {
        const auto value = [&](std::string_view key) -> std::optional<std::string> {
            auto it = values.find(key);
            if (it == values.end() || it->second.empty()) {
                return std::nullopt;
            }
            return it->second;
        };
        AwsCredentials credentials;
        auto access_key = value("aws_access_key_id");
        auto secret_key = value("aws_secret_access_key");
        if (!access_key || !secret_key) {
            throw CredentialsError(context(profile) + " in " + file + " has " +
                                   (access_key ? "aws_access_key_id but no aws_secret_access_key"
                                               : "aws_secret_access_key but no aws_access_key_id"));
        }
        credentials.keys.access_key_id = std::move(*access_key);
        credentials.keys.secret_access_key = std::move(*secret_key);
        credentials.keys.session_token = value("aws_session_token");
        if (!credentials.keys.session_token) {
            credentials.keys.session_token = value("aws_security_token");
        }
        credentials.source = context(profile) + ": static keys from " + file;
        return credentials;
    }

    std::optional<int> duration_seconds(const Profile& profile) const {
        auto text = profile.get("duration_seconds");
        if (!text || text->empty()) {
            return std::nullopt;
        }
        int value = 0;
        const auto* end = text->data() + text->size();
        const auto [ptr, ec] = std::from_chars(text->data(), end, value);
        if (ec != std::errc() || ptr != end || value <= 0) {
            throw CredentialsError(context(profile) + ": duration_seconds must be a whole " +
                                   "number of seconds, got '" + *text + "'");
        }
        return value;
    }

    std::string session_name(const Profile& profile) const {
        auto name = profile.get("role_session_name");
        if (name && !name->empty()) {
            return *name;
        }
        return sts_session_name(default_session_user(env_));
    }

    AwsCredentials assume_role(const Profile& profile) {
        const std::string role_arn = *profile.get("role_arn");
        const auto source_profile = profile.get("source_profile");
        const auto credential_source = profile.get("credential_source");
        if (source_profile && credential_source) {
            throw CredentialsError(context(profile) +
                                   " sets both source_profile and credential_source; keep one");
        }
        if (!source_profile && !credential_source) {
            throw CredentialsError(context(profile) +
                                   " has role_arn but neither source_profile nor "
                                   "credential_source to get the credentials that assume it");
        }

        AwsCredentials source = credential_source
                                    ? from_credential_source(profile, *credential_source)
                                    : from_source_profile(profile, *source_profile);

        AssumeRoleRequest request;
        request.role_arn = role_arn;
        request.session_name = session_name(profile);
        request.external_id = profile.get("external_id");
        request.duration_seconds = duration_seconds(profile);
        spdlog::debug("credentials: {} assumes {} (session {})", context(profile), role_arn,
                      request.session_name);
        AwsCredentials credentials;
        try {
            credentials = sts_.assume_role(source, request);
        } catch (const std::runtime_error& e) {
            throw CredentialsError(context(profile) + ": could not assume role " + role_arn + ": " +
                                   e.what());
        }
        credentials.source = context(profile) + ": assumed " + role_arn;
        return credentials;
    }

    AwsCredentials from_source_profile(const Profile& profile, const std::string& source_name) {
        if (std::find(visited_.begin(), visited_.end(), source_name) != visited_.end()) {
            // A profile may name itself to take its own static keys (botocore allows it so that
            // the keys and the role can live in one profile).
            if (source_name == profile.name && has_static_keys(profile)) {
                return static_keys_of(profile);
            }
            std::string chain = util::join(visited_, " -> ") + " -> " + source_name;
            throw CredentialsError("source_profile loop in " + config_.files_for_message() + ": " +
                                   chain);
        }
        visited_.push_back(source_name);
        const Profile* source = config_.find(source_name);
        if (source == nullptr) {
            throw CredentialsError("source_profile " + in_quotes(source_name) + " of " +
                                   context(profile) + " not found in " +
                                   config_.files_for_message());
        }
        if (has_static_keys(*source) || !has_role(*source)) {
            if (auto credentials = without_role(*source)) {
                return std::move(*credentials);
            }
            throw CredentialsError("source_profile " + in_quotes(source_name) + " of " +
                                   context(profile) + " has no credentials");
        }
        return assume_role(*source);
    }

    AwsCredentials static_keys_of(const Profile& profile) const {
        if (has_static_keys(profile.credentials_values)) {
            return static_keys(profile, profile.credentials_values,
                               config_.files().credentials.string());
        }
        return static_keys(profile, profile.config_values, config_.files().config.string());
    }

    AwsCredentials from_credential_source(const Profile& profile, const std::string& name) {
        const std::string canonical = util::to_lower(name);
        CredentialsProvider* provider = nullptr;
        bool known = true;
        if (canonical == "environment") {
            provider = sources_.environment.get();
        } else if (canonical == "ec2instancemetadata") {
            provider = sources_.ec2_instance_metadata.get();
        } else if (canonical == "ecscontainer") {
            provider = sources_.ecs_container.get();
        } else {
            known = false;
        }
        if (!known || provider == nullptr) {
            throw CredentialsError(context(profile) + ": credential_source " + in_quotes(name) +
                                   " is not supported (use Environment, Ec2InstanceMetadata or "
                                   "EcsContainer)");
        }
        auto result = provider->resolve();
        if (!result.credentials) {
            throw CredentialsError(context(profile) + ": credential_source " + name +
                                   " has no credentials: " + result.not_applicable_reason);
        }
        return std::move(*result.credentials);
    }

    AwsCredentials web_identity(const Profile& profile) {
        const auto role_arn = profile.get("role_arn");
        if (!role_arn || role_arn->empty()) {
            throw CredentialsError(context(profile) +
                                   " has web_identity_token_file but no role_arn");
        }
        WebIdentityRequest request;
        request.role_arn = *role_arn;
        request.session_name = session_name(profile);
        request.token = detail::read_token_file(*profile.get("web_identity_token_file"),
                                                context(profile) + ": web_identity_token_file");
        AwsCredentials credentials;
        try {
            credentials = sts_.assume_role_with_web_identity(request);
        } catch (const std::runtime_error& e) {
            throw CredentialsError(context(profile) + ": AssumeRoleWithWebIdentity for " +
                                   *role_arn + " failed: " + e.what());
        }
        credentials.source = context(profile) + ": web identity " + *role_arn;
        return credentials;
    }

    AwsCredentials credential_process(const Profile& profile, const std::string& command_line) {
        const std::string what = context(profile) + ": credential_process";
        process::Command command;
        try {
            command.argv = split_command_line(command_line);
        } catch (const std::invalid_argument& e) {
            throw CredentialsError(what + " cannot be split into arguments: " + e.what());
        }
        if (command.argv.empty() || command.argv.front().empty()) {
            throw CredentialsError(what + " is empty");
        }
        command.timeout = k_credential_process_timeout;
        // Only the program is named in messages: arguments may carry secrets.
        const std::string program = command.argv.front();
        spdlog::debug("credentials: {} runs {}", context(profile), program);

        process::Result result;
        try {
            result = processes_.run(command);
        } catch (const process::SpawnError& e) {
            throw CredentialsError(what + " could not start " + program + ": " + e.what());
        }
        if (!result.ok()) {
            std::string message = what + " (" + program + ") ";
            if (result.timed_out) {
                message += "did not finish within " +
                           std::to_string(k_credential_process_timeout.count() / 1000) + " s";
            } else if (result.signal != 0) {
                message += "was killed by signal " + std::to_string(result.signal);
            } else {
                message += "exited with code " + std::to_string(result.exit_code);
            }
            if (auto tail = detail::stderr_tail(result.err); !tail.empty()) {
                message += ": " + tail;
            }
            throw CredentialsError(message);
        }

        // The output holds the secret: errors describe it, never quote it.
        const auto document = nlohmann::json::parse(result.out, nullptr, false);
        if (document.is_discarded() || !document.is_object()) {
            throw CredentialsError(what + " (" + program +
                                   ") did not print a JSON object on stdout");
        }
        const auto version = document.find("Version");
        if (version == document.end()) {
            throw CredentialsError(what + " (" + program + ") printed no Version (expected 1)");
        }
        if (!version->is_number_integer() || version->get<long long>() != 1) {
            throw CredentialsError(what + " (" + program + ") printed Version " + version->dump() +
                                   ", expected 1");
        }
        auto credentials = detail::credentials_from_json(
            document, what + " (" + program + ")",
            {"SessionToken", detail::Presence::optional, detail::Presence::optional});
        credentials.source = what;
        return credentials;
    }

    const SharedConfig& config_;
    const util::Environment& env_;
    process::ProcessRunner& processes_;
    StsApi& sts_;
    const CredentialSources& sources_;
    std::vector<std::string> visited_;
};

}  // namespace

SharedProfileProvider::SharedProfileProvider(const util::Environment& env,
                                             process::ProcessRunner& processes, StsApi& sts,
                                             ProfileSelection selection, CredentialSources sources)
    : env_(env),
      processes_(processes),
      sts_(sts),
      selection_(std::move(selection)),
      sources_(std::move(sources)) {}

ProviderResult SharedProfileProvider::resolve() {
    // Read on every resolve, so a refresh sees rotated keys in the files.
    const SharedConfig config = SharedConfig::load(env_);
    ProfileResolver resolver(config, env_, processes_, sts_, sources_);
    return resolver.resolve(selection_);
}

}  // namespace assetctl::aws
