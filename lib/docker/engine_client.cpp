#include "docker/engine_client.hpp"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "util/files.hpp"
#include "util/strings.hpp"

namespace assetctl::docker {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr std::size_t k_tail_lines = 20;
constexpr std::string_view k_spawn_hint =
    "; install a container engine or point CDK_DOCKER (or --docker) at one";

// cdk-assets' cacheOptionToFlag: `type=T` then `,k=v` per param in the manifest's order, no
// quoting. Divergence: for `"params": {}` cdk-assets writes `type=T,` (an empty object is
// truthy in JS); the model cannot tell an empty object from no params, so that is `type=T`.
std::string cache_flag(const manifest::CacheOption& option) {
    std::string flag = "type=" + option.type;
    for (const auto& [key, value] : option.params) {
        flag += ",";
        flag += key;
        flag += "=";
        flag += value;
    }
    return flag;
}

// cdk-assets tests options with JS truthiness, so an empty string is the same as absent.
void add_option(std::vector<std::string>& args, const char* flag,
                const std::optional<std::string>& value) {
    if (value && !value->empty()) {
        args.emplace_back(flag);
        args.push_back(*value);
    }
}

// The tail of a non-streaming command's output: stderr, else stdout.
std::vector<std::string> result_tail(const process::Result& result) {
    auto tail = util::last_lines(util::split_lines(result.err), k_tail_lines);
    if (tail.empty()) {
        tail = util::last_lines(util::split_lines(result.out), k_tail_lines);
    }
    return tail;
}

// Streams a command's stdout and stderr lines to a sink and keeps the last ones for an error.
// Lines arrive on the thread that runs the command, in order across both streams, so no lock.
class StreamedOutput {
  public:
    explicit StreamedOutput(const LineSink& sink) : sink_(sink) {}

    void attach(process::Command& command) {
        const auto on_line = [this](std::string_view line) {
            tail_.emplace_back(line);
            if (tail_.size() > k_tail_lines) {
                tail_.pop_front();
            }
            if (sink_) {
                sink_(line);
            }
        };
        command.on_stdout_line = on_line;
        command.on_stderr_line = on_line;
    }

    // The last lines seen, or for a runner that does not stream, the captured output (stdout
    // then stderr).
    std::vector<std::string> tail(const process::Result& result) const {
        std::vector<std::string> lines(tail_.begin(), tail_.end());
        if (lines.empty()) {
            lines = util::split_lines(result.out);
            const auto err = util::split_lines(result.err);
            lines.insert(lines.end(), err.begin(), err.end());
        }
        return util::last_lines(std::move(lines), k_tail_lines);
    }

  private:
    const LineSink& sink_;
    std::deque<std::string> tail_;
};

// Why a finished command did not succeed: `exit N`, `killed by signal N`, ...
std::string describe_end(const process::Result& result) {
    if (result.interrupted) {
        return "interrupted";
    }
    if (result.timed_out) {
        return "timed out";
    }
    if (result.signal != 0) {
        return "killed by signal " + std::to_string(result.signal);
    }
    return "exit " + std::to_string(result.exit_code);
}

// `<what> failed (exit N): <last line of the tail>`.
std::string failure_message(const std::string& what, const process::Result& result,
                            const std::vector<std::string>& tail) {
    std::string message = what + " failed (" + describe_end(result) + ")";
    if (!tail.empty()) {
        message += ": " + util::trim(tail.back());
    }
    return message;
}

// docker also exits 1 from `inspect` when it cannot reach its daemon, which must not read as
// "image absent" (cdk-assets would then try a build that fails with a less clear message).
bool cannot_reach_daemon(const std::string& err) {
    const std::string text = util::to_lower(err);
    static constexpr std::array<std::string_view, 4> k_markers = {
        "cannot connect to the docker daemon",
        "permission denied while trying to connect to the docker daemon",
        "error during connect",
        "cannot connect to podman",
    };
    for (const auto marker : k_markers) {
        if (text.find(marker) != std::string::npos) {
            return true;
        }
    }
    return false;
}

std::string replace_all(std::string text, std::string_view needle, std::string_view with) {
    if (needle.empty()) {
        return text;
    }
    std::size_t at = 0;
    while ((at = text.find(needle, at)) != std::string::npos) {
        text.replace(at, needle.size(), with);
        at += with.size();
    }
    return text;
}

bool starts_with_icase(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() &&
           util::to_lower(text.substr(0, prefix.size())) == util::to_lower(prefix);
}

// `host[:port]` of a registry key as the docker CLI stores them: `host`, `https://host`,
// `https://index.docker.io/v1/`. Lower-cased, since host names compare that way.
std::string registry_host(std::string_view key) {
    for (const std::string_view scheme :
         {std::string_view("https://"), std::string_view("http://")}) {
        if (starts_with_icase(key, scheme)) {
            key.remove_prefix(scheme.size());
            break;
        }
    }
    const auto slash = key.find('/');
    if (slash != std::string_view::npos) {
        key = key.substr(0, slash);
    }
    return util::to_lower(key);
}

// The name in the last line of `load` output that names an image (see the header).
std::optional<std::string> loaded_image(std::string_view output) {
    std::optional<std::string> found;
    for (const auto& raw : util::split_lines(output)) {
        const std::string line = util::trim(raw);
        std::string name;
        if (line.rfind("Loaded image ID: ", 0) == 0) {
            name = util::trim(std::string_view(line).substr(17));
        } else if (line.rfind("Loaded image(s): ", 0) == 0) {
            std::string_view list = std::string_view(line).substr(17);
            while (!list.empty() && name.empty()) {
                const auto comma = list.rfind(',');
                name = util::trim(comma == std::string_view::npos ? list : list.substr(comma + 1));
                list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
            }
        } else if (line.rfind("Loaded image: ", 0) == 0) {
            name = util::trim(std::string_view(line).substr(14));
        }
        if (!name.empty()) {
            found = std::move(name);
        }
    }
    return found;
}

// ----- private docker config -----

fs::path home_directory() {
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
        return home;
    }
    passwd entry{};
    passwd* found = nullptr;
    std::array<char, 16384> buffer{};
    if (::getpwuid_r(::getuid(), &entry, buffer.data(), buffer.size(), &found) == 0 &&
        found != nullptr && found->pw_dir != nullptr) {
        return found->pw_dir;
    }
    return {};
}

std::string errno_text() {
    return std::strerror(errno);
}

// Writes `content` to `target` through a file created 0600 (O_EXCL, so never an existing file
// or a planted symlink) and renamed over it: readers (the engine, concurrently) see the old or
// the new file, never half of one.
void write_private_file(const fs::path& target, const std::string& content) {
    const fs::path temp = target.parent_path() / (target.filename().string() + ".assetctl-new");
    ::unlink(temp.c_str());  // left by a write that failed half-way
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        throw EngineError("cannot create " + temp.string() + ": " + errno_text(), {});
    }
    // The umask can only have taken bits away from 0600; make it exactly 0600 (never wider).
    ::fchmod(fd, S_IRUSR | S_IWUSR);
    std::size_t written = 0;
    while (written < content.size()) {
        const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            const std::string reason = errno_text();
            ::close(fd);
            ::unlink(temp.c_str());
            throw EngineError("cannot write " + temp.string() + ": " + reason, {});
        }
        written += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) {
        const std::string reason = errno_text();
        ::unlink(temp.c_str());
        throw EngineError("cannot write " + temp.string() + ": " + reason, {});
    }
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        const std::string reason = errno_text();
        ::unlink(temp.c_str());
        throw EngineError("cannot replace " + target.string() + ": " + reason, {});
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
    }
}

// Without `credsStore` the engine would look for the other registries' logins in the file and
// find only the empty `auths` entries that stand for keychain logins, so those hosts get the
// store as their credential helper. Docker Hub keeps its full key
// (`https://index.docker.io/v1/`), which is how the CLI looks it up; other hosts go by
// `host[:port]`.
void drop_creds_store(Json& config) {
    const auto store = config.find("credsStore");
    if (store == config.end()) {
        return;
    }
    if (store->is_string() && !store->get<std::string>().empty()) {
        const std::string helper = store->get<std::string>();
        const auto auths = config.find("auths");
        if (auths != config.end() && auths->is_object() && !auths->empty()) {
            Json& helpers = config["credHelpers"];
            if (helpers.is_null()) {
                helpers = Json::object();
            }
            if (helpers.is_object()) {
                for (const auto& item : auths->items()) {
                    const std::string host = registry_host(item.key());
                    const std::string key = host == "index.docker.io" ? item.key() : host;
                    if (!host.empty() && !helpers.contains(key)) {
                        helpers[key] = helper;
                    }
                }
            }
        }
    }
    config.erase("credsStore");
}

// What the CLI reads from its config folder besides config.json.
constexpr std::array<const char*, 6> k_linked_entries = {"cli-plugins", "contexts", "buildx",
                                                         "ca.pem",      "cert.pem", "key.pem"};

}  // namespace

std::string local_image_tag(std::string_view asset_id) {
    return "cdkasset-" + util::to_lower(asset_id);
}

// The order and spelling follow cdk-assets' Docker.build (aws/aws-cdk-cli,
// packages/@aws-cdk/cdk-assets-lib/lib/private/docker.ts). Maps follow the manifest's key order;
// JS Object.entries would put integer-like keys (`"1"`) first in numeric order, which only a
// manifest with such build-arg names could tell apart. cdk-assets adds each output as a
// one-element array (`outputs.map(o => [`--output=${o}`])`, not flattened), which Node turns
// back into the string `--output=O`: the same argv.
std::vector<std::string> build_arguments(const manifest::DockerImageSource& source,
                                         const std::string& local_tag) {
    std::vector<std::string> args = {"build"};
    for (const auto& [key, value] : source.docker_build_args) {
        args.emplace_back("--build-arg");
        args.push_back(key + "=" + value);
    }
    for (const auto& [key, value] : source.docker_build_contexts) {
        args.emplace_back("--build-context");
        args.push_back(key + "=" + value);
    }
    for (const auto& [key, value] : source.docker_build_secrets) {
        args.emplace_back("--secret");
        args.push_back("id=" + key + "," + value);
    }
    add_option(args, "--ssh", source.docker_build_ssh);
    args.emplace_back("--tag");
    args.push_back(local_tag);
    add_option(args, "--target", source.docker_build_target);
    add_option(args, "--file", source.docker_file);
    add_option(args, "--network", source.network_mode);
    add_option(args, "--platform", source.platform);
    for (const auto& output : source.docker_outputs) {
        args.push_back("--output=" + output);
    }
    for (const auto& cache : source.cache_from) {
        args.emplace_back("--cache-from");
        args.push_back(cache_flag(cache));
    }
    if (source.cache_to) {
        args.emplace_back("--cache-to");
        args.push_back(cache_flag(*source.cache_to));
    }
    if (source.cache_disabled.value_or(false)) {
        args.emplace_back("--no-cache");
    }
    args.emplace_back(".");
    return args;
}

EngineClient::EngineClient(process::ProcessRunner& runner, std::string executable,
                           std::optional<std::filesystem::path> docker_config)
    : runner_(runner),
      executable_(std::move(executable)),
      docker_config_(std::move(docker_config)) {}

process::Command EngineClient::command(std::vector<std::string> arguments) const {
    process::Command command;
    command.argv.reserve(arguments.size() + 1);
    command.argv.push_back(executable_);
    for (auto& argument : arguments) {
        command.argv.push_back(std::move(argument));
    }
    if (docker_config_) {
        command.environment.emplace_back("DOCKER_CONFIG", docker_config_->string());
    }
    return command;
}

process::Result EngineClient::run(const process::Command& command) const {
    try {
        return runner_.run(command);
    } catch (const process::SpawnError& e) {
        throw EngineError(std::string(e.what()) + std::string(k_spawn_hint), {});
    }
}

bool EngineClient::image_exists(const std::string& image) {
    const auto result = run(command({"inspect", image}));
    if (result.ok()) {
        return true;
    }
    const bool finished = result.signal == 0 && !result.timed_out && !result.interrupted;
    if (finished && (result.exit_code == 1 || result.exit_code == 125) &&
        !cannot_reach_daemon(result.err)) {
        return false;
    }
    const auto tail = result_tail(result);
    if (finished && cannot_reach_daemon(result.err)) {
        throw EngineError("'" + executable_ + "' cannot reach its daemon: " +
                              (tail.empty() ? std::string() : util::trim(tail.back())) +
                              "; start the daemon (dockerd) or check DOCKER_HOST",
                          tail);
    }
    throw EngineError(failure_message("'" + executable_ + " inspect " + image + "'", result, tail) +
                          "; check the container engine with `assetctl doctor`",
                      tail);
}

std::string EngineClient::image_id(const std::string& image) {
    const auto result = run(command({"inspect", "--format", "{{.Id}}", image}));
    if (!result.ok()) {
        const auto tail = result_tail(result);
        throw EngineError(
            failure_message("'" + executable_ + " inspect --format {{.Id}} " + image + "'", result,
                            tail),
            tail);
    }
    std::string id = util::trim(result.out);
    if (id.empty()) {
        throw EngineError(
            "'" + executable_ + " inspect --format {{.Id}} " + image + "' printed no image id", {});
    }
    if (id.find(':') == std::string::npos) {
        id = "sha256:" + id;  // podman prints the bare digest
    }
    return id;
}

void EngineClient::build(const manifest::DockerImageSource& source,
                         const std::filesystem::path& context, const std::string& local_tag,
                         const LineSink& output) {
    auto build = command(build_arguments(source, local_tag));
    build.working_directory = context;
    // Provenance attestations would turn the image into an index that Lambda and ECS reject.
    build.environment.insert(build.environment.begin(), {"BUILDX_NO_DEFAULT_ATTESTATIONS", "1"});
    StreamedOutput streamed(output);
    streamed.attach(build);
    const auto result = run(build);
    if (!result.ok()) {
        throw EngineError(
            executable_ + " build of " + local_tag + " failed (" + describe_end(result) + ")",
            streamed.tail(result));
    }
}

std::string EngineClient::load(const std::filesystem::path& tarball) {
    const auto result = run(command({"load", "-i", tarball.string()}));
    if (!result.ok()) {
        const auto tail = result_tail(result);
        throw EngineError(
            failure_message("'" + executable_ + " load -i " + tarball.string() + "'", result, tail),
            tail);
    }
    // docker and podman print the names on stdout; stderr is a fallback for other engines.
    auto name = loaded_image(result.out);
    if (!name) {
        name = loaded_image(result.err);
    }
    if (!name) {
        throw EngineError("'" + executable_ + " load -i " + tarball.string() +
                              "' did not say which image it loaded (no 'Loaded image' line)",
                          result_tail(result));
    }
    return *name;
}

void EngineClient::tag(const std::string& source, const std::string& target) {
    const auto result = run(command({"tag", source, target}));
    if (!result.ok()) {
        const auto tail = result_tail(result);
        throw EngineError(failure_message("'" + executable_ + " tag " + source + " " + target + "'",
                                          result, tail),
                          tail);
    }
}

void EngineClient::login(const std::string& server, const std::string& username,
                         const std::string& password) {
    std::string host = server;
    for (const std::string_view scheme :
         {std::string_view("https://"), std::string_view("http://")}) {
        if (starts_with_icase(host, scheme)) {
            host.erase(0, scheme.size());
            break;
        }
    }
    while (!host.empty() && host.back() == '/') {
        host.pop_back();
    }
    auto login = command({"login", "--username", username, "--password-stdin", host});
    login.input = password;
    const auto result = run(login);
    if (result.ok()) {
        return;
    }
    // The engine has no reason to echo the password, but an error must never carry it.
    auto tail = result_tail(result);
    for (auto& line : tail) {
        line = replace_all(line, password, "<redacted>");
    }
    throw EngineError(
        failure_message("'" + executable_ + " login' to " + host + " as " + username, result, tail),
        tail);
}

void EngineClient::push(const std::string& image, const LineSink& output) {
    auto push = command({"push", image});
    StreamedOutput streamed(output);
    streamed.attach(push);
    const auto result = run(push);
    if (!result.ok()) {
        throw EngineError(
            executable_ + " push of " + image + " failed (" + describe_end(result) + ")",
            streamed.tail(result));
    }
}

PrivateDockerConfig::PrivateDockerConfig(
    const std::optional<std::filesystem::path>& user_config_dir) {
    const char* tmpdir = std::getenv("TMPDIR");
    const fs::path base =
        tmpdir != nullptr && *tmpdir != '\0' ? fs::path(tmpdir) : fs::path("/tmp");
    std::string pattern = (base / "assetctl-docker-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw EngineError("cannot create a private docker config folder in " + base.string() +
                              ": " + errno_text() + "; check TMPDIR",
                          {});
    }
    path_ = pattern;
    try {
        if (::chmod(path_.c_str(), S_IRWXU) != 0) {
            throw EngineError("cannot chmod " + path_.string() + ": " + errno_text(), {});
        }
        const fs::path user_dir = user_config_dir && !user_config_dir->empty()
                                      ? *user_config_dir
                                      : home_directory() / ".docker";
        Json config = Json::object();
        const fs::path user_file = user_dir / "config.json";
        std::error_code ec;
        if (!user_dir.empty() && fs::exists(user_file, ec)) {
            std::string reason;
            std::optional<Json> parsed;
            try {
                parsed = parse_config(util::read_file(user_file), reason);
            } catch (const util::FileError& e) {
                reason = e.what();
            }
            if (parsed) {
                config = std::move(*parsed);
            } else {
                spdlog::warn(
                    "{}: {}; assetctl's private docker configuration starts empty, without its "
                    "proxies and registry logins",
                    user_file.string(), reason);
            }
        }
        drop_creds_store(config);
        write_private_file(path_ / "config.json", config.dump(2) + "\n");
        for (const char* entry : k_linked_entries) {
            const fs::path from = user_dir / entry;
            if (user_dir.empty() || !fs::exists(from, ec)) {
                continue;
            }
            fs::create_symlink(fs::absolute(from, ec), path_ / entry, ec);
            if (ec) {
                spdlog::debug("cannot link {} into {}: {}", from.string(), path_.string(),
                              ec.message());
            }
        }
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
    const fs::path file = path_ / "config.json";
    Json config = Json::object();
    std::error_code ec;
    if (fs::exists(file, ec)) {
        std::string reason;
        if (auto parsed = parse_config(util::read_file(file), reason)) {
            config = std::move(*parsed);
        } else {
            spdlog::debug("{}: {}; rewriting it", file.string(), reason);
        }
    }
    const std::string wanted = registry_host(host);
    bool changed = false;
    for (const char* section : {"auths", "credHelpers"}) {
        const auto entries = config.find(section);
        if (entries == config.end() || !entries->is_object()) {
            continue;
        }
        std::vector<std::string> doomed;
        for (const auto& item : entries->items()) {
            if (registry_host(item.key()) == wanted) {
                doomed.push_back(item.key());
            }
        }
        for (const auto& key : doomed) {
            entries->erase(key);
            changed = true;
        }
    }
    if (changed) {
        write_private_file(file, config.dump(2) + "\n");
    }
}

}  // namespace assetctl::docker
