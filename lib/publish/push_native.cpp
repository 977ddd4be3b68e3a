#include "publish/push_native.hpp"

#include "http/http_client.hpp"
#include "util/interrupt.hpp"

namespace assetctl::publish {
namespace {

void push(RunState& run, const ImageState& image, TargetState& target) {
    const auto started = Clock::now();
    const std::string remote = target.outcome.image_uri;
    run.emit(EventType::upload, target, "pushing " + remote + " natively");
    const auto report = run.deps().native->push(
        *image.prepared, target.registry_host, target.credentials.keys.access_key_id,
        run.registry_login(target), target.repository, target.tag,
        [&run, &target](std::uint64_t sent) { run.report_bytes(target, sent); });
    target.outcome.digest = report.digest.str();
    target.outcome.upload = report;
    target.phase = Phase::finished;
    target.outcome.state = Outcome::State::published;
    run.count_push();
    run.emit(EventType::success, target,
             "published " + remote + " (" + std::to_string(report.blobs_uploaded) +
                 " blobs uploaded, " + std::to_string(report.blobs_present) + " present)",
             since(started));
}

std::string transport_failure(const TargetState& target, const http::TransportError& e) {
    std::string error = "push to " + target.outcome.image_uri + ": " + e.what();
    if (e.kind() == http::TransportErrorKind::tls) {
        error +=
            " (the registry's certificate is not trusted: for a private CA, point "
            "AWS_CA_BUNDLE or the profile's ca_bundle at it, or put it in "
            "/etc/docker/certs.d/<host:port>/ca.crt as docker reads it)";
    } else if (e.kind() == http::TransportErrorKind::tls_handshake) {
        error +=
            " (no TLS session with the registry: check that its host and port serve HTTPS; "
            "registries are only reached over HTTPS)";
    }
    return error;
}

}  // namespace

void push_natively(RunState& run, const ImageState& image, TargetState& target) {
    target.outcome.method = "native";
    try {
        push(run, image, target);
    } catch (const util::Interrupted& e) {  // registry::PushInterrupted included
        run.skip(target, e.what());
    } catch (const http::TransportError& e) {
        run.fail(target, transport_failure(target, e));
    } catch (const std::exception& e) {
        if (!run.settled_by_immutable_tag(target)) {
            run.fail(target, "push to " + target.outcome.image_uri + ": " + e.what());
        }
    }
}

}  // namespace assetctl::publish
