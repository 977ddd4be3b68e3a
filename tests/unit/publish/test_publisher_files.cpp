// The publisher's file assets over fakes (FakeS3, FakeStsApi) and real files: which S3 calls
// happen for which situation, what is packaged, and the outcomes.
#include <catch2/catch.hpp>

#include "crypto/crypto.hpp"
#include "publish/publisher.hpp"
#include "support/fake_credentials.hpp"
#include "support/fake_ecr.hpp"
#include "support/fake_process.hpp"
#include "support/fake_s3.hpp"
#include "support/fake_sts.hpp"
#include "support/temp_dir.hpp"
#include "util/clock.hpp"

using namespace assetctl;
using State = publish::Outcome::State;
using Kind = aws::BucketEncryption::Kind;

namespace {

const std::string k_account = "123456789012";
const std::string k_bucket = "cdk-hnb659fds-assets-123456789012-us-east-1";

// A destination into the bootstrap bucket of `region`, as CDK writes it.
std::string file_destination(const std::string& key, const std::string& region = "us-east-1",
                             const std::string& bucket = "",
                             const std::string& role_account = "${AWS::AccountId}") {
    return R"({"bucketName": ")" +
           (bucket.empty() ? "cdk-hnb659fds-assets-${AWS::AccountId}-" + region : bucket) +
           R"(", "objectKey": ")" + key + R"(", "region": ")" + region +
           R"(", "assumeRoleArn": "arn:${AWS::Partition}:iam::)" + role_account +
           R"(:role/cdk-hnb659fds-file-publishing-role"})";
}

struct Harness {
    test::TempDir dir;
    test::FakeCredentialsProvider credentials;
    test::FakeStsApi sts;
    test::FakeEcr ecr;
    test::FakeS3 s3;
    util::FixedClock clock{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}};
    aws::AssumedRoleCache roles{sts, clock, "assetctl-test"};
    test::FakeProcessRunner runner;
    docker::EngineClient engine{runner, "docker"};
    publish::RecordingEventSink events;
    publish::Options options;

    Harness() {
        options.publish_jobs = 3;
        s3.add_bucket(k_bucket, "us-east-1", k_account);
        s3.add_bucket("cdk-hnb659fds-assets-123456789012-eu-west-1", "eu-west-1", k_account);
    }

    // A manifest of file assets: {id, source json, destinations json}.
    manifest::Selection assembly(
        const std::vector<std::tuple<std::string, std::string, std::string>>& files) {
        std::string body;
        for (const auto& [id, source, destinations] : files) {
            body += (body.empty() ? "" : ",") + std::string("\"") + id + R"(": {"source": )" +
                    source + R"(, "destinations": )" + destinations + "}";
        }
        const auto file =
            dir.write("S.assets.json", R"({"version": "55.0.0", "files": {)" + body + "}}");
        return manifest::select_assets(manifest::load_assembly(file), {});
    }

    // A zip asset of a small folder, with one destination per key given.
    manifest::Selection zip_asset(const std::string& id, const std::vector<std::string>& dests) {
        dir.write("asset." + id + "/index.js", "exports.handler = async () => 'hi';\n");
        dir.write("asset." + id + "/lib/util.js", "module.exports = 1;\n");
        std::string destinations;
        for (const auto& dest : dests) {
            destinations += (destinations.empty() ? "" : ",") + dest;
        }
        return assembly({{id, R"({"path": "asset.)" + id + R"(", "packaging": "zip"})",
                          "{" + destinations + "}"}});
    }

    publish::Summary run(publish::Mode mode, const manifest::Selection& selection) {
        publish::Dependencies deps{.aws = {.credentials = credentials,
                                           .sts = sts,
                                           .ecr = ecr,
                                           .roles = roles,
                                           .s3 = &s3,
                                           .default_region = "us-east-1"},
                                   .engine = engine,
                                   .processes = runner,
                                   .events = events};
        return publish::run(mode, selection, deps, options);
    }
};

std::string destinations_json(const std::string& key) {
    return R"({"d1": )" + file_destination(key) + "}";
}

}  // namespace

TEST_CASE("a missing file is put with its content type and the bucket's encryption") {
    Harness h;
    h.s3.add_bucket(k_bucket, "us-east-1", k_account).encryption = {Kind::kms, "arn:key/1"};
    h.dir.write("template.json", R"({"Resources": {}})");
    const auto selection =
        h.assembly({{"tmpl", R"({"path": "template.json"})", destinations_json("tmpl.json")}});

    const auto summary = h.run(publish::Mode::publish, selection);

    REQUIRE(summary.outcomes.size() == 1);
    const auto& outcome = summary.outcomes[0];
    CHECK(outcome.kind == publish::Outcome::Kind::file);
    CHECK(outcome.state == State::published);
    CHECK(outcome.object_url == "s3://" + k_bucket + "/tmpl.json");
    CHECK(outcome.method == "put");
    CHECK(summary.uploads == 1);
    const auto object = h.s3.object(k_bucket, "tmpl.json");
    REQUIRE(object);
    CHECK(object->bytes == R"({"Resources": {}})");
    CHECK(object->content_type == "application/json");
    CHECK(object->encryption.kind == Kind::kms);
    CHECK(object->encryption.kms_key_id == "arn:key/1");
    // The owner is the role's account, on every call.
    for (const auto& call : h.s3.calls()) {
        CHECK(call.expected_owner == k_account);
        CHECK(call.caller_access_key_id.rfind("ASIA-STS-", 0) == 0);
    }
    CHECK(h.s3.surprises().list().empty());
}

TEST_CASE("a present object is not packaged or uploaded, and an empty zip counts as missing") {
    Harness h;
    const auto selection = h.zip_asset(
        "code", {R"("a": )" + file_destination("a.zip"), R"("b": )" + file_destination("b.zip")});
    h.s3.add_object(k_bucket, "a.zip", std::string(100, 'x'));
    h.s3.add_object(k_bucket, "b.zip", std::string(22, 'x'));  // an empty zip

    const auto summary = h.run(publish::Mode::publish, selection);

    REQUIRE(summary.outcomes.size() == 2);
    CHECK(summary.outcomes[0].state == State::present);
    CHECK(summary.outcomes[1].state == State::published);
    CHECK(h.s3.count("PutObject") == 1);
    CHECK(h.s3.calls_of("PutObject").at(0).key == "b.zip");
    CHECK(h.s3.object(k_bucket, "b.zip")->content_type == "application/zip");
}

TEST_CASE("a zip is made once for several destinations and reused by the next run") {
    Harness h;
    const auto selection =
        h.zip_asset("code", {R"("east": )" + file_destination("c.zip"),
                             R"("west": )" + file_destination("c.zip", "eu-west-1")});

    auto summary = h.run(publish::Mode::publish, selection);
    CHECK(summary.ok());
    REQUIRE(summary.files.size() == 1);
    CHECK(summary.files[0].zipped);
    CHECK(h.s3.count("PutObject") == 2);
    CHECK(h.s3.object(k_bucket, "c.zip")->bytes ==
          h.s3.object("cdk-hnb659fds-assets-123456789012-eu-west-1", "c.zip")->bytes);

    // Both objects are there now: nothing is zipped or put.
    summary = h.run(publish::Mode::publish, selection);
    CHECK(summary.files.empty());
    CHECK(h.s3.count("PutObject") == 2);
    for (const auto& outcome : summary.outcomes) {
        CHECK(outcome.state == State::present);
    }
}

TEST_CASE("a zip cached by an earlier run is uploaded without zipping again") {
    Harness h;
    const auto selection = h.zip_asset("code", {R"("d": )" + file_destination("k.zip")});
    // With its checksum, as assetctl writes it beside a zip it made.
    h.dir.write(".cache/code.zip", "PK-cached-by-an-earlier-run");
    h.dir.write(".cache/code.zip.sha256",
                assetctl::crypto::sha256_hex("PK-cached-by-an-earlier-run") + "\n");

    const auto summary = h.run(publish::Mode::publish, selection);

    REQUIRE(summary.files.size() == 1);
    CHECK_FALSE(summary.files[0].zipped);
    CHECK(h.s3.object(k_bucket, "k.zip")->bytes == "PK-cached-by-an-earlier-run");
}

TEST_CASE("a bucket of another account is refused before anything is written") {
    Harness h;
    h.s3.add_bucket("foreign-bucket", "us-east-1", "999999999999");
    h.dir.write("f.txt", "hello");
    const auto selection = h.assembly(
        {{"f", R"({"path": "f.txt"})",
          R"({"d": )" + file_destination("f.txt", "us-east-1", "foreign-bucket") + "}"}});

    const auto summary = h.run(publish::Mode::publish, selection);

    REQUIRE(summary.outcomes.size() == 1);
    CHECK(summary.outcomes[0].state == State::failed);
    CHECK_THAT(summary.outcomes[0].error,
               Catch::Contains("foreign-bucket") && Catch::Contains("123456789012"));
    CHECK(h.s3.count("PutObject") == 0);
    CHECK(h.s3.count("CreateMultipartUpload") == 0);
    CHECK(h.s3.object_count("foreign-bucket") == 0);
}

TEST_CASE("a missing bucket names the account to bootstrap") {
    Harness h;
    h.dir.write("f.txt", "hello");
    const auto selection = h.assembly(
        {{"f", R"({"path": "f.txt"})",
          R"({"d": )" + file_destination("f.txt", "us-east-1", "no-such-bucket") + "}"}});

    const auto summary = h.run(publish::Mode::publish, selection);

    CHECK(summary.outcomes.at(0).state == State::failed);
    CHECK_THAT(summary.outcomes[0].error,
               Catch::Contains("no-such-bucket") && Catch::Contains("cdk bootstrap"));
}

TEST_CASE("the bucket's owner and encryption are asked once per bucket and identity") {
    Harness h;
    h.s3.add_bucket(k_bucket, "us-east-1", k_account).encryption = {Kind::aes256, ""};
    std::vector<std::tuple<std::string, std::string, std::string>> files;
    for (int i = 0; i < 5; ++i) {
        const auto name = "f" + std::to_string(i) + ".txt";
        h.dir.write(name, "content " + name);
        files.emplace_back("f" + std::to_string(i), R"({"path": ")" + name + R"("})",
                           destinations_json(name));
    }
    const auto summary = h.run(publish::Mode::publish, h.assembly(files));

    CHECK(summary.ok());
    CHECK(summary.uploads == 5);
    CHECK(h.s3.count("ListObjectsV2") == 5);
    CHECK(h.s3.count("GetBucketLocation") == 1);
    CHECK(h.s3.count("GetBucketEncryption") == 1);
    for (const auto& call : h.s3.calls_of("PutObject")) {
        CHECK(call.write->encryption.kind == Kind::aes256);
    }
}

TEST_CASE("encryption the caller may not read means no header") {
    Harness h;
    h.s3.add_bucket(k_bucket, "us-east-1", k_account).encryption = {Kind::access_denied, ""};
    h.dir.write("f.txt", "hello");
    const auto summary = h.run(publish::Mode::publish,
                               h.assembly({{"f", R"({"path": "f.txt"})", destinations_json("f")}}));

    CHECK(summary.ok());
    const auto puts = h.s3.calls_of("PutObject");
    REQUIRE(puts.size() == 1);
    CHECK(puts[0].write->encryption.kind == Kind::access_denied);
}

TEST_CASE("a refused check fails the target with S3's words while the others go on") {
    Harness h;
    h.dir.write("a.txt", "a");
    h.dir.write("b.txt", "b");
    h.s3.fail_on("ListObjectsV2", 1, test::FakeS3::access_denied("ListObjectsV2"));
    h.options.publish_jobs = 1;  // the first check is a's
    const auto summary = h.run(publish::Mode::publish,
                               h.assembly({{"a", R"({"path": "a.txt"})", destinations_json("a")},
                                           {"b", R"({"path": "b.txt"})", destinations_json("b")}}));

    REQUIRE(summary.outcomes.size() == 2);
    CHECK(summary.outcomes[0].state == State::failed);
    CHECK_THAT(summary.outcomes[0].error, Catch::Contains("AccessDenied"));
    CHECK(summary.outcomes[1].state == State::published);
}

TEST_CASE("an executable file asset uploads the file its command printed") {
    Harness h;
    h.dir.write("out/generated.txt", "generated");
    std::filesystem::path ran_in;
    h.runner.add([&ran_in](const process::Command& command) -> std::optional<process::Result> {
        if (command.argv != std::vector<std::string>{"make-file", "--fast"}) {
            return std::nullopt;
        }
        ran_in = command.working_directory.value_or("");
        process::Result printed;
        printed.exit_code = 0;
        printed.out = "out/generated.txt\n";
        return printed;
    });
    const auto summary = h.run(publish::Mode::publish,
                               h.assembly({{"gen", R"({"executable": ["make-file", "--fast"]})",
                                            destinations_json("gen.txt")}}));

    INFO(summary.outcomes.at(0).error);
    CHECK(summary.ok());
    CHECK(h.s3.object(k_bucket, "gen.txt")->bytes == "generated");
    CHECK(h.runner.count("--fast") == 1);
    CHECK(ran_in == h.dir.path());
}

TEST_CASE("a dry run plans file uploads and writes nothing") {
    Harness h;
    h.options.dry_run = true;
    const auto summary = h.run(publish::Mode::publish,
                               h.zip_asset("code", {R"("d": )" + file_destination("z.zip")}));

    CHECK(summary.outcomes.at(0).state == State::planned);
    CHECK(h.s3.count("PutObject") == 0);
    CHECK_FALSE(std::filesystem::exists(h.dir.path() / ".cache" / "code.zip"));
}

TEST_CASE("build mode packages missing file assets and uploads nothing") {
    Harness h;
    const auto summary =
        h.run(publish::Mode::build, h.zip_asset("code", {R"("d": )" + file_destination("z.zip")}));

    CHECK(summary.outcomes.at(0).state == State::built);
    CHECK(std::filesystem::exists(h.dir.path() / ".cache" / "code.zip"));
    CHECK(h.s3.count("PutObject") == 0);
}
