#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/environment.hpp"

namespace assetctl::aws {

// How service endpoints are chosen, from the SDKs' shared settings.
struct EndpointSettings {
    bool use_fips = false;               // AWS_USE_FIPS_ENDPOINT=true
    bool use_dualstack = false;          // AWS_USE_DUALSTACK_ENDPOINT=true
    std::optional<std::string> url;      // AWS_ENDPOINT_URL: every service
    std::optional<std::string> ecr_url;  // AWS_ENDPOINT_URL_ECR (wins over AWS_ENDPOINT_URL)
    std::optional<std::string> sts_url;  // AWS_ENDPOINT_URL_STS
    std::optional<std::string> s3_url;   // AWS_ENDPOINT_URL_S3 (wins over AWS_ENDPOINT_URL)
    // AWS_S3_FORCE_PATH_STYLE or CDK_S3_FORCE_PATH_STYLE = true/1: never virtual-hosted.
    bool s3_force_path_style = false;
    std::optional<std::string> secrets_manager_url;  // AWS_ENDPOINT_URL_SECRETS_MANAGER
};

EndpointSettings endpoint_settings_from(const util::Environment& env);

// Which addresses an endpoint answers on: IPv4 only, or IPv4 and IPv6 (dual-stack).
enum class IpStack { ipv4, dual };

// The DNS suffix of a region's partition (`amazonaws.com`, `amazonaws.com.cn`, `c2s.ic.gov`,
// ...), or the dual-stack one (`api.aws`, `api.amazonwebservices.com.cn`).
std::string dns_suffix(std::string_view region, IpStack stack);

// Base URLs (scheme://host, no trailing slash) of the ECR API and of regional STS.
//   ECR: https://api.ecr.<region>.<suffix>; FIPS https://ecr-fips.<region>.<suffix>;
//        dual-stack https://ecr[-fips].<region>.api.aws
//   STS: https://sts.<region>.<suffix>; FIPS https://sts-fips.<region>.<suffix> (GovCloud's
//        regular endpoint is already FIPS); dual-stack https://sts[-fips].<region>.api.aws
std::string ecr_endpoint(std::string_view region, const EndpointSettings& settings);
std::string sts_endpoint(std::string_view region, const EndpointSettings& settings);
// Secrets Manager: https://secretsmanager[-fips].<region>.<suffix>; dual-stack
// https://secretsmanager[-fips].<region>.api.aws.
std::string secrets_manager_endpoint(std::string_view region, const EndpointSettings& settings);

// Where one S3 request for (bucket, key) goes.
//   virtual-hosted: https://<bucket>.s3.<region>.<suffix>   path "/<key>"
//   path style:     https://s3.<region>.<suffix>            path "/<bucket>/<key>"
// (an empty key, for bucket operations: "/" and "/<bucket>").
// FIPS: s3-fips.<region>; dual-stack: s3.dualstack.<region> and s3-fips.dualstack.<region>,
// under the partition's usual suffix (S3 has no api.aws names). Path style is used for a
// custom endpoint (s3_url or url: local test endpoints, loopback servers, S3-compatible stores;
// its own path, if any, is kept in front), when forced, and for bucket names that cannot be a
// DNS label under TLS (dots, uppercase, underscores, not 3-63 characters, IP-address form).
struct S3Address {
    std::string endpoint;  // scheme://host[:port], no trailing slash
    std::string path;      // decoded: the HTTP layer encodes it once (S3 signs it that way)
    bool virtual_hosted = false;
};
S3Address s3_address(std::string_view region, std::string_view bucket, std::string_view key,
                     const EndpointSettings& settings);

// True when `bucket` can be the first DNS label of a TLS host name (virtual-hosted style).
bool is_virtual_hostable_bucket(std::string_view bucket);

}  // namespace assetctl::aws
