#include "docker/cdk_docker_creds.hpp"

#include <algorithm>
#include <system_error>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "registry/reference.hpp"
#include "util/environment.hpp"
#include "util/files.hpp"
#include "util/json_node.hpp"
#include "util/strings.hpp"

namespace assetctl::docker {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr std::string_view k_docker_hub_key = "https://index.docker.io/v1/";
constexpr const char* k_hint =
    "fix the file (CDK Pipelines writes it from `dockerCredentials`) or point "
    "CDK_DOCKER_CREDS_FILE at another one";

std::string message_of(const fs::path& file, const std::string& json_path,
                       const std::string& detail) {
    return file.string() + ": " + (json_path.empty() ? "" : json_path + ": ") + detail;
}

util::JsonNode::Context context_for(const fs::path& file) {
    util::JsonNode::Context context;
    context.raise = [file](const util::JsonFailure& failure) {
        throw CdkDockerCredsError(file, failure.path, failure.detail);
    };
    return context;
}

Json parse_document(std::string_view text, const fs::path& file) {
    try {
        return Json::parse(text.begin(), text.end());
    } catch (const Json::parse_error& e) {
        throw CdkDockerCredsError(file, "",
                                  "not valid JSON (at byte " + std::to_string(e.byte) + ")");
    } catch (const Json::exception&) {
        throw CdkDockerCredsError(file, "", "not valid JSON (a number out of range)");
    }
}

DomainCredential parse_domain(const std::string& domain, const util::JsonNode& node) {
    node.expect_object({"secretsManagerSecretId", "secretsUsernameField", "secretsPasswordField",
                        "ecrRepository", "assumeRoleArn"});
    DomainCredential credential;
    credential.domain = domain;
    if (auto id = node.optional("secretsManagerSecretId")) {
        credential.secret_id = id->as_non_empty_string();
    }
    if (auto field = node.optional("secretsUsernameField")) {
        credential.username_field = field->as_non_empty_string();
    }
    if (auto field = node.optional("secretsPasswordField")) {
        credential.password_field = field->as_non_empty_string();
    }
    if (auto ecr = node.optional("ecrRepository")) {
        credential.ecr_repository = ecr->as_bool();
    }
    if (auto role = node.optional("assumeRoleArn")) {
        credential.assume_role_arn = role->as_non_empty_string();
    }
    if (!credential.secret_id && !credential.ecr_repository) {
        node.fail("neither secretsManagerSecretId nor \"ecrRepository\": true",
                  "name the Secrets Manager secret that holds the registry's login");
    }
    return credential;
}

std::string lower_host(std::string_view key) {
    return util::to_lower(registry::registry_host_of(key));
}

std::string without_port(const std::string& host) {
    const auto colon = host.rfind(':');
    return colon == std::string::npos || host.find(']') != std::string::npos
               ? host
               : host.substr(0, colon);
}

bool is_docker_hub(const std::string& host) {
    return host == "index.docker.io" || host == "docker.io" || host == "registry-1.docker.io";
}

}  // namespace

CdkDockerCredsError::CdkDockerCredsError(const fs::path& file, const std::string& json_path,
                                         const std::string& detail)
    : util::Fatal(util::ExitCode::input, message_of(file, json_path, detail), k_hint) {}

fs::path cdk_docker_creds_path(const util::Environment& env) {
    if (auto file = env.get_non_empty("CDK_DOCKER_CREDS_FILE")) {
        return *file;
    }
    const fs::path home = util::home_directory(env);
    return home.empty() ? fs::path() : home / ".cdk" / "cdk-docker-creds.json";
}

CdkDockerCreds parse_cdk_docker_creds(std::string_view text, const fs::path& file) {
    const Json document = parse_document(text, file);
    const auto context = context_for(file);
    const util::JsonNode root(document, "", context);
    root.expect_object({"version", "domainCredentials"});
    CdkDockerCreds creds;
    creds.file = file;
    if (auto version = root.optional("version")) {
        creds.version = version->as_string();
    }
    for (const auto& [domain, node] : root.required("domainCredentials").members()) {
        if (util::trim(domain).empty()) {
            node.fail("an empty domain");
        }
        creds.domains.push_back(parse_domain(domain, node));
    }
    return creds;
}

std::optional<CdkDockerCreds> load_cdk_docker_creds(const util::Environment& env) {
    const fs::path file = cdk_docker_creds_path(env);
    std::error_code ec;
    if (file.empty() || !fs::exists(file, ec)) {
        if (env.get_non_empty("CDK_DOCKER_CREDS_FILE")) {
            spdlog::warn(
                "CDK_DOCKER_CREDS_FILE names {}, which does not exist; builds get no "
                "registry credentials from it",
                file.string());
        }
        return std::nullopt;
    }
    std::string text;
    try {
        text = util::read_file(file);
    } catch (const util::FileError& e) {
        throw CdkDockerCredsError(file, "", std::string("cannot be read: ") + e.what());
    }
    return parse_cdk_docker_creds(text, file);
}

const DomainCredential* find_domain(const CdkDockerCreds& creds, std::string_view server_url) {
    const std::string wanted = lower_host(util::trim(server_url));
    if (wanted.empty()) {
        return nullptr;
    }
    for (const auto& credential : creds.domains) {
        if (lower_host(credential.domain) == wanted) {
            return &credential;
        }
    }
    const std::string bare = without_port(wanted);
    for (const auto& credential : creds.domains) {
        if (lower_host(credential.domain) == bare) {
            return &credential;
        }
    }
    return nullptr;
}

std::vector<std::string> cred_helper_keys(const CdkDockerCreds& creds) {
    std::vector<std::string> keys;
    const auto add = [&keys](const std::string& key) {
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
            keys.push_back(key);
        }
    };
    for (const auto& credential : creds.domains) {
        add(credential.domain);
        const std::string host = lower_host(credential.domain);
        if (is_docker_hub(host)) {
            add(std::string(k_docker_hub_key));
        } else if (!host.empty()) {
            add(host);  // BuildKit's session asks the CLI by `host[:port]` only
        }
    }
    return keys;
}

}  // namespace assetctl::docker
