#include "publish/push_docker.hpp"

#include <spdlog/spdlog.h>

#include "docker/engine_client.hpp"
#include "util/interrupt.hpp"
#include "util/sleeper.hpp"

namespace assetctl::publish {
namespace {

// Without a retry context from the caller: the default number of attempts, no waiting.
class NoWait final : public util::Sleeper {
  public:
    void sleep_for(std::chrono::milliseconds /*duration*/) override {}
};

}  // namespace

void DockerPush::push(const ImageState& image, TargetState& target) {
    target.outcome.method = "docker";
    const auto started = Clock::now();
    try {
        run_.engine_logins().log_in(target);
        const std::string remote = target.outcome.image_uri;
        run_.deps().engine.tag(image.local_image, remote);
        run_.emit(EventType::upload, target, "pushing " + remote);
        std::string digest;
        const auto output = push_with_retries(remote, target, digest);
        target.outcome.digest = digest.empty() ? digest_from_push_output(output) : digest;
        target.phase = Phase::finished;
        target.outcome.state = Outcome::State::published;
        run_.count_push();
        run_.emit(EventType::success, target, "published " + remote, since(started));
    } catch (const docker::EngineError& e) {
        // An immutable repository refuses a tag that appeared since the check: if the tag is
        // there now, the asset is published.
        if (!run_.settled_by_immutable_tag(target)) {
            run_.fail(target, e.what(), e.output_tail());
        }
    } catch (const std::exception& e) {
        run_.fail(target, e.what());
    }
}

std::string DockerPush::push_with_retries(const std::string& remote, TargetState& target,
                                          std::string& digest) {
    NoWait no_wait;
    const http::RetryContext immediate{{}, no_wait, [] { return 0.0; }};
    const auto& context = run_.deps().retry != nullptr ? *run_.deps().retry : immediate;
    std::string output;
    http::retry_on_exception(
        context, "docker push " + remote,
        [&] {
            output.clear();
            digest = run_.deps().engine.push(
                remote, [&](std::string_view line) { output.append(line).push_back('\n'); });
        },
        [&](const std::exception& e, int attempt) {
            // No retry helps when the tag appeared in an immutable repository meanwhile.
            if (dynamic_cast<const docker::EngineError*>(&e) == nullptr || util::interrupted() ||
                (target.mutability == TagMutability::immutable_tags && run_.tag_present(target))) {
                return false;
            }
            spdlog::warn("{}: {} (attempt {} of {}); pushing again", remote, e.what(), attempt,
                         context.policy.max_attempts);
            return true;
        });
    return output;
}

std::string digest_from_push_output(std::string_view output) {
    const std::string_view marker = "digest: ";
    const auto at = output.rfind(marker);
    if (at == std::string_view::npos) {
        return {};
    }
    const auto start = at + marker.size();
    const auto end = output.find_first_of(" \n", start);
    return std::string(output.substr(start, end == std::string_view::npos ? end : end - start));
}

}  // namespace assetctl::publish
