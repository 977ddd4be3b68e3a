#include <string>

#include <catch2/catch.hpp>

#include "aws/credential_providers.hpp"
#include "aws/shared_config.hpp"
#include "support/aws_home.hpp"
#include "util/environment.hpp"

using namespace assetctl;
using namespace assetctl::aws;
using Catch::Matchers::Contains;

namespace {

using Home = test::AwsHome;

const IniSection& section(const std::vector<IniSection>& sections, std::string_view name) {
    for (const auto& s : sections) {
        if (s.name == name) {
            return s;
        }
    }
    FAIL("no section " << name);
    throw;  // unreachable
}

}  // namespace

TEST_CASE("parse_ini reads sections, trims keys and values and lower-cases keys") {
    const auto sections = parse_ini(
        "\xEF\xBB\xBF# leading comment\n"
        "[default]\n"
        "  Region=eu-west-1  \r\n"
        "; another comment\n"
        "   # indented comment\n"
        "\n"
        "output = json\n"
        "[profile ci]   # comment after a header\n"
        "role_arn = arn:aws:iam::1:role/x\n",
        "config");
    REQUIRE(sections.size() == 2);
    CHECK(section(sections, "default").values.at("region") == "eu-west-1");
    CHECK(section(sections, "default").values.at("output") == "json");
    CHECK(section(sections, "profile ci").values.at("role_arn") == "arn:aws:iam::1:role/x");
}

TEST_CASE("parse_ini strips trailing comments only after whitespace") {
    const auto sections = parse_ini(
        "[a]\n"
        "region = us-east-1 # main region\n"
        "semi = value ; note\n"
        "hash = abc#def\n"
        "empty = # nothing\n",
        "config");
    const auto& values = section(sections, "a").values;
    CHECK(values.at("region") == "us-east-1");
    CHECK(values.at("semi") == "value");
    CHECK(values.at("hash") == "abc#def");
    CHECK(values.at("empty").empty());
}

TEST_CASE("parse_ini skips nested sub-sections and continues indented values") {
    const auto sections = parse_ini(
        "[profile dev]\n"
        "s3 =\n"
        "  addressing_style = path\n"
        "  signature_version = s3v4\n"
        "region = us-west-2\n"
        "note = first\n"
        "  second\n",
        "config");
    const auto& values = section(sections, "profile dev").values;
    CHECK(values.at("region") == "us-west-2");
    CHECK(values.count("addressing_style") == 0);
    CHECK(values.at("s3").empty());
    CHECK(values.at("note") == "first\nsecond");
}

TEST_CASE("parse_ini merges repeated sections and keys, the later value winning") {
    const auto sections = parse_ini("[a]\nx = 1\ny = 1\n[b]\nz = 1\n[a]\nx = 2\n", "config");
    REQUIRE(sections.size() == 2);
    CHECK(section(sections, "a").values.at("x") == "2");
    CHECK(section(sections, "a").values.at("y") == "1");
}

TEST_CASE("parse_ini errors name the file and line but never quote the line") {
    const auto message = [](std::string_view text) {
        try {
            parse_ini(text, "/home/u/.aws/credentials");
        } catch (const SharedConfigError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(message("key = value\n") ==
          "/home/u/.aws/credentials:1: property outside of a [section] (expected a header first)");
    CHECK(message("[a]\nwJalrXUtnFEMI/SECRET\n") ==
          "/home/u/.aws/credentials:2: expected `key = value`");
    CHECK(message("[a\n") == "/home/u/.aws/credentials:1: section header without a closing `]`");
    CHECK(message("[a] junk\n") ==
          "/home/u/.aws/credentials:1: unexpected text after a section header");
    CHECK(message("[ ]\n") == "/home/u/.aws/credentials:1: empty section name");
    CHECK(message("[a]\ns3 =\n  not-a-property\n") ==
          "/home/u/.aws/credentials:3: expected `key = value` in a nested block");
}

TEST_CASE("shared_config_files defaults under HOME and follows the environment") {
    util::MapEnvironment env({{"HOME", "/home/ci"}});
    auto files = shared_config_files(env);
    CHECK(files.config == "/home/ci/.aws/config");
    CHECK(files.credentials == "/home/ci/.aws/credentials");

    env.set("AWS_CONFIG_FILE", "~/custom/config");
    env.set("AWS_SHARED_CREDENTIALS_FILE", "/etc/aws/creds");
    files = shared_config_files(env);
    CHECK(files.config == "/home/ci/custom/config");
    CHECK(files.credentials == "/etc/aws/creds");
}

TEST_CASE("select_profile: --profile, then AWS_PROFILE, then default") {
    util::MapEnvironment env;
    auto selection = select_profile(env, std::nullopt);
    CHECK(selection.name == "default");
    CHECK_FALSE(selection.is_explicit);

    env.set("AWS_PROFILE", "from-env");
    selection = select_profile(env, std::nullopt);
    CHECK(selection.name == "from-env");
    CHECK(selection.is_explicit);
    CHECK(selection.origin == "AWS_PROFILE");

    selection = select_profile(env, std::string("from-flag"));
    CHECK(selection.name == "from-flag");
    CHECK(selection.origin == "--profile");

    env.set("AWS_PROFILE", "");
    CHECK(select_profile(env, std::nullopt).name == "default");
}

TEST_CASE("config uses [profile x] and [default], credentials uses [x]") {
    Home home;
    home.config(
        "[default]\nregion = eu-west-1\n"
        "[profile ci]\nregion = us-east-2\n"
        "[ci]\nregion = never-a-profile\n"
        "[sso-session corp]\nsso_region = us-east-1\n"
        "[services local]\nsts =\n  endpoint_url = http://localhost\n");
    home.credentials("[ci]\naws_access_key_id = AKIDCI\n[profile odd]\nx = 1\n");
    const auto config = home.load();
    CHECK(config.profile_names() == std::vector<std::string>{"ci", "default", "profile odd"});
    REQUIRE(config.find("ci") != nullptr);
    CHECK(config.find("ci")->get("region") == "us-east-2");
    CHECK(config.find("ci")->get("aws_access_key_id") == "AKIDCI");
    CHECK(config.find("default")->get("region") == "eu-west-1");
    CHECK(config.find("corp") == nullptr);
    CHECK(config.find("odd") == nullptr);
}

TEST_CASE("credentials-file values win over config values for the same profile") {
    Home home;
    home.config("[profile ci]\nregion = us-east-2\naws_access_key_id = FROM-CONFIG\n");
    home.credentials("[ci]\naws_access_key_id = FROM-CREDENTIALS\n");
    const auto config = home.load();
    const Profile* ci = config.find("ci");
    REQUIRE(ci != nullptr);
    CHECK(ci->get("aws_access_key_id") == "FROM-CREDENTIALS");
    CHECK(ci->get("region") == "us-east-2");
    CHECK(ci->config_values.at("aws_access_key_id") == "FROM-CONFIG");
}

TEST_CASE("[profile default] wins over [default] in the config file") {
    Home home;
    home.config("[profile default]\nregion = from-profile-default\n[default]\nregion = plain\n");
    CHECK(home.load().find("default")->get("region") == "from-profile-default");
}

TEST_CASE("missing files are fine, an explicitly chosen missing profile is an error") {
    Home home;
    const auto config = home.load();
    CHECK_FALSE(config.config_file_exists());
    CHECK_FALSE(config.credentials_file_exists());
    CHECK(config.profile_names().empty());
    CHECK(config.selected({"default", false, "default"}) == nullptr);
    CHECK_THROWS_WITH(config.selected({"release", true, "AWS_PROFILE"}),
                      "profile 'release' (from AWS_PROFILE) not found in " +
                          home.path(".aws/credentials") + ", " + home.path(".aws/config"));
    CHECK_THROWS_AS(config.selected({"default", true, "--profile"}), CredentialsError);
}

TEST_CASE("an unreadable shared file is an error") {
    Home home;
    home.dir.mkdir(".aws/config");  // a folder where the file should be
    CHECK_THROWS_AS(home.load(), SharedConfigError);
}

TEST_CASE("region: AWS_REGION, then AWS_DEFAULT_REGION, then the profile") {
    Home home;
    home.config("[default]\nregion = eu-central-1\n[profile other]\nregion = ap-south-1\n");
    const auto config = home.load();
    const ProfileSelection implicit{"default", false, "default"};
    CHECK(resolve_default_region(home.env, config, implicit) == "eu-central-1");
    CHECK(resolve_default_region(home.env, config, {"other", true, "--profile"}) == "ap-south-1");
    home.env.set("AWS_DEFAULT_REGION", "us-west-1");
    CHECK(resolve_default_region(home.env, config, implicit) == "us-west-1");
    home.env.set("AWS_REGION", "us-east-2");
    CHECK(resolve_default_region(home.env, config, implicit) == "us-east-2");
}

TEST_CASE("region: none anywhere is nullopt, a missing explicit profile is an error") {
    Home home;
    const auto config = home.load();
    CHECK_FALSE(resolve_default_region(home.env, config, {"default", false, "default"}));
    CHECK_THROWS_AS(resolve_default_region(home.env, config, {"gone", true, "AWS_PROFILE"}),
                    SharedConfigError);
    home.env.set("AWS_REGION", "us-east-1");
    CHECK(resolve_default_region(home.env, config, {"gone", true, "AWS_PROFILE"}) == "us-east-1");
}

TEST_CASE("max_attempts and ca_bundle come from the environment, then the profile") {
    Home home;
    home.config("[default]\nmax_attempts = 7\nca_bundle = /etc/ssl/corp.pem\n");
    const auto config = home.load();
    const ProfileSelection implicit{"default", false, "default"};
    CHECK(resolve_max_attempts(home.env, config, implicit) == 7);
    CHECK(resolve_ca_bundle(home.env, config, implicit) == "/etc/ssl/corp.pem");

    home.env.set("AWS_MAX_ATTEMPTS", "2");
    home.env.set("AWS_CA_BUNDLE", "/tmp/ca.pem");
    CHECK(resolve_max_attempts(home.env, config, implicit) == 2);
    CHECK(resolve_ca_bundle(home.env, config, implicit) == "/tmp/ca.pem");

    for (const char* bad : {"0", "-1", "three", "2x"}) {
        CAPTURE(bad);
        home.env.set("AWS_MAX_ATTEMPTS", bad);
        CHECK_THROWS_WITH(resolve_max_attempts(home.env, config, implicit),
                          Contains("AWS_MAX_ATTEMPTS must be a whole number"));
    }
}

TEST_CASE("max_attempts and ca_bundle are nullopt when set nowhere") {
    Home home;
    const auto config = home.load();
    CHECK_FALSE(resolve_max_attempts(home.env, config, {"default", false, "default"}));
    CHECK_FALSE(resolve_ca_bundle(home.env, config, {"default", false, "default"}));
}
