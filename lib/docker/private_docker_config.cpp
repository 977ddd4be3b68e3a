#include "docker/private_docker_config.hpp"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "registry/reference.hpp"
#include "util/environment.hpp"
#include "util/fd.hpp"
#include "util/files.hpp"
#include "util/run_folders.hpp"
#include "util/strings.hpp"

namespace assetctl::docker {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr std::string_view k_config_file = "config.json";
constexpr fs::perms k_config_mode = fs::perms::owner_read | fs::perms::owner_write;
// What the CLI reads from its config folder besides config.json.
constexpr std::array<const char*, 6> k_linked_entries = {"cli-plugins", "contexts", "buildx",
                                                         "ca.pem",      "cert.pem", "key.pem"};

// `host[:port]` of a registry key as the docker CLI stores them: `host`, `https://host`,
// `https://index.docker.io/v1/`. Lower-cased, since host names compare that way.
std::string key_host(std::string_view key) {
    return util::to_lower(registry::registry_host_of(key));
}

// A new run folder `assetctl-docker-r<run>-XXXXXX` in TMPDIR (else /tmp), exactly 0700
// (util/run_folders.hpp: a run killed before removing it leaves it to the next run).
fs::path make_private_folder() {
    try {
        return util::make_run_folder("docker");
    } catch (const util::FileError& e) {
        throw EngineError(std::string("private docker config: ") + e.what(), {});
    }
}

// Parses a docker config.json; nullopt (with the reason) when it is not a JSON object. The
// reason never quotes the file: it may hold credentials.
std::optional<Json> parse_config(const std::string& text, std::string& reason) {
    try {
        Json config = Json::parse(text);
        if (!config.is_object()) {
            reason = "not a JSON object";
            return std::nullopt;
        }
        return config;
    } catch (const Json::parse_error& e) {
        reason = "not valid JSON (at byte " + std::to_string(e.byte) + ")";
        return std::nullopt;
    } catch (const Json::exception&) {
        reason = "not valid JSON (a number out of range)";  // out_of_range.406
        return std::nullopt;
    }
}

// A config file of the user's parsed; nullopt when it is absent (`reason` empty) or unusable
// (`reason` says why).
std::optional<Json> read_user_file(const fs::path& file, std::string& reason) {
    std::error_code ec;
    if (!fs::exists(file, ec)) {
        return std::nullopt;
    }
    try {
        return parse_config(util::read_file(file), reason);
    } catch (const util::FileError& e) {
        reason = e.what();
    }
    return std::nullopt;
}

// The user's config.json, or an empty object (with a warning when it exists but is unusable).
Json read_user_config(const fs::path& user_dir) {
    if (user_dir.empty()) {
        return Json::object();
    }
    const fs::path user_file = user_dir / k_config_file;
    std::string reason;
    if (auto parsed = read_user_file(user_file, reason)) {
        return std::move(*parsed);
    }
    if (reason.empty()) {
        return Json::object();  // no config.json: nothing to keep
    }
    spdlog::warn(
        "{}: {}; assetctl's private docker configuration starts empty, without its proxies and "
        "registry logins",
        user_file.string(), reason);
    return Json::object();
}

// Each `auths` host without a `credHelpers` entry gets `helper`. Docker Hub keeps its full key
// (`https://index.docker.io/v1/`), which is how the CLI looks it up; other hosts go by
// `host[:port]`.
void add_store_as_helpers(Json& config, const std::string& helper) {
    const auto found = config.find("auths");
    if (found == config.end() || !found->is_object() || found->empty()) {
        return;
    }
    // A copy: adding `credHelpers` below may move every member of `config` (ordered_json keeps
    // them in a vector), which would leave an iterator into `auths` dangling.
    const Json auths = *found;
    Json& helpers = config["credHelpers"];
    if (helpers.is_null()) {
        helpers = Json::object();
    }
    if (!helpers.is_object()) {
        return;
    }
    for (const auto& item : auths.items()) {
        const std::string host = key_host(item.key());
        const std::string key = host == "index.docker.io" ? item.key() : host;
        if (!host.empty() && !helpers.contains(key)) {
            helpers[key] = helper;
        }
    }
}

// Without `credsStore` the engine would look for the other registries' logins in the file and
// find only the empty `auths` entries that stand for keychain logins, so those hosts get the
// store as their credential helper.
void drop_creds_store(Json& config) {
    const auto store = config.find("credsStore");
    if (store == config.end()) {
        return;
    }
    if (store->is_string() && !store->get<std::string>().empty()) {
        add_store_as_helpers(config, store->get<std::string>());
    }
    config.erase("credsStore");
}

// Replaces `file` atomically with `config`, 0600 (util::write_file_atomically never writes
// through an existing file or a planted symlink).
void write_config(const fs::path& file, const Json& config) {
    try {
        util::write_file_atomically(file, config.dump(2) + "\n", k_config_mode);
    } catch (const util::FileError& e) {
        throw EngineError(e.what(), {});
    }
}

// Symlinks the user's k_linked_entries that exist into `folder`; a failure is only logged.
void link_user_entries(const fs::path& user_dir, const fs::path& folder) {
    if (user_dir.empty()) {
        return;
    }
    for (const char* entry : k_linked_entries) {
        const fs::path from = user_dir / entry;
        std::error_code ec;
        if (!fs::exists(from, ec)) {
            continue;
        }
        fs::create_symlink(fs::absolute(from, ec), folder / entry, ec);
        if (ec) {
            spdlog::debug("cannot link {} into {}: {}", from.string(), folder.string(),
                          ec.message());
        }
    }
}

// The private config.json as it is now (the engine may have written logins into it).
Json read_private_config(const fs::path& file) {
    std::error_code ec;
    if (!fs::exists(file, ec)) {
        return Json::object();
    }
    std::string reason;
    if (auto parsed = parse_config(util::read_file(file), reason)) {
        return std::move(*parsed);
    }
    spdlog::debug("{}: {}; rewriting it", file.string(), reason);
    return Json::object();
}

// Erases the auths/credHelpers keys whose host is `wanted` (lower-case); true when any went.
bool remove_host_entries(Json& config, const std::string& wanted) {
    bool changed = false;
    for (const char* section : {"auths", "credHelpers"}) {
        const auto entries = config.find(section);
        if (entries == config.end() || !entries->is_object()) {
            continue;
        }
        std::vector<std::string> doomed;
        for (const auto& item : entries->items()) {
            if (key_host(item.key()) == wanted) {
                doomed.push_back(item.key());
            }
        }
        for (const auto& key : doomed) {
            entries->erase(key);
            changed = true;
        }
    }
    return changed;
}

// `bin/docker-credential-<name>` -> `executable` in `folder` (bin/ made 0700).
fs::path link_helper(const fs::path& folder, std::string_view name, const fs::path& executable) {
    const fs::path bin = folder / "bin";
    const fs::path link = bin / ("docker-credential-" + std::string(name));
    std::error_code ec;
    fs::create_directory(bin, ec);
    if (!ec) {
        fs::permissions(bin, fs::perms::owner_all, ec);
    }
    if (!ec) {
        fs::remove(link, ec);
        fs::create_symlink(executable, link, ec);
    }
    if (ec) {
        throw EngineError(
            "cannot link " + link.string() + " to " + executable.string() + ": " + ec.message(),
            {});
    }
    return bin;
}

}  // namespace

PrivateDockerConfig::PrivateDockerConfig(
    const std::optional<std::filesystem::path>& user_config_dir)
    : path_(make_private_folder()) {
    try {
        const fs::path user_dir = user_config_dir && !user_config_dir->empty()
                                      ? *user_config_dir
                                      : util::home_directory(util::SystemEnvironment()) / ".docker";
        Json config = read_user_config(user_dir);
        drop_creds_store(config);
        write_config(path_ / k_config_file, config);
        link_user_entries(user_dir, path_);
    } catch (...) {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
        throw;
    }
}

PrivateDockerConfig::~PrivateDockerConfig() {
    // remove_all deletes the symlinks, not what they point to.
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

void PrivateDockerConfig::forget_host(const std::string& host) {
    const std::lock_guard lock(mutex_);
    const fs::path file = path_ / k_config_file;
    Json config = read_private_config(file);
    if (remove_host_entries(config, key_host(host))) {
        write_config(file, config);
    }
}

fs::path PrivateDockerConfig::take_auth_file(const fs::path& auth_file) {
    const std::lock_guard lock(mutex_);
    const fs::path file = path_ / k_config_file;
    std::string reason;
    const auto parsed = read_user_file(auth_file, reason);
    if (!parsed) {
        if (!reason.empty()) {
            spdlog::warn("{} (REGISTRY_AUTH_FILE): {}; builds run without its logins",
                         auth_file.string(), reason);
        }
        return file;
    }
    Json config = read_private_config(file);
    for (const char* section : {"auths", "credHelpers"}) {
        const auto entries = parsed->find(section);
        if (entries == parsed->end() || !entries->is_object()) {
            continue;
        }
        Json& target = config[section];
        if (!target.is_object()) {
            target = Json::object();
        }
        for (const auto& item : entries->items()) {
            if (!target.contains(item.key())) {
                target[item.key()] = item.value();
            }
        }
    }
    write_config(file, config);
    return file;
}

fs::path PrivateDockerConfig::add_credential_helper(const std::vector<std::string>& keys,
                                                    std::string_view helper_name,
                                                    const fs::path& helper_executable) {
    const std::lock_guard lock(mutex_);
    const fs::path file = path_ / k_config_file;
    Json config = read_private_config(file);
    Json& helpers = config["credHelpers"];
    if (!helpers.is_object()) {
        helpers = Json::object();
    }
    for (const auto& key : keys) {
        helpers[key] = std::string(helper_name);
    }
    write_config(file, config);
    return link_helper(path_, helper_name, helper_executable);
}

}  // namespace assetctl::docker
