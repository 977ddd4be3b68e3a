#include "cli/doctor_command.hpp"

#include <set>
#include <tuple>

#include "aws/aws_error.hpp"
#include "http/http_client.hpp"
#include "publish/destination.hpp"
#include "registry/reference.hpp"

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

// The account's repository and an ECR login token for it; false when either failed.
bool check_repository_and_login(DoctorInputs& inputs, const aws::AwsCredentials& credentials,
                                const aws::CallerIdentity& identity,
                                const publish::ResolvedDestination& resolved, ordered_json& out) {
    const auto& region = resolved.region;
    const auto& repository = resolved.repository;
    bool ok = true;
    try {
        if (auto found = inputs.aws.ecr.describe_repository(credentials, region, repository)) {
            out["repositoryCheck"] = {{"ok", true}, {"exists", true}, {"uri", found->uri}};
        } else {
            ok = false;
            out["repositoryCheck"] = {
                {"ok", false},
                {"exists", false},
                {"error", publish::not_bootstrapped_message(repository, identity.account, region)}};
        }
    } catch (const std::exception& e) {
        ok = false;
        out["repositoryCheck"] = failed(describe(e));
    }
    try {
        const auto login = inputs.aws.ecr.get_authorization_token(credentials, region);
        out["login"] = {{"ok", true},
                        {"registry", registry::registry_host_of(login.proxy_endpoint)}};
    } catch (const std::exception& e) {
        ok = false;
        out["login"] = failed(describe(e));
    }
    return ok;
}

// The credentials for the destination: the base ones, or those of the role it names (recorded
// as the assumeRole check); nullopt when that role cannot be assumed.
std::optional<aws::AwsCredentials> destination_credentials(
    DoctorInputs& inputs, const aws::AwsCredentials& base,
    const publish::ResolvedDestination& resolved, ordered_json& out) {
    if (!resolved.role) {
        out["role"] = nullptr;
        return base;
    }
    const auto& target = *resolved.role;
    out["role"] = target.role_arn;
    out["externalId"] = target.external_id ? ordered_json(*target.external_id) : nullptr;
    try {
        auto credentials = inputs.aws.roles.credentials_for(base, target);
        out["assumeRole"] = {{"ok", true}};
        return credentials;
    } catch (const std::exception& e) {
        out["assumeRole"] = failed(describe(e));
        return std::nullopt;
    }
}

// One destination's checks; its "ok" says whether all passed.
ordered_json check_destination(DoctorInputs& inputs, const aws::AwsCredentials& base,
                               const aws::CallerIdentity& identity,
                               const manifest::Selected<manifest::DockerImageAsset>& selected,
                               const manifest::DockerImageDestination& destination) {
    ordered_json out;
    out["asset"] = selected.asset.id;
    out["destination"] = destination.id;
    out["stack"] = selected.origin.stack;
    publish::ResolvedDestination resolved;
    try {
        resolved = publish::resolve_destination(destination, inputs.aws.default_region,
                                                [&identity] { return identity.account; });
    } catch (const publish::NoRegionError& e) {
        out["region"] = nullptr;
        out["ok"] = false;
        out["error"] = e.what();
        return out;
    }
    out["region"] = resolved.region;
    out["repository"] = resolved.repository;
    const auto credentials = destination_credentials(inputs, base, resolved, out);
    out["ok"] = credentials.has_value() &&
                check_repository_and_login(inputs, *credentials, identity, resolved, out);
    return out;
}

// Each distinct destination of the selected images (same account, region, role and repository
// are checked once); report.ok turns false when one fails.
ordered_json check_destinations(DoctorInputs& inputs, const aws::AwsCredentials& base,
                                const aws::CallerIdentity& identity, DoctorReport& report) {
    auto destinations = ordered_json::array();
    std::set<std::tuple<std::string, std::string, std::string, std::string>> seen;
    for (const auto& selected : inputs.selection->docker_images) {
        for (const auto& destination : selected.asset.destinations) {
            const auto key = std::make_tuple(
                destination.region.value_or(""), destination.assume_role_arn.value_or(""),
                destination.assume_role_external_id.value_or(""), destination.repository_name);
            if (!seen.insert(key).second) {
                continue;
            }
            auto checked = check_destination(inputs, base, identity, selected, destination);
            report.ok = report.ok && checked.at("ok").get<bool>();
            destinations.push_back(std::move(checked));
        }
    }
    return destinations;
}

void check_engine(const DoctorInputs& inputs, DoctorReport& report) {
    report.json["engine"] = {{"ok", inputs.engine.running},
                             {"executable", inputs.engine.executable},
                             {"version", inputs.engine.version}};
    if (!inputs.engine.running) {
        report.json["engine"]["error"] = inputs.engine.problem;
        report.ok = false;
    }
}

void check_region(const DoctorInputs& inputs, DoctorReport& report) {
    auto& region = report.json["region"];
    region = {{"ok", inputs.aws.default_region.has_value()},
              {"region", inputs.aws.default_region ? ordered_json(*inputs.aws.default_region)
                                                   : ordered_json(nullptr)},
              {"source", inputs.region_source}};
    if (!inputs.aws.default_region) {
        // Only a problem when some destination lacks a region; that check reports it.
        region["ok"] = true;
        region["note"] = "no default region; destinations must name their own";
    }
}

std::optional<aws::AwsCredentials> check_credentials(DoctorInputs& inputs, DoctorReport& report) {
    try {
        auto base = inputs.aws.credentials.resolve().credentials;
        if (!base) {
            throw aws::CredentialsError("no AWS credentials found");
        }
        report.json["credentials"] = {{"ok", true}, {"source", base->source}};
        return base;
    } catch (const std::exception& e) {
        report.json["credentials"] = failed(describe(e));
        report.ok = false;
        return std::nullopt;
    }
}

std::optional<aws::CallerIdentity> check_identity(DoctorInputs& inputs,
                                                  const aws::AwsCredentials& base,
                                                  DoctorReport& report) {
    try {
        auto identity = inputs.aws.sts.get_caller_identity(base, inputs.aws.default_region);
        report.json["identity"] = {
            {"ok", true}, {"account", identity.account}, {"arn", identity.arn}};
        return identity;
    } catch (const std::exception& e) {
        report.json["identity"] = failed(describe(e));
        report.ok = false;
        return std::nullopt;
    }
}

// `ok    what: detail` or `FAIL  what: detail`.
void print_check(std::ostream& out, bool ok, const std::string& what, const std::string& detail) {
    out << (ok ? "ok    " : "FAIL  ") << what << ": " << detail << "\n";
}

// The checks that do not depend on a destination: engine, region, credentials, identity.
void print_general_checks(const ordered_json& json, std::ostream& out) {
    const auto& engine = json.at("engine");
    print_check(out, engine.at("ok").get<bool>(), "container engine",
                engine.at("ok").get<bool>() ? engine.at("executable").get<std::string>() + " " +
                                                  engine.at("version").get<std::string>()
                                            : engine.at("error").get<std::string>());
    const auto& region = json.at("region");
    print_check(out, true, "default region",
                region.at("region").is_null()
                    ? std::string("none (destinations must name their own)")
                    : region.at("region").get<std::string>() + " (from " +
                          region.at("source").get<std::string>() + ")");
    const auto& credentials = json.at("credentials");
    print_check(out, credentials.at("ok").get<bool>(), "credentials",
                credentials.at("ok").get<bool>() ? credentials.at("source").get<std::string>()
                                                 : credentials.at("error").get<std::string>());
    if (json.contains("identity")) {
        const auto& identity = json.at("identity");
        print_check(out, identity.at("ok").get<bool>(), "identity",
                    identity.at("ok").get<bool>()
                        ? identity.at("arn").get<std::string>() + " (account " +
                              identity.at("account").get<std::string>() + ")"
                        : identity.at("error").get<std::string>());
    }
}

// `destination[key][field]` as a string, empty when either is missing.
// `ok   build options of A: docker 20.10.24 (...): dockerBuildSsh yes, cacheTo no`.
void print_build_options(const std::string& asset, const ordered_json& build, std::ostream& out) {
    std::string detail = build.at("engine").get<std::string>() + ":";
    for (const auto& option : build.at("options")) {
        detail += " " + option.at("option").get<std::string>() +
                  (option.at("supported").get<bool>()
                       ? " yes,"
                       : " NO (" + option.at("flag").get<std::string>() + "),");
    }
    detail.pop_back();
    if (build.contains("hint")) {
        detail += "; " + build.at("hint").get<std::string>();
    }
    print_check(out, build.at("ok").get<bool>(), "build options of " + asset, detail);
}

std::string field_of(const ordered_json& destination, const char* key, const char* field) {
    return destination.contains(key) && destination.at(key).contains(field)
               ? destination.at(key).at(field).get<std::string>()
               : std::string();
}

void print_destination(const ordered_json& destination, std::ostream& out) {
    out << "destination " << destination.at("asset").get<std::string>().substr(0, 12) << ":"
        << destination.at("destination").get<std::string>() << " ("
        << destination.at("stack").get<std::string>() << ")\n";
    if (destination.contains("error")) {
        print_check(out, false, "  region", destination.at("error").get<std::string>());
        return;
    }
    const auto check = [&](const char* key, const std::string& label,
                           const std::string& ok_detail) {
        if (destination.contains(key)) {
            const auto& result = destination.at(key);
            const bool ok = result.at("ok").get<bool>();
            print_check(out, ok, "  " + label,
                        ok ? ok_detail : result.at("error").get<std::string>());
        }
    };
    if (!destination.at("role").is_null()) {
        std::string role = destination.at("role").get<std::string>();
        if (!destination.at("externalId").is_null()) {
            role += " (external id " + destination.at("externalId").get<std::string>() + ")";
        }
        check("assumeRole", "assume role", role);
    }
    check("repositoryCheck", "repository", field_of(destination, "repositoryCheck", "uri"));
    check("login", "registry login", field_of(destination, "login", "registry"));
}

// The engine-dependent build options the asset uses, each with whether the engine honours it;
// `ok` is false (with what to do) when one is not.
void add_build_options(const docker::EngineIdentity& engine,
                       const manifest::DockerImageSource& source, ordered_json& asset) {
    const auto options =
        docker::engine_dependent_options(source, docker::build_features(engine.backend));
    if (options.empty()) {
        return;
    }
    bool ok = true;
    auto list = ordered_json::array();
    for (const auto& option : options) {
        ok = ok && option.supported;
        list.push_back(
            {{"option", option.option}, {"flag", option.flag}, {"supported", option.supported}});
    }
    asset["buildOptions"] = {{"ok", ok}, {"engine", docker::describe(engine)}, {"options", list}};
    if (!ok) {
        asset["buildOptions"]["hint"] = docker::unsupported_hint(engine);
    }
}

}  // namespace

// How each selected image would be pushed, and why (the push mode options and its source).
ordered_json push_modes(const DoctorInputs& inputs) {
    auto assets = ordered_json::array();
    if (!inputs.selection) {
        return assets;
    }
    const auto plan = publish::make_plan(
        *inputs.selection,
        {.consult_aws = false,
         .native_archives = inputs.tarball_mode == publish::TarballMode::native});
    for (const auto& image : plan.images) {
        const bool archive = image.kind == publish::SourceKind::archive;
        const bool loaded = image.kind == publish::SourceKind::engine_load;
        const bool native = archive || (!loaded && inputs.push_mode == publish::PushMode::native);
        std::string why;
        if (archive) {
            why =
                "an image tarball or layout, read and pushed without the engine "
                "(--tarball-mode native)";
        } else if (loaded) {
            why =
                "an image tarball loaded into the engine and pushed with it "
                "(--tarball-mode docker)";
        } else if (native) {
            why =
                "built by the engine, exported once with `save` and pushed by assetctl: no "
                "docker login, layers compressed once for every destination (--push-mode "
                "native)";
        } else {
            why =
                "built by the engine and pushed with docker login, tag and push "
                "(--push-mode docker)";
        }
        assets.push_back({{"asset", image.selected->asset.id},
                          {"source", publish::to_string(image.kind)},
                          {"pushMode", native ? "native" : "docker"},
                          {"why", why}});
        if (image.kind == publish::SourceKind::docker_build) {
            add_build_options(inputs.engine_identity, image.selected->asset.source, assets.back());
        }
    }
    return assets;
}

DoctorReport run_doctor(DoctorInputs& inputs) {
    DoctorReport report;
    check_engine(inputs, report);
    check_region(inputs, report);
    const auto base = check_credentials(inputs, report);
    std::optional<aws::CallerIdentity> identity;
    if (base) {
        identity = check_identity(inputs, *base, report);
    }
    report.json["destinations"] = inputs.selection && base && identity
                                      ? check_destinations(inputs, *base, *identity, report)
                                      : ordered_json::array();
    report.json["assets"] = push_modes(inputs);
    for (const auto& asset : report.json["assets"]) {
        report.ok = report.ok && (!asset.contains("buildOptions") ||
                                  asset.at("buildOptions").at("ok").get<bool>());
    }
    report.json["ok"] = report.ok;
    return report;
}

void print_doctor(const DoctorReport& report, std::ostream& out) {
    print_general_checks(report.json, out);
    for (const auto& destination : report.json.at("destinations")) {
        print_destination(destination, out);
    }
    for (const auto& asset : report.json.at("assets")) {
        print_check(
            out, true, "push " + asset.at("asset").get<std::string>(),
            asset.at("pushMode").get<std::string>() + ": " + asset.at("why").get<std::string>());
        if (asset.contains("buildOptions")) {
            print_build_options(asset.at("asset").get<std::string>(), asset.at("buildOptions"),
                                out);
        }
    }
    out << (report.ok ? "all checks passed\n" : "some checks failed\n");
}

}  // namespace assetctl::cli
