#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "docker/private_docker_config.hpp"
#include "support/temp_dir.hpp"
#include "util/files.hpp"

using namespace assetctl;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Sets an environment variable for one test and restores it after (tests run one at a time).
class ScopedEnv {
  public:
    ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
        if (const char* old = std::getenv(name_.c_str())) {
            old_ = old;
        }
        ::setenv(name_.c_str(), value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (old_) {
            ::setenv(name_.c_str(), old_->c_str(), 1);
        } else {
            ::unsetenv(name_.c_str());
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

  private:
    std::string name_;
    std::optional<std::string> old_;
};

unsigned mode_of(const fs::path& path) {
    struct stat info {};
    REQUIRE(::lstat(path.c_str(), &info) == 0);
    return static_cast<unsigned>(info.st_mode) & 07777U;
}

json private_config(const docker::PrivateDockerConfig& config) {
    return json::parse(util::read_file(config.path() / "config.json"));
}

const char* const k_ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

// A user config with every kind of key the private copy has to keep.
json rich_user_config() {
    return json{
        {"auths",
         {{"ghcr.io", {{"auth", "dXNlcjpwYXNz"}}},
          {"https://index.docker.io/v1/", {{"auth", "aHViOnB3"}}}}},
        {"credHelpers", {{"public.ecr.aws", "ecr-login"}, {"gcr.io", "gcloud"}}},
        {"proxies", {{"default", {{"httpProxy", "http://proxy:3128"}, {"noProxy", "localhost"}}}}},
        {"HttpHeaders", {{"User-Agent", "corp-docker"}}},
        {"plugins", {{"buildx", {{"default", "container"}}}}},
        {"cliPluginsExtraDirs", {"/opt/docker/plugins"}},
        {"currentContext", "default"},
        {"detachKeys", "ctrl-e,e"},
        {"x-unknown", {{"kept", true}}},
    };
}

}  // namespace

TEST_CASE("the private config is a 0700 folder under TMPDIR with a 0600 config.json") {
    test::TempDir tmp;
    test::TempDir user;
    const ScopedEnv tmpdir("TMPDIR", tmp.path().string());
    fs::path where;
    {
        docker::PrivateDockerConfig config(user.path());
        where = config.path();
        CHECK(where.parent_path() == tmp.path());
        CHECK_THAT(where.filename().string(), Catch::StartsWith("assetctl-docker-"));
        CHECK(fs::is_directory(where));
        CHECK(mode_of(where) == 0700U);
        CHECK(mode_of(where / "config.json") == 0600U);
        CHECK(private_config(config) == json::object());
    }
    CHECK_FALSE(fs::exists(where));
}

TEST_CASE("the copy keeps every key of the user's config") {
    test::TempDir user;
    const std::string text = rich_user_config().dump(2);
    const auto user_file = user.write("config.json", text);
    docker::PrivateDockerConfig config(user.path());
    CHECK(private_config(config) == rich_user_config());
    CHECK(util::read_file(user_file) == text);
}

TEST_CASE("credsStore is dropped and its hosts keep the store as their credential helper") {
    test::TempDir user;
    auto original = rich_user_config();
    original["credsStore"] = "desktop";
    original["auths"] = {{"https://index.docker.io/v1/", json::object()},
                         {"ghcr.io", json::object()},
                         {"https://quay.io", json::object()},
                         {k_ecr, json::object()}};
    user.write("config.json", original.dump());
    docker::PrivateDockerConfig config(user.path());
    const auto copy = private_config(config);
    CHECK_FALSE(copy.contains("credsStore"));
    CHECK(copy["auths"] == original["auths"]);
    CHECK(copy["credHelpers"] == json{{"public.ecr.aws", "ecr-login"},
                                      {"gcr.io", "gcloud"},
                                      {"https://index.docker.io/v1/", "desktop"},
                                      {"ghcr.io", "desktop"},
                                      {"quay.io", "desktop"},
                                      {k_ecr, "desktop"}});
    CHECK(copy["proxies"] == original["proxies"]);
    CHECK(copy["HttpHeaders"] == original["HttpHeaders"]);

    // Once assetctl forgets its registry, that host has neither a login nor the keychain.
    config.forget_host(k_ecr);
    const auto after = private_config(config);
    CHECK_FALSE(after["auths"].contains(k_ecr));
    CHECK_FALSE(after["credHelpers"].contains(k_ecr));
    CHECK(after["credHelpers"]["ghcr.io"] == "desktop");
}

TEST_CASE(
    "Docker Desktop's config (auths and credsStore, no credHelpers) gets the store as helpers") {
    // Found by fuzz_docker_config: adding credHelpers to this two-member object moved `auths`
    // while it was being read (a heap-use-after-free under ASan).
    test::TempDir user;
    user.write(
        "config.json",
        R"({"auths": {"https://index.docker.io/v1/": {}, "ghcr.io": {}}, "credsStore": "desktop"})");
    docker::PrivateDockerConfig config(user.path());
    const auto copy = private_config(config);
    CHECK(copy ==
          json{{"auths",
                {{"https://index.docker.io/v1/", json::object()}, {"ghcr.io", json::object()}}},
               {"credHelpers",
                {{"https://index.docker.io/v1/", "desktop"}, {"ghcr.io", "desktop"}}}});
}

TEST_CASE("an existing credential helper is not replaced by the store") {
    test::TempDir user;
    user.write(
        "config.json",
        R"({"credsStore": "pass", "auths": {"ghcr.io": {}}, "credHelpers": {"ghcr.io": "gh"}})");
    docker::PrivateDockerConfig config(user.path());
    CHECK(private_config(config) ==
          json{{"auths", {{"ghcr.io", json::object()}}}, {"credHelpers", {{"ghcr.io", "gh"}}}});
}

TEST_CASE("forget_host removes every entry for that host and keeps the others") {
    test::TempDir user;
    auto original = rich_user_config();
    original["auths"][k_ecr] = {{"auth", "QVdTOm9sZA=="}};
    original["auths"][std::string("https://") + k_ecr] = {{"auth", "QVdTOm9sZGVy"}};
    original["auths"][std::string("https://") + k_ecr + "/v2/"] = json::object();
    original["credHelpers"][k_ecr] = "ecr-login";
    original["credHelpers"]["other.dkr.ecr.us-east-1.amazonaws.com"] = "ecr-login";
    const auto user_file = user.write("config.json", original.dump(4));
    const std::string user_text = util::read_file(user_file);

    docker::PrivateDockerConfig config(user.path());
    config.forget_host(k_ecr);
    const auto copy = private_config(config);
    auto expected = rich_user_config();
    expected["credHelpers"]["other.dkr.ecr.us-east-1.amazonaws.com"] = "ecr-login";
    CHECK(copy == expected);
    CHECK(mode_of(config.path() / "config.json") == 0600U);
    CHECK(util::read_file(user_file) == user_text);
    CHECK_FALSE(fs::exists(config.path() / "config.json.assetctl-new"));
}

TEST_CASE("forget_host accepts an endpoint URL and ignores case") {
    test::TempDir user;
    user.write("config.json", R"({"auths": {"Registry.Example:5000": {}, "keep.example": {}}})");
    docker::PrivateDockerConfig config(user.path());
    config.forget_host("https://registry.example:5000/");
    CHECK(private_config(config) == json{{"auths", {{"keep.example", json::object()}}}});
}

TEST_CASE("forget_host keeps logins the engine wrote since") {
    test::TempDir user;
    user.write("config.json", R"({"auths": {"a.example": {"auth": "YTpi"}}})");
    docker::PrivateDockerConfig config(user.path());
    // What `docker login b.example` leaves in the private folder.
    const json logged_in = {
        {"auths", {{"a.example", {{"auth", "YTpi"}}}, {"b.example", {{"auth", "Yjpj"}}}}}};
    {
        std::ofstream out(config.path() / "config.json", std::ios::trunc);
        out << logged_in.dump();
    }
    config.forget_host("a.example");
    CHECK(private_config(config) == json{{"auths", {{"b.example", {{"auth", "Yjpj"}}}}}});
}

TEST_CASE("a malformed user config starts the private one empty") {
    test::TempDir user;
    SECTION("not JSON") {
        user.write("config.json", R"({"auths": {"h": {"auth": "c2VjcmV0"}, )");
    }
    SECTION("not an object") {
        user.write("config.json", R"(["auths"])");
    }
    SECTION("empty file") {
        user.write("config.json", "");
    }
    docker::PrivateDockerConfig config(user.path());
    CHECK(private_config(config) == json::object());
    CHECK(mode_of(config.path() / "config.json") == 0600U);
}

TEST_CASE("no user config, or no user config folder, gives an empty one") {
    test::TempDir user;
    SECTION("empty folder") {
        docker::PrivateDockerConfig config(user.path());
        CHECK(private_config(config) == json::object());
    }
    SECTION("missing folder") {
        docker::PrivateDockerConfig config(user.path() / "nowhere");
        CHECK(private_config(config) == json::object());
        CHECK(fs::directory_entry(config.path() / "config.json").exists());
    }
}

TEST_CASE("without a user DOCKER_CONFIG the copy comes from $HOME/.docker") {
    test::TempDir home;
    home.write(".docker/config.json", R"({"proxies": {"default": {"httpProxy": "http://p:1"}}})");
    const ScopedEnv env("HOME", home.path().string());
    const json expected = {{"proxies", {{"default", {{"httpProxy", "http://p:1"}}}}}};
    SECTION("nullopt") {
        docker::PrivateDockerConfig config(std::nullopt);
        CHECK(private_config(config) == expected);
    }
    SECTION("empty path") {
        docker::PrivateDockerConfig config(fs::path{});
        CHECK(private_config(config) == expected);
    }
}

TEST_CASE("plugins, contexts and buildx state are linked in and survive the removal") {
    test::TempDir user;
    user.write("config.json", R"({"currentContext": "colima"})");
    const auto plugin = user.write("cli-plugins/docker-buildx", "#!/bin/sh\n");
    const auto context = user.write("contexts/meta/abc/meta.json", R"({"Name": "colima"})");
    user.mkdir("buildx");
    fs::path where;
    {
        docker::PrivateDockerConfig config(user.path());
        where = config.path();
        for (const char* entry : {"cli-plugins", "contexts", "buildx"}) {
            INFO(entry);
            CHECK(fs::is_symlink(where / entry));
            CHECK(fs::equivalent(where / entry, user.path() / entry));
        }
        CHECK(fs::exists(where / "cli-plugins/docker-buildx"));
        CHECK_FALSE(fs::exists(where / "ca.pem"));
    }
    CHECK_FALSE(fs::exists(where));
    CHECK(fs::exists(plugin));
    CHECK(fs::exists(context));
}

TEST_CASE("an unusable TMPDIR is an EngineError") {
    test::TempDir tmp;
    const ScopedEnv tmpdir("TMPDIR", (tmp.path() / "missing").string());
    CHECK_THROWS_AS(docker::PrivateDockerConfig(std::nullopt), docker::EngineError);
}

TEST_CASE("forget_host replaces a planted config.json symlink instead of writing through it") {
    test::TempDir user;
    test::TempDir elsewhere;
    user.write("config.json", R"({"auths": {"a.example": {}, "b.example": {}}})");
    const std::string victim_text = R"({"auths": {"a.example": {"auth": "dmljdGlt"}}})";
    const auto victim = elsewhere.write("victim.json", victim_text);
    docker::PrivateDockerConfig config(user.path());
    fs::remove(config.path() / "config.json");
    fs::create_symlink(victim, config.path() / "config.json");

    config.forget_host("a.example");
    CHECK(util::read_file(victim) == victim_text);
    CHECK_FALSE(fs::is_symlink(config.path() / "config.json"));
    CHECK(mode_of(config.path() / "config.json") == 0600U);
    CHECK(private_config(config) == json{{"auths", json::object()}});
}

TEST_CASE("podman's REGISTRY_AUTH_FILE logins join the private config, which takes its place") {
    test::TempDir user;
    test::TempDir podman;
    user.write("config.json", json{{"auths", {{"ghcr.io", {{"auth", "ZG9ja2VyOnB3"}}}}}}.dump());
    const json auth_file{
        {"auths",
         {{"ghcr.io", {{"auth", "cG9kbWFuOnB3"}}}, {"quay.io", {{"auth", "cXVheTpwdw=="}}}}},
        {"credHelpers", {{"public.ecr.aws", "ecr-login"}}}};
    const auto auth_path = podman.write("auth.json", auth_file.dump());
    docker::PrivateDockerConfig config(user.path());

    const auto file = config.take_auth_file(auth_path);
    CHECK(file == config.path() / "config.json");
    const auto merged = private_config(config);
    CHECK(merged["auths"]["ghcr.io"]["auth"] == "ZG9ja2VyOnB3");  // the docker config's own wins
    CHECK(merged["auths"]["quay.io"]["auth"] == "cXVheTpwdw==");
    CHECK(merged["credHelpers"]["public.ecr.aws"] == "ecr-login");
    CHECK(json::parse(util::read_file(auth_path)) == auth_file);  // the user's file untouched

    // A login assetctl makes later replaces the copied entry for its host only.
    config.forget_host("quay.io");
    CHECK_FALSE(private_config(config)["auths"].contains("quay.io"));
    CHECK(private_config(config)["auths"].contains("ghcr.io"));
}

TEST_CASE("a missing or broken REGISTRY_AUTH_FILE still gives the private file") {
    test::TempDir user;
    test::TempDir podman;
    docker::PrivateDockerConfig config(user.path());
    CHECK(config.take_auth_file(podman.path() / "missing.json") == config.path() / "config.json");
    CHECK(config.take_auth_file(podman.write("broken.json", "{nope")) ==
          config.path() / "config.json");
    CHECK(private_config(config) == json::object());
}
