#include "cli/doctor_command.hpp"

#include <set>
#include <tuple>

#include "aws/aws_error.hpp"
#include "http/http_client.hpp"
#include "publish/destination.hpp"

namespace assetctl::cli {
namespace {

using nlohmann::ordered_json;

ordered_json failed(const std::string& error) {
    return {{"ok", false}, {"error", error}};
}

// The failure text for anything a check can throw; AWS errors keep their code.
std::string describe(const std::exception& e) {
    return e.what();
}

std::string host_of(const std::string& url) {
    std::string host = url;
    if (auto scheme = host.find("://"); scheme != std::string::npos) {
        host = host.substr(scheme + 3);
    }
    return host.substr(0, host.find('/'));
}

ordered_json check_destination(DoctorInputs& inputs, const aws::AwsCredentials& base,
                               const aws::CallerIdentity& identity,
                               const manifest::Selected<manifest::DockerImageAsset>& selected,
                               const manifest::DockerImageDestination& destination, bool& ok) {
    ordered_json out;
    out["asset"] = selected.asset.id;
    out["destination"] = destination.id;
    out["stack"] = selected.origin.stack;
    publish::ResolvedDestination resolved;
    try {
        resolved = publish::resolve_destination(destination, inputs.aws.default_region,
                                                [&identity] { return identity.account; });
    } catch (const publish::NoRegionError& e) {
        ok = false;
        out["region"] = nullptr;
        out["ok"] = false;
        out["error"] = e.what();
        return out;
    }
    const auto& region = resolved.region;
    const auto& repository = resolved.repository;
    out["region"] = region;
    out["repository"] = repository;

    aws::AwsCredentials credentials = base;
    if (resolved.role) {
        const auto& target = *resolved.role;
        out["role"] = target.role_arn;
        out["externalId"] = target.external_id ? ordered_json(*target.external_id) : nullptr;
        try {
            credentials = inputs.aws.roles.credentials_for(base, target);
            out["assumeRole"] = {{"ok", true}};
        } catch (const std::exception& e) {
            ok = false;
            out["assumeRole"] = failed(describe(e));
            out["ok"] = false;
            return out;
        }
    } else {
        out["role"] = nullptr;
    }

    bool destination_ok = true;
    try {
        if (auto found = inputs.aws.ecr.describe_repository(credentials, region, repository)) {
            out["repositoryCheck"] = {{"ok", true}, {"exists", true}, {"uri", found->uri}};
        } else {
            destination_ok = false;
            out["repositoryCheck"] = {
                {"ok", false},
                {"exists", false},
                {"error", publish::not_bootstrapped_message(repository, identity.account, region)}};
        }
    } catch (const std::exception& e) {
        destination_ok = false;
        out["repositoryCheck"] = failed(describe(e));
    }
    try {
        const auto login = inputs.aws.ecr.get_authorization_token(credentials, region);
        out["login"] = {{"ok", true}, {"registry", host_of(login.proxy_endpoint)}};
    } catch (const std::exception& e) {
        destination_ok = false;
        out["login"] = failed(describe(e));
    }
    out["ok"] = destination_ok;
    ok = ok && destination_ok;
    return out;
}

}  // namespace

DoctorReport run_doctor(DoctorInputs& inputs) {
    DoctorReport report;
    auto& json = report.json;

    json["engine"] = {{"ok", inputs.engine.running},
                      {"executable", inputs.engine.executable},
                      {"version", inputs.engine.version}};
    if (!inputs.engine.running) {
        json["engine"]["error"] = inputs.engine.problem;
        report.ok = false;
    }

    json["region"] = {
        {"ok", inputs.aws.default_region.has_value()},
        {"region", inputs.aws.default_region ? ordered_json(*inputs.aws.default_region)
                                             : ordered_json(nullptr)},
        {"source", inputs.region_source}};
    if (!inputs.aws.default_region) {
        // Only a problem when some destination lacks a region; that check reports it.
        json["region"]["ok"] = true;
        json["region"]["note"] = "no default region; destinations must name their own";
    }

    std::optional<aws::AwsCredentials> base;
    try {
        base = inputs.aws.credentials.resolve().credentials;
        if (!base) {
            throw aws::CredentialsError("no AWS credentials found");
        }
        json["credentials"] = {{"ok", true}, {"source", base->source}};
    } catch (const std::exception& e) {
        json["credentials"] = failed(describe(e));
        report.ok = false;
    }

    std::optional<aws::CallerIdentity> identity;
    if (base) {
        try {
            identity = inputs.aws.sts.get_caller_identity(*base, inputs.aws.default_region);
            json["identity"] = {
                {"ok", true}, {"account", identity->account}, {"arn", identity->arn}};
        } catch (const std::exception& e) {
            json["identity"] = failed(describe(e));
            report.ok = false;
        }
    }

    auto destinations = ordered_json::array();
    if (inputs.selection && base && identity) {
        std::set<std::tuple<std::string, std::string, std::string, std::string>> seen;
        for (const auto& selected : inputs.selection->docker_images) {
            for (const auto& destination : selected.asset.destinations) {
                const auto key = std::make_tuple(
                    destination.region.value_or(""), destination.assume_role_arn.value_or(""),
                    destination.assume_role_external_id.value_or(""), destination.repository_name);
                if (!seen.insert(key).second) {
                    continue;  // same account, region, role and repository: checked already
                }
                destinations.push_back(
                    check_destination(inputs, *base, *identity, selected, destination, report.ok));
            }
        }
    }
    json["destinations"] = std::move(destinations);
    json["ok"] = report.ok;
    return report;
}

void print_doctor(const DoctorReport& report, std::ostream& out) {
    const auto& json = report.json;
    const auto line = [&out](bool ok, const std::string& what, const std::string& detail) {
        out << (ok ? "ok    " : "FAIL  ") << what << ": " << detail << "\n";
    };
    const auto& engine = json.at("engine");
    line(engine.at("ok").get<bool>(), "container engine",
         engine.at("ok").get<bool>() ? engine.at("executable").get<std::string>() + " " +
                                           engine.at("version").get<std::string>()
                                     : engine.at("error").get<std::string>());
    const auto& region = json.at("region");
    line(true, "default region",
         region.at("region").is_null() ? std::string("none (destinations must name their own)")
                                       : region.at("region").get<std::string>() + " (from " +
                                             region.at("source").get<std::string>() + ")");
    const auto& credentials = json.at("credentials");
    line(credentials.at("ok").get<bool>(), "credentials",
         credentials.at("ok").get<bool>() ? credentials.at("source").get<std::string>()
                                          : credentials.at("error").get<std::string>());
    if (json.contains("identity")) {
        const auto& identity = json.at("identity");
        line(identity.at("ok").get<bool>(), "identity",
             identity.at("ok").get<bool>() ? identity.at("arn").get<std::string>() + " (account " +
                                                 identity.at("account").get<std::string>() + ")"
                                           : identity.at("error").get<std::string>());
    }
    for (const auto& destination : json.at("destinations")) {
        out << "destination " << destination.at("asset").get<std::string>().substr(0, 12) << ":"
            << destination.at("destination").get<std::string>() << " ("
            << destination.at("stack").get<std::string>() << ")\n";
        if (destination.contains("error")) {
            line(false, "  region", destination.at("error").get<std::string>());
            continue;
        }
        const auto check = [&](const char* key, const std::string& label,
                               const std::string& ok_detail) {
            if (destination.contains(key)) {
                const auto& result = destination.at(key);
                const bool ok = result.at("ok").get<bool>();
                line(ok, "  " + label, ok ? ok_detail : result.at("error").get<std::string>());
            }
        };
        if (!destination.at("role").is_null()) {
            std::string role = destination.at("role").get<std::string>();
            if (!destination.at("externalId").is_null()) {
                role += " (external id " + destination.at("externalId").get<std::string>() + ")";
            }
            check("assumeRole", "assume role", role);
        }
        const std::string uri = destination.contains("repositoryCheck") &&
                                        destination.at("repositoryCheck").contains("uri")
                                    ? destination.at("repositoryCheck").at("uri").get<std::string>()
                                    : "";
        check("repositoryCheck", "repository", uri);
        const std::string registry =
            destination.contains("login") && destination.at("login").contains("registry")
                ? destination.at("login").at("registry").get<std::string>()
                : "";
        check("login", "registry login", registry);
    }
    out << (report.ok ? "all checks passed\n" : "some checks failed\n");
}

}  // namespace assetctl::cli
