// The shared AWS files (~/.aws/config, ~/.aws/credentials) and what the profile provider does
// with them, as botocore reads them: the INI parser, profiles, source_profile chains,
// credential_source, role_arn (AssumeRole answered by a stand-in STS), credential_process (its
// stdout fuzzed: the JSON document a process prints). The input is three parts cut at
// k_part_separator: the config file, the credentials file and the process's output. A profile
// name comes from the first line of the config. Only CredentialsError (SharedConfigError and
// the rest) may escape.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "aws/credential_providers.hpp"
#include "aws/shared_config.hpp"
#include "aws/sts.hpp"
#include "fuzz_support.hpp"
#include "process/process_runner.hpp"
#include "util/environment.hpp"

using namespace assetctl;

namespace {

// Every process "prints" the fuzzed document and exits 0.
class PrintingRunner final : public process::ProcessRunner {
  public:
    explicit PrintingRunner(std::string_view out) : out_(out) {}
    process::Result run(const process::Command& /*command*/) override {
        process::Result result;
        result.exit_code = 0;
        result.out = out_;
        return result;
    }

  private:
    std::string out_;
};

// AssumeRole and web identity hand out fixed keys; a stand-in for STS.
class FixedSts final : public aws::StsApi {
  public:
    aws::AwsCredentials assume_role(const aws::AwsCredentials& /*caller*/,
                                    const aws::AssumeRoleRequest& /*request*/) override {
        return fixed();
    }
    aws::AwsCredentials assume_role_with_web_identity(
        const aws::WebIdentityRequest& /*r*/) override {
        return fixed();
    }
    aws::CallerIdentity get_caller_identity(const aws::AwsCredentials& /*caller*/,
                                            const std::optional<std::string>& /*r*/) override {
        return {"123456789012", "arn:aws:iam::123456789012:user/fuzz", "AIDAFUZZ"};
    }

  private:
    static aws::AwsCredentials fixed() {
        aws::AwsCredentials credentials;
        credentials.keys = {"ASIAFUZZ", "secret", "token"};
        credentials.source = "sts";
        return credentials;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = fuzz::split_parts({reinterpret_cast<const char*>(data), size}, 3);
    const auto config = fuzz::write_scratch_file("aws/config", parts[0]);
    const auto credentials = fuzz::write_scratch_file("aws/credentials", parts[1]);
    const auto first_line = parts[0].substr(0, std::min<std::size_t>(parts[0].find('\n'), 64));
    util::MapEnvironment env{{"AWS_CONFIG_FILE", config.string()},
                             {"AWS_SHARED_CREDENTIALS_FILE", credentials.string()},
                             {"AWS_ACCESS_KEY_ID", "AKIDENV"},
                             {"AWS_SECRET_ACCESS_KEY", "secret"},
                             {"HOME", fuzz::scratch_dir().string()}};
    try {
        const auto shared = aws::SharedConfig::parse(std::string(parts[0]), std::string(parts[1]),
                                                     aws::shared_config_files(env));
        (void)shared.profile_names();
        (void)shared.find(first_line);
    } catch (const aws::CredentialsError&) {
    }
    PrintingRunner processes(parts[2]);
    FixedSts sts;
    for (const aws::ProfileSelection& selection :
         {aws::ProfileSelection{"default", false, "default"},
          aws::ProfileSelection{std::string(first_line), true, "--profile"}}) {
        aws::CredentialSources sources;
        sources.environment = std::make_unique<aws::EnvironmentProvider>(env);
        aws::SharedProfileProvider provider(env, processes, sts, selection, std::move(sources));
        try {
            (void)provider.resolve();
        } catch (const aws::CredentialsError&) {
        }
    }
    return 0;
}
