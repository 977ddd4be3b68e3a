#include "cli/credential_helper_command.hpp"

#include <filesystem>
#include <istream>
#include <iterator>
#include <ostream>
#include <system_error>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "aws/aws_error.hpp"
#include "aws/secrets_manager_client.hpp"
#include "cli/aws_setup.hpp"
#include "crypto/crypto.hpp"
#include "registry/reference.hpp"
#include "util/error.hpp"
#include "util/logging.hpp"
#include "util/strings.hpp"
#include "util/version.hpp"

namespace assetctl::cli {
namespace {

namespace fs = std::filesystem;

// docker-credential-helpers' ErrCredentialsNotFound text: the docker CLI reads it on the
// helper's stdout as "no login for this server" and goes on anonymously.
constexpr std::string_view k_not_found = "credentials not found in native keychain";

[[noreturn]] void fail(const std::string& message) {
    throw util::Fatal(util::ExitCode::assets_failed, message);
}

std::string required_region(const std::optional<std::string>& region, const std::string& what) {
    if (!region) {
        fail("no region for " + what + ": set AWS_REGION or the profile's region");
    }
    return *region;
}

// `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`: the region, else nullopt.
std::optional<std::string> ecr_host_region(const std::string& domain) {
    const std::string host = util::to_lower(registry::registry_host_of(domain));
    std::vector<std::string> labels;
    std::size_t start = 0;
    while (start <= host.size()) {
        const auto dot = host.find('.', start);
        labels.push_back(host.substr(start, dot == std::string::npos ? dot : dot - start));
        if (dot == std::string::npos) {
            break;
        }
        start = dot + 1;
    }
    if (labels.size() >= 5 && labels[1] == "dkr" && labels[2].rfind("ecr", 0) == 0) {
        return labels[3];
    }
    return std::nullopt;
}

aws::AwsCredentials caller_credentials(aws::CredentialsProvider& provider) {
    auto result = provider.resolve();
    if (!result.credentials) {
        fail("no AWS credentials found: " + result.not_applicable_reason);
    }
    return std::move(*result.credentials);
}

// The caller's credentials, or those of the domain's role (STS in `region`).
aws::AwsCredentials credentials_for(const docker::DomainCredential& domain,
                                    CredentialHelperAws& aws, const std::string& region) {
    auto caller = caller_credentials(aws.credentials);
    if (!domain.assume_role_arn) {
        return caller;
    }
    aws::RoleTarget target;
    target.role_arn = *domain.assume_role_arn;
    target.region = region;
    return aws.roles.credentials_for(caller, target);
}

// The secret's string field `field`: a non-empty string, else a failure naming the field.
std::string secret_field(const nlohmann::json& secret, const std::string& field,
                         const std::string& secret_id) {
    const auto it = secret.find(field);
    if (it == secret.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
        fail("secret " + secret_id + " has no non-empty string field \"" + field +
             "\" (set secretsUsernameField/secretsPasswordField in the docker credentials file)");
    }
    return it->get<std::string>();
}

DockerLogin login_from_secret(const docker::DomainCredential& domain, CredentialHelperAws& aws) {
    const std::string& id = *domain.secret_id;
    const auto region = required_region(
        aws::secret_arn_region(id) ? aws::secret_arn_region(id) : aws.default_region,
        "secret " + id);
    const auto credentials = credentials_for(domain, aws, region);
    auto value = aws.secrets.get_secret_value(credentials, region, id);
    if (!value.secret_string) {
        fail("secret " + id + " has no SecretString (a binary secret cannot hold a login)");
    }
    // Parsed without exceptions: a parse error's message would quote the secret.
    auto secret = nlohmann::json::parse(*value.secret_string, nullptr, false);
    crypto::wipe(*value.secret_string);
    if (secret.is_discarded() || !secret.is_object()) {
        fail("secret " + id + " is not a JSON object of login fields");
    }
    DockerLogin login{secret_field(secret, domain.username_field, id),
                      secret_field(secret, domain.password_field, id)};
    for (auto& item : secret.items()) {
        if (item.value().is_string()) {
            crypto::wipe(item.value().get_ref<std::string&>());
        }
    }
    return login;
}

DockerLogin login_from_ecr(const docker::DomainCredential& domain, CredentialHelperAws& aws) {
    const auto host_region = ecr_host_region(domain.domain);
    const auto region = required_region(host_region ? host_region : aws.default_region,
                                        "the ECR login of " + domain.domain);
    const auto credentials = credentials_for(domain, aws, region);
    auto authorization = aws.ecr.get_authorization_token(credentials, region);
    return {std::move(authorization.username), std::move(authorization.password)};
}

std::string read_server_url(std::istream& in) {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return util::trim(text);
}

// Writes the answer docker parses, then wipes every copy of the secret.
void write_login(DockerLogin& login, std::ostream& out) {
    nlohmann::json answer = {{"Username", login.username}, {"Secret", login.secret}};
    std::string text = answer.dump();
    out << text << std::flush;
    crypto::wipe(text);
    crypto::wipe(answer["Secret"].get_ref<std::string&>());
    crypto::wipe(login.secret);
}

int answer_get(std::istream& in, std::ostream& out, const util::Environment& env,
               const LoginFetcher& fetch) {
    const std::string server = read_server_url(in);
    const auto creds = docker::load_cdk_docker_creds(env);
    const docker::DomainCredential* domain = creds ? docker::find_domain(*creds, server) : nullptr;
    if (domain == nullptr) {
        out << k_not_found << "\n";
        return util::to_int(util::ExitCode::assets_failed);
    }
    auto login = fetch(*domain);
    write_login(login, out);
    return util::to_int(util::ExitCode::ok);
}

int answer_action(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                  const util::Environment& env, const LoginFetcher& fetch) {
    const std::string action = args.size() >= 2 ? args[1] : "";
    if (action == "get") {
        return answer_get(in, out, env, fetch);
    }
    if (action == "store" || action == "erase") {
        read_server_url(in);  // a login docker wants kept: the creds file is the store
        return util::to_int(util::ExitCode::ok);
    }
    if (action == "list") {
        out << "{}\n";
        return util::to_int(util::ExitCode::ok);
    }
    if (action == "version" || action == "--version") {
        out << docker::k_cred_helper_program << " (assetctl " << util::version() << ")\n";
        return util::to_int(util::ExitCode::ok);
    }
    fail("unknown credential action `" + action + "` (expected get, store, erase or list)");
}

[[noreturn]] void fail_fetch(const docker::DomainCredential& domain, const std::exception& e) {
    fail("cannot get the login for " + domain.domain + " (" +
         (domain.secret_id ? "secret " + *domain.secret_id : std::string("ECR")) +
         "): " + e.what());
}

}  // namespace

DockerLogin fetch_docker_login(const docker::DomainCredential& domain, CredentialHelperAws& aws) {
    for (int attempt = 1;; ++attempt) {
        try {
            return domain.secret_id ? login_from_secret(domain, aws) : login_from_ecr(domain, aws);
        } catch (const util::Fatal&) {
            throw;
        } catch (const aws::AwsError& e) {
            if (e.code() != "AccessDenied" || attempt >= k_access_denied_attempts) {
                fail_fetch(domain, e);
            }
            spdlog::warn("{}; retrying in {} s (IAM changes take a moment to propagate)", e.what(),
                         k_access_denied_pause.count());
            aws.sleeper.sleep_for(k_access_denied_pause);
        } catch (const std::exception& e) {
            fail_fetch(domain, e);
        }
    }
}

fs::path assetctl_executable(const util::Environment& env) {
    if (auto path = env.get_non_empty(k_executable_variable)) {
        return *path;
    }
    std::error_code ec;
    auto path = fs::read_symlink("/proc/self/exe", ec);
    if (ec) {
        fail("cannot find assetctl's own executable (/proc/self/exe): " + ec.message());
    }
    return path;
}

bool started_as_credential_helper(std::string_view argv0) {
    return fs::path(argv0).filename() == docker::k_cred_helper_program;
}

int answer_credential_helper(const std::vector<std::string>& args, std::istream& in,
                             std::ostream& out, std::ostream& err, const util::Environment& env,
                             const LoginFetcher& fetch) {
    try {
        return answer_action(args, in, out, env, fetch);
    } catch (const std::exception& e) {
        // Docker shows the helper's stdout in its error; stderr is for whoever runs it by hand.
        const std::string line = util::trim(e.what());
        out << line << "\n" << std::flush;
        err << docker::k_cred_helper_program << ": error: " << line << "\n";
        return util::to_int(util::ExitCode::assets_failed);
    }
}

int run_credential_helper(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                          std::ostream& err, const util::Environment& env) {
    // Only the answer may reach stdout; logs go to stderr, warnings only.
    util::configure_logging({util::Verbosity::quiet, false});
    const LoginFetcher fetch = [&env](const docker::DomainCredential& domain) {
        AwsSetup setup(env, std::nullopt);
        aws::SecretsManagerClient secrets(setup.runtime(), aws::endpoint_settings_from(env));
        CredentialHelperAws helper_aws{
            setup.credentials(), setup.roles(),          secrets,
            setup.ecr(),         setup.default_region(), setup.runtime().sleeper};
        return fetch_docker_login(domain, helper_aws);
    };
    return answer_credential_helper(args, in, out, err, env, fetch);
}

void use_cdk_docker_creds(const docker::CdkDockerCreds& creds, docker::PrivateDockerConfig& config,
                          docker::EngineClient& engine, const util::Environment& env,
                          const std::optional<std::string>& profile) {
    const auto keys = docker::cred_helper_keys(creds);
    const fs::path bin =
        config.add_credential_helper(keys, docker::k_cred_helper_name, assetctl_executable(env));
    const auto inherited = env.get_non_empty("PATH");
    engine.add_environment("PATH", bin.string() + (inherited ? ":" + *inherited : ""));
    if (profile) {
        engine.add_environment("AWS_PROFILE", *profile);
    }
    spdlog::info("base image logins for {} from {} (docker credential helper {})",
                 util::join(keys, ", "), creds.file.string(), docker::k_cred_helper_program);
}

}  // namespace assetctl::cli
