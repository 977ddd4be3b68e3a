#include "aws/endpoints.hpp"

#include <algorithm>
#include <initializer_list>
#include <stdexcept>

#include "aws/partitions.hpp"
#include "http/url.hpp"
#include "util/strings.hpp"

namespace assetctl::aws {
namespace {

bool truthy(const std::optional<std::string>& value) {
    return value && util::to_lower(util::trim(*value)) == "true";
}

bool truthy_or_one(const std::optional<std::string>& value) {
    return truthy(value) || (value && util::trim(*value) == "1");
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
    settings.s3_url = env.get_non_empty("AWS_ENDPOINT_URL_S3");
    settings.s3_force_path_style = truthy_or_one(env.get("AWS_S3_FORCE_PATH_STYLE")) ||
                                   truthy_or_one(env.get("CDK_S3_FORCE_PATH_STYLE"));
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

namespace {

bool is_ip_address_form(std::string_view name) {
    int dots = 0;
    for (const char c : name) {
        if (c == '.') {
            ++dots;
        } else if (c < '0' || c > '9') {
            return false;
        }
    }
    return dots == 3;
}

// The regional S3 host: s3[-fips][.dualstack].<region>.<suffix>.
std::string s3_regional_host(std::string_view region, const EndpointSettings& settings) {
    std::string host = settings.use_fips ? "s3-fips." : "s3.";
    if (settings.use_dualstack) {
        host += "dualstack.";
    }
    return host + std::string(region) + "." + dns_suffix(region, IpStack::ipv4);
}

}  // namespace

bool is_virtual_hostable_bucket(std::string_view bucket) {
    constexpr std::size_t k_min_length = 3;
    constexpr std::size_t k_max_length = 63;
    if (bucket.size() < k_min_length || bucket.size() > k_max_length ||
        is_ip_address_form(bucket)) {
        return false;
    }
    const auto lower_or_digit = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    };
    if (!lower_or_digit(bucket.front()) || !lower_or_digit(bucket.back())) {
        return false;
    }
    // Dots would need a wildcard certificate for several labels, which S3's is not.
    return std::all_of(bucket.begin(), bucket.end(),
                       [&](char c) { return lower_or_digit(c) || c == '-'; });
}

namespace {

// "/" + the parts joined, built by appending: GCC 12 -O3 warns -Wrestrict (a false positive)
// on `"literal" + std::string&&` once inlined.
std::string joined_path(std::initializer_list<std::string_view> parts) {
    std::string path;
    for (const auto part : parts) {
        path.append(part);
    }
    return path;
}

}  // namespace

S3Address s3_address(std::string_view region, std::string_view bucket, std::string_view key,
                     const EndpointSettings& settings) {
    // A bucket operation (empty key) is "/" virtual-hosted and "/<bucket>" in path style.
    const std::string object = key.empty() ? std::string() : joined_path({"/", key});
    const auto& custom = settings.s3_url ? settings.s3_url : settings.url;
    if (custom) {
        const std::string base = without_trailing_slash(*custom);
        const auto url = http::parse_url(base);
        if (!url) {
            throw std::invalid_argument("invalid S3 endpoint URL '" + base + "'");
        }
        const std::string prefix = url->path == "/" ? "" : without_trailing_slash(url->path);
        return {url->origin(), joined_path({prefix, "/", bucket, object}), false};
    }
    const std::string host = s3_regional_host(region, settings);
    if (settings.s3_force_path_style || !is_virtual_hostable_bucket(bucket)) {
        return {joined_path({"https://", host}), joined_path({"/", bucket, object}), false};
    }
    return {joined_path({"https://", bucket, ".", host}), joined_path({"/", key}), true};
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
