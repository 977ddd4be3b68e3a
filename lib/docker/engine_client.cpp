#include "docker/engine_client.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <deque>
#include <exception>
#include <fcntl.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <utility>

#include <spdlog/spdlog.h>

#include "util/fd.hpp"
#include "util/files.hpp"
#include "util/strings.hpp"

namespace assetctl::docker {
namespace {

constexpr std::size_t k_tail_lines = 20;

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

// `server` without a leading `http(s)://` and trailing `/`s, as cdk-assets passes ECR's
// proxyEndpoint to `docker login`.
std::string login_server(const std::string& server) {
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
    return host;
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

// The pipe `save` streams through (both ends close on exec, so no other child holds them).
util::Pipe stream_pipe() {
    try {
        return util::make_pipe();
    } catch (const std::system_error& e) {
        throw EngineError("pipe for the engine's output: " + e.code().message(), {});
    }
}

}  // namespace

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
    command.environment.insert(command.environment.end(), environment_.begin(), environment_.end());
    return command;
}

process::Result EngineClient::run(const process::Command& command) const {
    try {
        return runner_.run(command);
    } catch (const process::SpawnError& e) {
        throw EngineError(std::string(e.what()) + std::string(k_spawn_hint), {});
    }
}

process::Result EngineClient::run_checked(const process::Command& command, const std::string& what,
                                          std::string_view secret) const {
    auto result = run(command);
    check(result, what, secret);
    return result;
}

void EngineClient::check(const process::Result& result, const std::string& what,
                         std::string_view secret) {
    if (result.ok()) {
        return;
    }
    auto tail = result_tail(result);
    // The engine has no reason to echo a password, but an error must never carry it.
    for (auto& line : tail) {
        line = replace_all(line, secret, "<redacted>");
    }
    throw EngineError(failure_message(what, result, tail), tail);
}

void EngineClient::run_streamed(process::Command command, const LineSink& output,
                                const std::string& what) const {
    StreamedOutput streamed(output);
    streamed.attach(command);
    const auto result = run(command);
    if (!result.ok()) {
        throw EngineError(what + " failed (" + describe_end(result) + ")", streamed.tail(result));
    }
}

std::string EngineClient::quoted(const std::vector<std::string>& arguments) const {
    return "'" + executable_ + " " + util::join(arguments, " ") + "'";
}

bool EngineClient::image_exists(const std::string& image) {
    const std::vector<std::string> arguments = {"inspect", image};
    const auto result = run(command(arguments));
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
                              std::string(k_daemon_hint),
                          tail);
    }
    throw EngineError(failure_message(quoted(arguments), result, tail) +
                          "; check the container engine with `assetctl doctor`",
                      tail);
}

std::string EngineClient::image_id(const std::string& image) {
    const std::vector<std::string> arguments = {"inspect", "--format", "{{.Id}}", image};
    const auto result = run_checked(command(arguments), quoted(arguments));
    std::string id = util::trim(result.out);
    if (id.empty()) {
        throw EngineError(quoted(arguments) + " printed no image id", {});
    }
    if (id.find(':') == std::string::npos) {
        id = "sha256:" + id;  // podman prints the bare digest
    }
    return id;
}

ImageInspect EngineClient::inspect_image(const std::string& image) {
    const std::vector<std::string> arguments = {"image", "inspect", image};
    const auto result = run_checked(command(arguments), quoted(arguments));
    return parse_image_inspect(result.out, quoted(arguments));
}

void EngineClient::save(const std::string& image, const std::function<void(int fd)>& consume) {
    const std::vector<std::string> arguments = {"save", image};
    auto save = command(arguments);
    util::Pipe pipe = stream_pipe();
    save.stdout_fd = pipe.write.get();
    process::Result result;
    std::exception_ptr spawn_error;
    std::thread engine([&] {
        try {
            result = run(save);
        } catch (...) {
            spawn_error = std::current_exception();
        }
        pipe.write = util::Fd();  // the reader sees the end of the stream once the engine ended
    });
    std::exception_ptr consume_error;
    try {
        consume(pipe.read.get());
    } catch (...) {
        consume_error = std::current_exception();
    }
    pipe.read = util::Fd();  // an engine still writing gets SIGPIPE and ends
    engine.join();
    for (const auto& error : {spawn_error, consume_error}) {
        if (error) {
            std::rethrow_exception(error);
        }
    }
    check(result, quoted(arguments));
}

void EngineClient::check_build_options(const manifest::DockerImageSource& source) const {
    const auto problems = unsupported_options(source, build_features(identity_.backend));
    if (!problems.empty()) {
        throw EngineError(describe(identity_) + " cannot honour " + util::join(problems, ", ") +
                              "; " + unsupported_hint(identity_),
                          {});
    }
}

void EngineClient::build(const manifest::DockerImageSource& source,
                         const std::filesystem::path& context, const std::string& local_tag,
                         const LineSink& output) {
    check_build_options(source);
    auto build = command(build_arguments(source, local_tag, build_features(identity_.backend)));
    build.working_directory = context;
    spdlog::debug("{}: {} (in {})", local_tag, redacted_command_line(build.argv), context.string());
    // Provenance attestations would turn the image into an index that Lambda and ECS reject.
    build.environment.insert(build.environment.begin(), {"BUILDX_NO_DEFAULT_ATTESTATIONS", "1"});
    run_streamed(build, output, executable_ + " build of " + local_tag);
}

std::string EngineClient::load(const std::filesystem::path& tarball) {
    const std::vector<std::string> arguments = {"load", "-i", tarball.string()};
    const auto result = run_checked(command(arguments), quoted(arguments));
    // docker and podman print the names on stdout; stderr is a fallback for other engines.
    auto name = loaded_image(result.out);
    if (!name) {
        name = loaded_image(result.err);
    }
    if (!name) {
        throw EngineError(
            quoted(arguments) + " did not say which image it loaded (no 'Loaded image' line)",
            result_tail(result));
    }
    return *name;
}

void EngineClient::tag(const std::string& source, const std::string& target) {
    const std::vector<std::string> arguments = {"tag", source, target};
    const std::lock_guard one_tag_at_a_time(tag_mutex_);
    run_checked(command(arguments), quoted(arguments));
}

void EngineClient::login(const std::string& server, const std::string& username,
                         const std::string& password) {
    const std::string host = login_server(server);
    auto login = command({"login", "--username", username, "--password-stdin", host});
    login.input = password;
    run_checked(login, quoted({"login"}) + " to " + host + " as " + username, password);
}

std::string EngineClient::push(const std::string& image, const LineSink& output) {
    if (identity_.backend != BuildBackend::podman || !docker_config_) {
        run_streamed(command({"push", image}), output, executable_ + " push of " + image);
        return {};
    }
    static std::atomic<unsigned> pushes{0};
    const auto file = *docker_config_ / ("push-digest-" + std::to_string(++pushes));
    run_streamed(command({"push", "--digestfile", file.string(), image}), output,
                 executable_ + " push of " + image);
    std::string digest;
    try {
        digest = util::trim(util::read_file(file));
    } catch (const util::FileError&) {
    }
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
    return digest;
}

}  // namespace assetctl::docker
