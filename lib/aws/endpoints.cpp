#include "aws/endpoints.hpp"

#include "aws/partitions.hpp"
#include "util/strings.hpp"

namespace assetctl::aws {
namespace {

bool truthy(const std::optional<std::string>& value) {
    return value && util::to_lower(util::trim(*value)) == "true";
}

std::string without_trailing_slash(std::string url) {
    while (!url.empty() && url.back() == '/') {
        url.pop_back();
    }
    return url;
}

}  // namespace

EndpointSettings endpoint_settings_from(const util::Environment& env) {
    EndpointSettings settings;
    settings.use_fips = truthy(env.get("AWS_USE_FIPS_ENDPOINT"));
    settings.use_dualstack = truthy(env.get("AWS_USE_DUALSTACK_ENDPOINT"));
    settings.url = env.get_non_empty("AWS_ENDPOINT_URL");
    settings.ecr_url = env.get_non_empty("AWS_ENDPOINT_URL_ECR");
    settings.sts_url = env.get_non_empty("AWS_ENDPOINT_URL_STS");
    settings.secrets_manager_url = env.get_non_empty("AWS_ENDPOINT_URL_SECRETS_MANAGER");
    return settings;
}

std::string dns_suffix(std::string_view region, IpStack stack) {
    const bool dualstack = stack == IpStack::dual;
    const std::string partition = partition_for_region(region);
    if (partition == "aws-cn") {
        return dualstack ? "api.amazonwebservices.com.cn" : "amazonaws.com.cn";
    }
    if (partition == "aws-iso") {
        return "c2s.ic.gov";
    }
    if (partition == "aws-iso-b") {
        return "sc2s.sgov.gov";
    }
    if (partition == "aws-iso-e") {
        return "cloud.adc-e.uk";
    }
    if (partition == "aws-iso-f") {
        return "csp.hci.ic.gov";
    }
    if (partition == "aws-eusc") {
        return "amazonaws.eu";
    }
    return dualstack ? "api.aws" : "amazonaws.com";
}

std::string ecr_endpoint(std::string_view region, const EndpointSettings& settings) {
    if (settings.ecr_url) {
        return without_trailing_slash(*settings.ecr_url);
    }
    if (settings.url) {
        return without_trailing_slash(*settings.url);
    }
    const std::string r(region);
    if (settings.use_dualstack) {
        return "https://" + std::string(settings.use_fips ? "ecr-fips." : "ecr.") + r + "." +
               dns_suffix(region, IpStack::dual);
    }
    if (settings.use_fips) {
        return "https://ecr-fips." + r + "." + dns_suffix(region, IpStack::ipv4);
    }
    return "https://api.ecr." + r + "." + dns_suffix(region, IpStack::ipv4);
}

std::string sts_endpoint(std::string_view region, const EndpointSettings& settings) {
    if (settings.sts_url) {
        return without_trailing_slash(*settings.sts_url);
    }
    if (settings.url) {
        return without_trailing_slash(*settings.url);
    }
    const std::string r(region);
    const bool gov = partition_for_region(region) == "aws-us-gov";
    const bool fips = settings.use_fips && !gov;
    return "https://" + std::string(fips ? "sts-fips." : "sts.") + r + "." +
           dns_suffix(region, settings.use_dualstack ? IpStack::dual : IpStack::ipv4);
}

std::string secrets_manager_endpoint(std::string_view region, const EndpointSettings& settings) {
    if (settings.secrets_manager_url) {
        return without_trailing_slash(*settings.secrets_manager_url);
    }
    if (settings.url) {
        return without_trailing_slash(*settings.url);
    }
    return "https://" +
           std::string(settings.use_fips ? "secretsmanager-fips." : "secretsmanager.") +
           std::string(region) + "." +
           dns_suffix(region, settings.use_dualstack ? IpStack::dual : IpStack::ipv4);
}

}  // namespace assetctl::aws
