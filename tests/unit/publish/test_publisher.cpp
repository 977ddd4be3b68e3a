// The publisher over fakes: which engine commands and AWS calls happen for which situation.
// Engine commands are matched by rule (FakeProcessRunner::on), not by order, because builds
// and pushes run on separate threads.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

#include <catch2/catch.hpp>

#include "docker/private_docker_config.hpp"
#include "image/image_error.hpp"
#include "publish/publisher.hpp"
#include "publish/push_docker.hpp"
#include "support/fake_credentials.hpp"
#include "support/fake_ecr.hpp"
#include "support/fake_process.hpp"
#include "support/fake_sts.hpp"
#include "support/temp_dir.hpp"
#include "util/clock.hpp"
#include "util/files.hpp"
#include "util/strings.hpp"

using namespace assetctl;
using State = publish::Outcome::State;

namespace {

process::Result exit_code(int code, std::string err = {}) {
    process::Result result;
    result.exit_code = code;
    result.err = std::move(err);
    return result;
}

const std::string k_repo = "cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}";

std::string destination(const std::string& region, bool with_role = true) {
    std::string out = R"({"repositoryName": ")" + k_repo + R"(", "imageTag": "tag1", "region": ")" +
                      region + R"(")";
    if (with_role) {
        out += R"(, "assumeRoleArn": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/publish-)" +
               region + R"(")";
    }
    return out + "}";
}

struct Harness {
    test::TempDir dir;
    test::FakeCredentialsProvider credentials;
    test::FakeStsApi sts;
    test::FakeEcr ecr;
    util::FixedClock clock{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}};
    aws::AssumedRoleCache roles{sts, clock, "assetctl-test"};
    test::FakeProcessRunner runner;
    docker::EngineClient engine{runner, "docker"};
    publish::RecordingEventSink events;
    publish::Options options;

    Harness() {
        options.build_jobs = 1;
        options.publish_jobs = 2;
        for (const char* region : {"us-east-1", "eu-west-1"}) {
            ecr.existing.insert(
                {region, "cdk-hnb659fds-container-assets-123456789012-" + std::string(region)});
        }
        runner.on("inspect", exit_code(1, "Error: No such object"));
        runner.on("build", exit_code(0));
        runner.on("tag", exit_code(0));
        runner.on("login", exit_code(0));
        runner.on(
            "push", exit_code(0),
            "tag1: digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef "
            "size: 528");
    }

    // An asset manifest with the given image assets ({id: destinations-json}).
    manifest::Selection assembly(const std::vector<std::pair<std::string, std::string>>& images) {
        std::string body;
        for (const auto& [id, destinations] : images) {
            dir.write("asset." + id + "/Dockerfile", "FROM scratch\n");
            body += (body.empty() ? "" : ",") + std::string("\"") + id +
                    R"(": {"source": {"directory": "asset.)" + id + R"("}, "destinations": )" +
                    destinations + "}";
        }
        const auto file =
            dir.write("S.assets.json", R"({"version": "55.0.0", "dockerImages": {)" + body + "}}");
        return manifest::select_assets(manifest::load_assembly(file), {});
    }

    publish::Dependencies dependencies() { return dependencies(credentials); }

    publish::Dependencies dependencies(aws::CredentialsProvider& caller) {
        return {.aws = {.credentials = caller,
                        .sts = sts,
                        .ecr = ecr,
                        .roles = roles,
                        .default_region = "us-east-1"},
                .engine = engine,
                .processes = runner,
                .events = events};
    }

    publish::Summary run(publish::Mode mode, const manifest::Selection& selection) {
        auto deps = dependencies();
        return publish::run(mode, selection, deps, options);
    }

    std::size_t events_of(publish::EventType type) const {
        std::size_t n = 0;
        for (const auto& event : events.events()) {
            n += event.type == type ? 1U : 0U;
        }
        return n;
    }
};

}  // namespace

TEST_CASE("an asset with two destinations is built once and pushed to both") {
    Harness h;
    const auto selection = h.assembly({{"img", R"({"a": )" + destination("us-east-1") +
                                                   R"(, "b": )" + destination("eu-west-1") + "}"}});
    const auto summary = h.run(publish::Mode::publish, selection);

    CHECK(summary.ok());
    CHECK(summary.builds == 1);
    CHECK(summary.pushes == 2);
    CHECK(h.runner.count("build") == 1);
    CHECK(h.runner.count("login") == 2);  // two registries (regions)
    CHECK(h.runner.count("push") == 2);
    REQUIRE(summary.outcomes.size() == 2);
    for (const auto& outcome : summary.outcomes) {
        CHECK(outcome.state == State::published);
        CHECK(outcome.digest ==
              "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    }
    CHECK(summary.outcomes[0].image_uri ==
          "123456789012.dkr.ecr.us-east-1.amazonaws.com/"
          "cdk-hnb659fds-container-assets-123456789012-us-east-1:tag1");
    // Placeholders resolved from the caller's account; each role assumed once.
    const auto calls = h.sts.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].role_arn.rfind("arn:aws:iam::123456789012:role/publish-", 0) == 0);
}

TEST_CASE("what ECR already has is neither built nor pushed") {
    Harness h;
    h.ecr.tags.insert("us-east-1/cdk-hnb659fds-container-assets-123456789012-us-east-1:tag1");
    const auto selection = h.assembly({{"img", R"({"a": )" + destination("us-east-1") + "}"}});
    const auto summary = h.run(publish::Mode::publish, selection);
    CHECK(summary.ok());
    CHECK(summary.outcomes.at(0).state == State::present);
    CHECK(h.runner.commands().empty());
    CHECK(h.events_of(publish::EventType::found) == 1);
    CHECK(summary.builds == 0);
    CHECK(summary.pushes == 0);
}

TEST_CASE("existence is checked with one BatchGetImage per repository") {
    Harness h;
    h.ecr.tags.insert("us-east-1/cdk-hnb659fds-container-assets-123456789012-us-east-1:tag1");
    std::vector<std::pair<std::string, std::string>> images;
    for (int i = 0; i < 5; ++i) {
        images.emplace_back("img" + std::to_string(i),
                            R"({"a": )" + destination("us-east-1") + "}");
    }
    const auto summary = h.run(publish::Mode::publish, h.assembly(images));
    CHECK(summary.ok());
    std::size_t batches = 0;
    std::size_t describes = 0;
    for (const auto& call : h.ecr.calls()) {
        batches += call.rfind("BatchGetImage", 0) == 0 ? 1U : 0U;
        describes += call.rfind("DescribeRepositories", 0) == 0 ? 1U : 0U;
    }
    CHECK(batches == 1);
    CHECK(describes == 1);
    CHECK(h.sts.calls().size() == 1);
}

TEST_CASE("destinations written differently but naming one repository share one check") {
    Harness h;
    // As cdk synthesizes an environment-agnostic stack (placeholders, no region: the default
    // region) beside one with an explicit account and region.
    const std::string agnostic = R"({"repositoryName": ")" + k_repo + R"(", "imageTag": "tag1",
        "assumeRoleArn": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/publish-us-east-1"})";
    const std::string explicit_env =
        R"({"repositoryName": "cdk-hnb659fds-container-assets-123456789012-us-east-1",
            "imageTag": "tag2", "region": "us-east-1",
            "assumeRoleArn": "arn:aws:iam::123456789012:role/publish-us-east-1"})";
    const auto summary =
        h.run(publish::Mode::publish, h.assembly({{"img1", R"({"a": )" + agnostic + "}"},
                                                  {"img2", R"({"a": )" + explicit_env + "}"}}));
    CHECK(summary.ok());
    std::vector<std::string> batches;
    for (const auto& call : h.ecr.calls()) {
        if (call.rfind("BatchGetImage", 0) == 0) {
            batches.push_back(call);
        }
    }
    REQUIRE(batches.size() == 1);
    CHECK_THAT(batches[0], Catch::Contains("tag1") && Catch::Contains("tag2"));
}

TEST_CASE("a local image from an earlier build is reused") {
    Harness h;
    h.runner.clear_rules();
    h.runner.on("inspect", exit_code(0));
    h.runner.on("tag", exit_code(0));
    h.runner.on("login", exit_code(0));
    h.runner.on("push", exit_code(0));
    const auto summary = h.run(publish::Mode::publish,
                               h.assembly({{"img", R"({"a": )" + destination("us-east-1") + "}"}}));
    CHECK(summary.ok());
    CHECK(h.runner.count("build") == 0);
    CHECK(h.events_of(publish::EventType::cached) == 1);
    CHECK(h.runner.commands().at(0).argv ==
          std::vector<std::string>{"docker", "inspect", "cdkasset-img"});
}

TEST_CASE("a failed build fails its destinations with the output, the others publish") {
    Harness h;
    h.runner.clear_rules();
    h.runner.on("inspect", exit_code(1, "Error: No such object"));
    h.runner.on("build", exit_code(1), "step 3/3: RUN false -> exit code 1", "cdkasset-bad");
    h.runner.on("build", exit_code(0));
    h.runner.on("tag", exit_code(0));
    h.runner.on("login", exit_code(0));
    h.runner.on("push", exit_code(0));
    const auto selection = h.assembly({{"bad", R"({"a": )" + destination("us-east-1") + "}"},
                                       {"good", R"({"a": )" + destination("us-east-1") + "}"}});
    const auto summary = h.run(publish::Mode::publish, selection);
    CHECK_FALSE(summary.ok());
    const auto& bad = summary.outcomes.at(0);
    CHECK(bad.state == State::failed);
    CHECK_THAT(bad.error, Catch::Contains("build of cdkasset-bad failed"));
    CHECK(summary.outcomes.at(1).state == State::published);
    bool saw_output = false;
    for (const auto& event : h.events.events()) {
        if (event.type == publish::EventType::fail) {
            for (const auto& line : event.details) {
                saw_output = saw_output || line.find("RUN false") != std::string::npos;
            }
        }
    }
    CHECK(saw_output);
    CHECK(h.runner.count("push") == 1);
}

TEST_CASE("a missing repository fails that destination only") {
    Harness h;
    const auto selection = h.assembly(
        {{"img",
          R"({"a": {"repositoryName": "does-not-exist", "imageTag": "t", "region": "us-east-1"},
                     "b": )" +
              destination("us-east-1") + "}"}});
    const auto summary = h.run(publish::Mode::publish, selection);
    CHECK_FALSE(summary.ok());
    CHECK(summary.outcomes.at(0).state == State::failed);
    CHECK_THAT(summary.outcomes.at(0).error,
               Catch::Contains("No ECR repository named 'does-not-exist'") &&
                   Catch::Contains("Is this account bootstrapped?"));
    CHECK(summary.outcomes.at(1).state == State::published);
}

TEST_CASE("build without credentials builds everything and asks AWS nothing") {
    Harness h;
    test::FakeCredentialsProvider none(false);
    auto deps = h.dependencies(none);
    const auto selection = h.assembly({{"img", R"({"a": )" + destination("us-east-1") + "}"}});
    const auto summary = publish::run(publish::Mode::build, selection, deps, h.options);
    CHECK(summary.ok());
    CHECK(summary.outcomes.at(0).state == State::built);
    CHECK(h.runner.count("build") == 1);
    CHECK(h.runner.count("push") == 0);
    CHECK(h.ecr.calls().empty());
    CHECK(h.sts.calls().empty());
}

TEST_CASE("build --force consults nothing and rebuilds a local image") {
    Harness h;
    h.options.force = true;
    h.runner.clear_rules();
    h.runner.on("build", exit_code(0));
    const auto summary = h.run(publish::Mode::build,
                               h.assembly({{"img", R"({"a": )" + destination("us-east-1") + "}"}}));
    CHECK(summary.ok());
    CHECK(h.runner.verbs() == std::vector<std::string>{"build"});
    CHECK(h.ecr.calls().empty());
}

TEST_CASE("publish without credentials fails every destination with the reason") {
    Harness h;
    test::FakeCredentialsProvider none(false);
    auto deps = h.dependencies(none);
    const auto summary = publish::run(
        publish::Mode::publish, h.assembly({{"img", R"({"a": )" + destination("us-east-1") + "}"}}),
        deps, h.options);
    CHECK_FALSE(summary.ok());
    CHECK_THAT(summary.outcomes.at(0).error,
               Catch::StartsWith("AWS credentials: no AWS credentials"));
    CHECK(h.runner.commands().empty());
}

TEST_CASE("dry run checks ECR but builds and pushes nothing") {
    Harness h;
    h.options.dry_run = true;
    const auto summary = h.run(publish::Mode::publish,
                               h.assembly({{"img", R"({"a": )" + destination("us-east-1") + "}"}}));
    CHECK(summary.ok());
    CHECK(summary.outcomes.at(0).state == State::planned);
    CHECK(h.runner.commands().empty());
    CHECK_FALSE(h.ecr.calls().empty());
}

TEST_CASE("fail-fast skips what was not started") {
    Harness h;
    h.options.fail_fast = true;
    h.runner.clear_rules();
    h.runner.on("inspect", exit_code(1, "Error: No such object"));
    h.runner.on("login", exit_code(0));  // before the build, as cdk-assets logs in
    h.runner.on("build", exit_code(1));
    const auto summary =
        h.run(publish::Mode::publish,
              h.assembly({{"first", R"({"a": )" + destination("us-east-1") + "}"},
                          {"second", R"({"a": )" + destination("us-east-1") + "}"}}));
    CHECK_FALSE(summary.ok());
    CHECK(summary.outcomes.at(0).state == State::failed);
    CHECK(summary.outcomes.at(1).state == State::skipped);
    CHECK_THAT(summary.outcomes.at(1).error, Catch::Contains("--fail-fast"));
    CHECK(h.runner.count("build") == 1);
}

TEST_CASE("one login per registry and identity for many images") {
    Harness h;
    const auto summary = h.run(publish::Mode::publish,
                               h.assembly({{"a1", R"({"a": )" + destination("us-east-1") + "}"},
                                           {"a2", R"({"a": )" + destination("us-east-1") + "}"},
                                           {"a3", R"({"a": )" + destination("us-east-1") + "}"}}));
    CHECK(summary.ok());
    CHECK(h.runner.count("login") == 1);
    CHECK(h.runner.count("push") == 3);
    // The password goes through stdin only.
    for (const auto& command : h.runner.commands()) {
        if (command.argv.at(1) == "login") {
            CHECK(command.input == "pw");
            CHECK(std::find(command.argv.begin(), command.argv.end(), "pw") == command.argv.end());
        }
    }
}

TEST_CASE("logins to two registries never run at once: docker login rewrites one config.json") {
    Harness h;
    std::mutex mutex;
    std::condition_variable changed;
    int active = 0;
    int most = 0;
    h.runner.add([&](const process::Command& command) -> std::optional<process::Result> {
        if (command.argv.size() < 2 || command.argv[1] != "login") {
            return std::nullopt;
        }
        std::unique_lock lock(mutex);
        most = std::max(most, ++active);
        changed.notify_all();
        // Room for the other destination's login to arrive meanwhile (it does, unserialised).
        changed.wait_for(lock, std::chrono::milliseconds(500), [&] { return active > 1; });
        --active;
        return exit_code(0);
    });
    const auto summary =
        h.run(publish::Mode::publish,
              h.assembly({{"img", R"({"a": )" + destination("us-east-1") + R"(, "b": )" +
                                      destination("eu-west-1") + "}"}}));
    CHECK(summary.ok());
    CHECK(h.runner.count("login") == 2);
    CHECK(most == 1);
}

TEST_CASE("an immutable tag that appears during the push counts as published") {
    Harness h;
    const std::string repo = "us-east-1/cdk-hnb659fds-container-assets-123456789012-us-east-1";
    h.ecr.immutable.insert(repo);
    // Another job publishes the tag between our check and our push; the registry refuses ours.
    h.ecr.published_concurrently.insert(repo + ":tag1");
    h.runner.clear_rules();
    h.runner.on("inspect", exit_code(0));
    h.runner.on("tag", exit_code(0));
    h.runner.on("login", exit_code(0));
    h.runner.on("push", exit_code(1, "tag invalid: The image tag 'tag1' already exists"));
    const auto summary = h.run(publish::Mode::publish,
                               h.assembly({{"img", R"({"a": )" + destination("us-east-1") + "}"}}));
    CHECK(summary.ok());
    CHECK(summary.outcomes.at(0).state == State::present);
}

TEST_CASE("a push that fails once is tried again") {
    Harness h;
    std::atomic<int> pushes{0};
    h.runner.add([&](const process::Command& command) -> std::optional<process::Result> {
        if (command.argv.at(1) == "push" && pushes++ == 0) {
            return exit_code(1, "blob upload unknown");
        }
        return std::nullopt;
    });
    const auto summary = h.run(publish::Mode::publish,
                               h.assembly({{"img", R"({"a": )" + destination("us-east-1") + "}"}}));
    CHECK(summary.ok());
    CHECK(summary.outcomes.at(0).state == State::published);
    CHECK(h.runner.count("push") == 2);
}

TEST_CASE("a refused push to a mutable repository is a failure") {
    Harness h;
    h.runner.clear_rules();
    h.runner.on("inspect", exit_code(0));
    h.runner.on("tag", exit_code(0));
    h.runner.on("login", exit_code(0));
    h.runner.on("push", exit_code(1, "denied: not allowed"));
    const auto summary = h.run(publish::Mode::publish,
                               h.assembly({{"img", R"({"a": )" + destination("us-east-1") + "}"}}));
    CHECK_FALSE(summary.ok());
    CHECK(summary.outcomes.at(0).state == State::failed);
    CHECK(h.runner.count("push") == 3);  // tried three times
}

TEST_CASE("the digest is read from docker push output") {
    CHECK(publish::digest_from_push_output(
              "The push refers to repository [x]\n5f70bf18a086: Pushed\n"
              "t: digest: sha256:abc123 size: 528\n") == "sha256:abc123");
    CHECK(publish::digest_from_push_output("nothing here").empty());
}

TEST_CASE("the engine is only required when something must be built or pushed") {
    Harness h;
    int asked = 0;
    h.ecr.tags.insert("us-east-1/cdk-hnb659fds-container-assets-123456789012-us-east-1:tag1");
    auto deps = h.dependencies();
    deps.require_engine = [&] { ++asked; };
    const auto present = h.assembly({{"img", R"({"a": )" + destination("us-east-1") + "}"}});
    CHECK(publish::run(publish::Mode::publish, present, deps, h.options).ok());
    CHECK(asked == 0);

    deps.require_engine = [] { throw std::runtime_error("engine down"); };
    const auto missing = h.assembly({{"img", R"({"a": )" + destination("eu-west-1") + "}"}});
    CHECK_THROWS_WITH(publish::run(publish::Mode::publish, missing, deps, h.options),
                      "engine down");
}

// --- image tarballs pushed without the engine ------------------------------------------------

namespace {

// Records prepare/push calls; answers with a fixed report or throws what the test asks.
// What the fake "sends" per push (its report and its one progress call).
constexpr std::uint64_t k_pushed_bytes = 1234;

class FakeNativePusher final : public image::NativePusher {
  public:
    struct Push {
        std::string host;
        std::string repository;
        std::string tag;
        std::optional<registry::Credentials> login;
    };

    std::function<void()> prepare_throws;
    std::function<void()> push_throws;

    std::shared_ptr<const image::PreparedImage> prepare(const std::filesystem::path& source,
                                                        const image::ImageSelector& selector,
                                                        bool check_only) override {
        std::lock_guard lock(mutex_);
        prepares.push_back({source, selector, check_only});
        if (prepare_throws) {
            prepare_throws();
        }
        return std::make_shared<Prepared>();
    }

    std::shared_ptr<const image::PreparedImage> prepare_engine_image(image::EngineImageInfo info,
                                                                     SaveStream,
                                                                     std::string label) override {
        std::lock_guard lock(mutex_);
        engine_images.push_back({info.id.str(), label});
        return std::make_shared<Prepared>(info.id.str());
    }

    void warm_up(const std::string& host, const std::string&,
                 std::shared_ptr<registry::CredentialsSource>) override {
        std::lock_guard lock(mutex_);
        warm_ups.push_back(host);
    }

    image::NativePushReport push(const image::PreparedImage&, const std::string& host,
                                 const std::string&,
                                 std::shared_ptr<registry::CredentialsSource> credentials,
                                 const std::string& repository, const std::string& tag,
                                 const image::BytesMoved& moved) override {
        auto login = credentials->get(false);
        if (moved) {
            moved(k_pushed_bytes);
        }
        std::lock_guard lock(mutex_);
        pushes.push_back({host, repository, tag, login});
        if (push_throws) {
            push_throws();
        }
        image::NativePushReport report;
        report.digest = registry::Digest::sha256_of("manifest");
        report.blobs_uploaded = 3;
        report.blobs_present = 1;
        report.bytes_uploaded = k_pushed_bytes;
        return report;
    }

    struct Prepare {
        std::filesystem::path source;
        image::ImageSelector selector;
        bool check_only = false;
    };
    std::vector<Prepare> prepares;
    struct EngineImage {
        std::string id;
        std::string label;
    };
    std::vector<EngineImage> engine_images;
    std::vector<Push> pushes;
    std::vector<std::string> warm_ups;

  private:
    class Prepared final : public image::PreparedImage {
      public:
        explicit Prepared(std::string id = "sha256:" + std::string(64, 'c')) : id_(std::move(id)) {}
        std::string describe() const override { return "fake image"; }
        image::ImageReport report() const override { return {id_, false, 0, 2, 0, 0}; }

      private:
        std::string id_;
    };
    std::mutex mutex_;
};

constexpr const char* k_cdk_tarball_command =
    R"(["sh", "-c", "docker load -i \"$1\" | tail -n 1 | sed \"s/Loaded image[^:]*: //g\"", )"
    R"("cdk-tarball-image-asset", "asset.t.tar"])";

struct NativeHarness : Harness {
    FakeNativePusher tarballs;
    int engine_checks = 0;

    manifest::Selection tarball_assembly(const std::string& source_json,
                                         const std::string& destinations) {
        dir.write("asset.t.tar", "not read by the fake");
        dir.write("images.tar", "not read by the fake");
        const auto file = dir.write(
            "S.assets.json", R"({"version": "55.0.0", "dockerImages": {"t": {"source": )" +
                                 source_json + R"(, "destinations": )" + destinations + "}}}");
        return manifest::select_assets(manifest::load_assembly(file), {});
    }

    publish::Summary run_native(publish::Mode mode, const manifest::Selection& selection) {
        auto deps = dependencies();
        deps.native = &tarballs;
        deps.require_engine = [this] { ++engine_checks; };
        return publish::run(mode, selection, deps, options);
    }
};

}  // namespace

TEST_CASE("a CDK tarball asset is read once and pushed natively to every destination") {
    NativeHarness h;
    const auto selection = h.tarball_assembly(
        std::string(R"({"executable": )") + k_cdk_tarball_command + "}",
        R"({"a": )" + destination("us-east-1") + R"(, "b": )" + destination("eu-west-1") + "}");
    const auto summary = h.run_native(publish::Mode::publish, selection);

    CHECK(summary.ok());
    REQUIRE(h.tarballs.prepares.size() == 1);
    CHECK(h.tarballs.prepares[0].source.filename() == "asset.t.tar");
    CHECK(h.tarballs.prepares[0].selector.last_loaded);  // what `docker load | tail -n 1` picks
    CHECK_FALSE(h.tarballs.prepares[0].selector.tag);
    CHECK_FALSE(h.tarballs.prepares[0].check_only);
    REQUIRE(h.tarballs.pushes.size() == 2);
    for (const auto& push : h.tarballs.pushes) {
        CHECK(push.tag == "tag1");
        REQUIRE(push.login);
        CHECK(push.login->username == "AWS");  // the ECR authorization token's login
    }
    CHECK(h.engine_checks == 0);             // no engine needed at all
    CHECK(h.tarballs.warm_ups.size() == 2);  // one per registry, while the tags were checked
    CHECK(h.runner.commands().empty());
    for (const auto& outcome : summary.outcomes) {
        CHECK(outcome.state == State::published);
        CHECK(outcome.method == "native");
        REQUIRE(outcome.upload);
        CHECK(outcome.upload->blobs_uploaded == 3);
        CHECK(outcome.digest == registry::Digest::sha256_of("manifest").str());
    }
}

TEST_CASE("a directory source naming a tarball with #tag picks that image") {
    NativeHarness h;
    const auto selection = h.tarball_assembly(R"({"directory": "images.tar#app:v2"})",
                                              R"({"a": )" + destination("us-east-1") + "}");
    const auto summary = h.run_native(publish::Mode::publish, selection);

    CHECK(summary.ok());
    REQUIRE(h.tarballs.prepares.size() == 1);
    CHECK(h.tarballs.prepares[0].source.filename() == "images.tar");
    CHECK(h.tarballs.prepares[0].selector.tag == std::optional<std::string>("app:v2"));
    CHECK_FALSE(h.tarballs.prepares[0].selector.last_loaded);
}

TEST_CASE("build mode only checks a tarball, and --tarball-mode docker loads it into the engine") {
    SECTION("build") {
        NativeHarness h;
        const auto selection = h.tarball_assembly(R"({"directory": "images.tar"})",
                                                  R"({"a": )" + destination("us-east-1") + "}");
        const auto summary = h.run_native(publish::Mode::build, selection);
        CHECK(summary.ok());
        REQUIRE(h.tarballs.prepares.size() == 1);
        CHECK(h.tarballs.prepares[0].check_only);
        CHECK(h.tarballs.pushes.empty());
        CHECK(summary.outcomes.at(0).state == State::built);
    }
    SECTION("docker mode") {
        NativeHarness h;
        h.options.tarball_mode = publish::TarballMode::docker;
        auto loaded = exit_code(0);
        loaded.out = "Loaded image: app:v1\n";
        h.runner.on("load", loaded);
        const auto selection =
            h.tarball_assembly(std::string(R"({"executable": )") + k_cdk_tarball_command + "}",
                               R"({"a": )" + destination("us-east-1") + "}");
        const auto summary = h.run_native(publish::Mode::publish, selection);
        INFO(summary.outcomes.at(0).error);
        CHECK(summary.ok());
        CHECK(h.tarballs.prepares.empty());
        CHECK(h.engine_checks == 1);
        CHECK(h.runner.count("load") == 1);
        CHECK(h.runner.count("push") == 1);
        CHECK(summary.outcomes.at(0).method == "docker");
    }
}

TEST_CASE(
    "a bad tarball fails each of its destinations, and a failed native push names the image") {
    SECTION("prepare fails") {
        NativeHarness h;
        h.tarballs.prepare_throws = [] {
            throw image::ImageError("images.tar: entry '../evil' leaves the archive");
        };
        const auto selection = h.tarball_assembly(
            R"({"directory": "images.tar"})",
            R"({"a": )" + destination("us-east-1") + R"(, "b": )" + destination("eu-west-1") + "}");
        const auto summary = h.run_native(publish::Mode::publish, selection);
        CHECK_FALSE(summary.ok());
        CHECK(h.tarballs.pushes.empty());
        for (const auto& outcome : summary.outcomes) {
            CHECK(outcome.state == State::failed);
            CHECK_THAT(outcome.error, Catch::Contains("'../evil'"));
        }
    }
    SECTION("push fails") {
        NativeHarness h;
        h.tarballs.push_throws = [] { throw std::runtime_error("HTTP 500"); };
        const auto selection = h.tarball_assembly(R"({"directory": "images.tar"})",
                                                  R"({"a": )" + destination("us-east-1") + "}");
        const auto summary = h.run_native(publish::Mode::publish, selection);
        CHECK_FALSE(summary.ok());
        const auto& outcome = summary.outcomes.at(0);
        CHECK(outcome.state == State::failed);
        CHECK(outcome.error ==
              "push to 123456789012.dkr.ecr.us-east-1.amazonaws.com/"
              "cdk-hnb659fds-container-assets-123456789012-us-east-1:tag1: HTTP 500");
    }
}

TEST_CASE("a native push the registry's certificate refuses says how to trust it") {
    NativeHarness h;
    h.tarballs.push_throws = [] {
        throw http::TransportError(http::TransportErrorKind::tls,
                                   "GET https://r/v2/: SSL certificate problem");
    };
    const auto selection = h.tarball_assembly(R"({"directory": "images.tar"})",
                                              R"({"a": )" + destination("us-east-1") + "}");
    const auto summary = h.run_native(publish::Mode::publish, selection);
    const auto& outcome = summary.outcomes.at(0);
    CHECK(outcome.state == State::failed);
    CHECK_THAT(outcome.error, Catch::Contains("AWS_CA_BUNDLE"));
}

TEST_CASE("a built image under --push-mode native: inspected once, pushed natively, no login") {
    NativeHarness h;
    const std::string id = "sha256:" + std::string(64, 'a');
    const std::string layer = "sha256:" + std::string(64, 'b');
    auto inspected = exit_code(0);
    inspected.out = R"([{"Id": ")" + id + R"(", "Os": "linux", "Architecture": "amd64", )" +
                    R"("RootFS": {"Type": "layers", "Layers": [")" + layer + R"("]}}])";
    h.runner.on("image", inspected);
    const auto selection = h.assembly({{"img", R"({"a": )" + destination("us-east-1") +
                                                   R"(, "b": )" + destination("eu-west-1") + "}"}});
    const auto summary = h.run_native(publish::Mode::publish, selection);

    for (const auto& outcome : summary.outcomes) {
        INFO(outcome.destination + ": " + outcome.error);
        CHECK(outcome.error.empty());
    }
    CHECK(summary.ok());
    CHECK(h.runner.count("build") == 1);
    CHECK(h.runner.count("image") == 1);  // `image inspect`, once for both destinations
    CHECK(h.runner.count("login") == 0);
    CHECK(h.runner.count("tag") == 0);
    CHECK(h.runner.count("push") == 0);
    REQUIRE(h.tarballs.engine_images.size() == 1);
    CHECK(h.tarballs.engine_images[0].id == id);
    CHECK_THAT(h.tarballs.engine_images[0].label, Catch::Contains("img"));
    CHECK(h.tarballs.pushes.size() == 2);
    for (const auto& outcome : summary.outcomes) {
        CHECK(outcome.state == State::published);
        CHECK(outcome.method == "native");
    }
    REQUIRE(summary.images.size() == 1);
    CHECK(summary.images[0].asset == "img");
    CHECK(summary.images[0].report.image_id == id);
}

TEST_CASE("push mode docker keeps docker login and push for built images") {
    NativeHarness h;
    h.options.push_mode = publish::PushMode::docker;
    const auto selection = h.assembly({{"img", R"({"a": )" + destination("us-east-1") + "}"}});
    const auto summary = h.run_native(publish::Mode::publish, selection);

    CHECK(summary.ok());
    CHECK(h.runner.count("image") == 0);
    CHECK(h.runner.count("login") == 1);
    CHECK(h.runner.count("push") == 1);
    CHECK(h.tarballs.engine_images.empty());
    CHECK(summary.images.empty());
}

// --- logins before builds (cdk-assets' dockerFactory.forBuild) ---------------------------------

namespace {

// The position of the first engine command `verb`, or npos.
std::size_t first_command(const test::FakeProcessRunner& runner, const std::string& verb) {
    const auto commands = runner.commands();
    for (std::size_t i = 0; i < commands.size(); ++i) {
        if (commands[i].argv.size() > 1 && commands[i].argv[1] == verb) {
            return i;
        }
    }
    return std::string::npos;
}

// One image asset at us-east-1 whose source has `extra` (JSON members after "directory").
manifest::Selection image_with(Harness& h, const std::string& extra) {
    h.dir.write("asset.img/Dockerfile", "FROM scratch\n");
    const auto file =
        h.dir.write("S.assets.json", R"({"version": "55.0.0", "dockerImages": {"img": {"source": )"
                                     R"({"directory": "asset.img")" +
                                         extra + R"(}, "destinations": {"a": )" +
                                         destination("us-east-1") + "}}}}");
    return manifest::select_assets(manifest::load_assembly(file), {});
}

const std::string k_registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

}  // namespace

TEST_CASE("docker pushes: the engine logs in to the destination before it builds") {
    Harness h;
    const auto summary = h.run(publish::Mode::publish, image_with(h, ""));
    CHECK(summary.ok());
    CHECK(h.runner.count("login") == 1);  // once: the push reuses it
    REQUIRE(first_command(h.runner, "login") != std::string::npos);
    CHECK(first_command(h.runner, "login") < first_command(h.runner, "build"));
}

TEST_CASE("a CDK docker credentials file gives builds their logins: the login waits for the push") {
    Harness h;
    auto deps = h.dependencies();
    deps.log_in_before_builds = false;
    const auto summary = publish::run(publish::Mode::publish, image_with(h, ""), deps, h.options);
    CHECK(summary.ok());
    CHECK(h.runner.count("login") == 1);
    CHECK(first_command(h.runner, "build") < first_command(h.runner, "login"));
}

TEST_CASE("native pushes log the engine in before a build only for a cache at the destination") {
    NativeHarness h;
    h.options.push_mode = publish::PushMode::native;
    auto inspected = exit_code(0);
    inspected.out = R"([{"Id": "sha256:)" + std::string(64, 'a') +
                    R"(", "Os": "linux", "Architecture": "amd64", "RootFS": {"Layers": ["sha256:)" +
                    std::string(64, 'b') + R"("]}}])";
    h.runner.on("image", inspected);
    docker::PrivateDockerConfig config(std::nullopt);
    auto deps = h.dependencies();
    deps.native = &h.tarballs;
    deps.docker_config = &config;

    SECTION("cacheFrom names the destination's registry") {
        const auto summary = publish::run(
            publish::Mode::publish,
            image_with(h, R"(, "cacheFrom": [{"type": "registry", "params": {"ref": ")" +
                              k_registry + R"(/cache:latest"}}])"),
            deps, h.options);
        CHECK(summary.outcomes.at(0).error == "");
        CHECK(h.runner.count("login") == 1);
        CHECK(first_command(h.runner, "login") < first_command(h.runner, "build"));
        CHECK(h.runner.count("push") == 0);  // still pushed natively
    }
    SECTION("cacheTo names the destination's registry") {
        const auto summary =
            publish::run(publish::Mode::publish,
                         image_with(h, R"(, "cacheTo": {"type": "registry", "params": {"ref": ")" +
                                           k_registry + R"(/cache:latest", "mode": "max"}})"),
                         deps, h.options);
        CHECK(summary.outcomes.at(0).error == "");
        CHECK(h.runner.count("login") == 1);
    }
    SECTION("a cache elsewhere, or none: no login") {
        const auto summary = publish::run(
            publish::Mode::publish,
            image_with(h, R"(, "cacheFrom": [{"type": "registry", "params": {"ref": )"
                          R"("ghcr.io/org/cache:1"}}, {"type": "local", "params": {"src": "c"}}])"),
            deps, h.options);
        CHECK(summary.outcomes.at(0).error == "");
        CHECK(h.runner.count("login") == 0);
    }
}

TEST_CASE(
    "a second identity's login to a registry keeps the first one's entry until it replaces "
    "it") {
    // Two roles, one registry: a push of the first identity may be reading config.json while
    // the second logs in, so the host's entry must never be missing meanwhile.
    Harness h;
    test::TempDir user;
    user.write("config.json", R"({"auths": {")" + k_registry + R"(": {"auth": "dXNlcjpwdw=="}}})");
    docker::PrivateDockerConfig config(user.path());
    std::vector<bool> entry_there_at_login;
    h.runner.add([&](const process::Command& command) -> std::optional<process::Result> {
        if (command.argv.size() < 2 || command.argv[1] != "login") {
            return std::nullopt;
        }
        const auto text = util::read_file(config.path() / "config.json");
        entry_there_at_login.push_back(text.find(k_registry) != std::string::npos);
        if (entry_there_at_login.size() == 1) {  // what docker login writes
            util::write_file_atomically(
                config.path() / "config.json",
                R"({"auths": {")" + k_registry + R"(": {"auth": "QVdTOnB3"}}})",
                std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
        }
        return exit_code(0);
    });
    const auto role = [](const std::string& name) {
        return R"({"repositoryName": ")" + k_repo +
               R"(", "imageTag": "tag1", "region": "us-east-1", "assumeRoleArn": )"
               R"("arn:aws:iam::123456789012:role/)" +
               name + R"("})";
    };
    const auto selection =
        h.assembly({{"img", R"({"a": )" + role("one") + R"(, "b": )" + role("two") + "}"}});
    auto deps = h.dependencies();
    deps.docker_config = &config;
    const auto summary = publish::run(publish::Mode::publish, selection, deps, h.options);
    CHECK(summary.ok());
    // The user's entry goes before the first login; the second login finds the first's.
    CHECK(entry_there_at_login == std::vector<bool>{false, true});
}
